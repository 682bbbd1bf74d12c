#include "agent/core/sink_driver.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "agent/observability/metrics.h"

namespace siem {
namespace {

constexpr std::string_view kStageSend = "send";

}  // namespace

SinkDriver::SinkDriver(const SinkConfig& config, std::unique_ptr<Sink> sink,
                       ComponentMetrics& metrics, const std::string& dead_letter_dir,
                       TerminalFn on_terminal, std::function<double()> unit_random)
    : id_(config.id),
      encoding_(config.encoding),
      batch_(config.batch),
      retry_(config.retry),
      buffer_(config.buffer),
      concurrency_(std::max<std::uint32_t>(config.concurrency, 1)),
      unhealthy_after_(config.unhealthy_after_secs),
      backoff_{std::chrono::milliseconds(config.retry.initial_backoff_ms),
               std::chrono::milliseconds(std::int64_t{config.retry.max_backoff_secs} * 1000)},
      sink_(std::move(sink)),
      metrics_(metrics),
      dead_letter_(dead_letter_dir, config.id, config.encoding),
      on_terminal_(std::move(on_terminal)),
      unit_random_(std::move(unit_random)),
      rng_(std::random_device{}()) {}

SinkDriver::~SinkDriver() {
  {
    std::lock_guard lock(mutex_);
    accepting_ = false;
  }
  for (auto& w : workers_) w.request_stop();
  work_cv_.notify_all();
  space_cv_.notify_all();
  workers_.clear();  // joins
}

void SinkDriver::start() {
  sink_->start();
  for (std::uint32_t i = 0; i < concurrency_; ++i) {
    workers_.emplace_back([this](std::stop_token stop) { workerLoop(stop); });
  }
}

double SinkDriver::random() {
  if (unit_random_) return unit_random_();
  std::uniform_real_distribution<double> dist(0.0, 1.0);
  return dist(rng_);
}

SinkDriver::PushResult SinkDriver::push(EventPtr event, const std::stop_token& stop) {
  const std::size_t size = encodedSize(*event);
  std::unique_lock lock(mutex_);
  auto full = [&] {
    return held_events_ > 0 &&
           (held_events_ >= buffer_.max_events || held_bytes_ + size > buffer_.max_bytes);
  };
  if (accepting_ && full()) {
    if (buffer_.when_full == WhenFull::kDropNewest) {
      lock.unlock();
      metrics_.discarded_unintentional.Increment();
      metrics_.error("buffer_full", "buffer");
      if (auto verdict = log_limiter_.shouldLog("drop", Clock::now())) {
        spdlog::warn("sink {}: buffer full, dropped event {} (when_full: drop_newest){}", id_,
                     event->id, verdict.suffix());
      }
      return PushResult::kDropped;
    }
    space_cv_.wait(lock, stop, [&] { return !accepting_ || !full(); });
  }
  if (!accepting_ || stop.stop_requested()) return PushResult::kStopped;
  const bool was_empty = pending_.empty();
  const bool was_ready = batchFullLocked();
  if (was_empty) oldest_pending_ = Clock::now();
  pending_.push_back(std::move(event));
  pending_bytes_ += size;
  held_events_ += 1;
  held_bytes_ += size;
  metrics_.buffer_events.Set(static_cast<double>(held_events_));
  metrics_.buffer_bytes.Set(static_cast<double>(held_bytes_));
  const bool ready = batchFullLocked();
  // Wake a worker only when this push changes what it would do: a first event starts the batch
  // timer, a full batch can go. Waking one on every push of an already full buffer costs a
  // context switch per event while every worker is busy; a worker that frees up looks again.
  const bool wake = was_empty || (ready && !was_ready);
  if (wake) ++work_seq_;
  lock.unlock();
  if (wake) work_cv_.notify_one();
  return PushResult::kAccepted;
}

bool SinkDriver::batchFullLocked() const {
  return pending_.size() >= batch_.max_events ||
         pending_bytes_ + pending_.size() * sink_->framingBytes() >= batch_.max_bytes;
}

bool SinkDriver::batchReadyLocked(Clock::time_point now) const {
  if (pending_.empty()) return false;
  if (draining_) return true;
  if (batchFullLocked()) return true;
  return now - oldest_pending_ >= std::chrono::milliseconds(batch_.timeout_ms);
}

BatchPtr SinkDriver::takeBatchLocked() {
  auto batch = std::make_shared<Batch>();
  batch->events.reserve(std::min(pending_.size(), batch_.max_events));
  const std::size_t framing = sink_->framingBytes();
  std::size_t request_bytes = 0;  // the batch's bytes with the sink's framing
  while (!pending_.empty() && batch->events.size() < batch_.max_events) {
    const std::size_t size = encodedSize(*pending_.front());
    // Always take at least one event; an event larger than max_bytes goes alone.
    if (!batch->events.empty() && request_bytes + size + framing > batch_.max_bytes) break;
    request_bytes += size + framing;
    batch->bytes += size;
    pending_bytes_ -= size;
    batch->events.push_back(std::move(pending_.front()));
    pending_.pop_front();
  }
  if (!pending_.empty()) oldest_pending_ = Clock::now();
  return batch;
}

void SinkDriver::workerLoop(std::stop_token stop) {
  while (!stop.stop_requested()) {
    Attempt attempt;
    bool more = false;  // another full batch waits and a worker could take it
    {
      std::unique_lock lock(mutex_);
      while (!stop.stop_requested()) {
        const auto now = Clock::now();
        if (in_flight_ < concurrency_) {
          auto due =
              std::min_element(retries_.begin(), retries_.end(),
                               [](const Attempt& a, const Attempt& b) { return a.due < b.due; });
          if (due != retries_.end() && due->due <= now) {
            attempt = std::move(*due);
            retries_.erase(due);
            break;
          }
          if (batchReadyLocked(now)) {
            attempt.batch = takeBatchLocked();
            break;
          }
          std::optional<Clock::time_point> wake;
          if (due != retries_.end()) wake = due->due;
          if (!pending_.empty()) {
            const auto t = oldest_pending_ + std::chrono::milliseconds(batch_.timeout_ms);
            if (!wake || t < *wake) wake = t;
          }
          const std::uint64_t seen = work_seq_;
          if (wake) {
            work_cv_.wait_until(lock, stop, *wake, [&] { return work_seq_ != seen; });
          } else {
            work_cv_.wait(lock, stop, [&] { return work_seq_ != seen; });
          }
        } else {
          work_cv_.wait(lock, stop, [&] { return in_flight_ < concurrency_; });
        }
      }
      if (stop.stop_requested()) return;
      ++in_flight_;
      more = in_flight_ < concurrency_ && batchReadyLocked(Clock::now());
      if (more) ++work_seq_;
    }
    if (more) work_cv_.notify_one();
    try {
      sink_->send(attempt.batch,
                  [this, attempt](SendOutcome outcome) { onOutcome(attempt, std::move(outcome)); });
    } catch (const std::exception& e) {
      onOutcome(attempt, SendOutcome::retry("exception", std::string("sink threw: ") + e.what()));
    } catch (...) {
      onOutcome(attempt, SendOutcome::retry("exception", "sink threw an unknown exception"));
    }
  }
}

void SinkDriver::onOutcome(const Attempt& attempt, SendOutcome outcome) {
  const auto now = Clock::now();
  const Batch& batch = *attempt.batch;
  // The common case reads the batch itself instead of copying every pointer.
  const bool all_delivered = !outcome.too_large && outcome.per_event.empty() &&
                             outcome.disposition == Disposition::kDelivered;
  std::vector<EventPtr> delivered;
  std::vector<EventPtr> rejected;
  std::vector<std::string> reasons;
  std::vector<EventPtr> retry;
  std::vector<Attempt> splits;

  if (outcome.too_large) {
    if (batch.size() > 1) {
      const std::size_t half = batch.size() / 2;
      for (int part = 0; part < 2; ++part) {
        auto b = std::make_shared<Batch>();
        const auto begin = batch.events.begin() + (part == 0 ? 0 : static_cast<long>(half));
        const auto end =
            part == 0 ? batch.events.begin() + static_cast<long>(half) : batch.events.end();
        b->events.assign(begin, end);
        for (const auto& e : b->events) b->bytes += encodedSize(*e);
        splits.push_back(Attempt{std::move(b), attempt.attempts, attempt.first_failure, now, true});
      }
    } else {
      rejected = batch.events;
      reasons.assign(rejected.size(), "too large for the endpoint even alone: " + outcome.reason);
    }
  } else {
    for (std::size_t i = 0; i < batch.size() && !all_delivered; ++i) {
      switch (outcome.at(i)) {
        case Disposition::kDelivered:
          delivered.push_back(batch.events[i]);
          break;
        case Disposition::kRejected:
          rejected.push_back(batch.events[i]);
          reasons.push_back(outcome.reasonAt(i));
          break;
        case Disposition::kRetry:
          retry.push_back(batch.events[i]);
          break;
      }
    }
  }

  // Retries that ran out of time are dead-lettered (only when max_retry_duration_secs is set).
  const auto first_failure = attempt.first_failure.value_or(now);
  if (!retry.empty() && retry_.max_retry_duration_secs > 0 &&
      now - first_failure >= std::chrono::seconds(retry_.max_retry_duration_secs)) {
    for (auto& e : retry) {
      rejected.push_back(std::move(e));
      reasons.push_back("gave up after max_retry_duration_secs=" +
                        std::to_string(retry_.max_retry_duration_secs) + ": " + outcome.reason);
    }
    retry.clear();
  }

  if (!rejected.empty()) {
    auto written = dead_letter_.write(rejected, reasons);
    if (!written) {
      // Without a durable trail the events are not terminal: keep them and retry later.
      metrics_.error("dead_letter_write", "dead_letter");
      spdlog::error("sink {}: {}; {} event(s) kept for retry", id_, written.error().message,
                    rejected.size());
      retry.insert(retry.end(), rejected.begin(), rejected.end());
      rejected.clear();
    } else {
      metrics_.dead_letter_events.Increment(static_cast<double>(rejected.size()));
      if (auto verdict = log_limiter_.shouldLog("dead_letter", now)) {
        spdlog::warn("sink {}: dead-lettered {} event(s) to {}: {}{}", id_, rejected.size(),
                     dead_letter_.path(), reasons.front(), verdict.suffix());
      }
    }
  }

  const std::span<const EventPtr> delivered_events = all_delivered
                                                         ? std::span<const EventPtr>(batch.events)
                                                         : std::span<const EventPtr>(delivered);
  std::size_t delivered_bytes = 0;
  for (const auto& e : delivered_events) delivered_bytes += encodedSize(*e);
  if (!delivered_events.empty()) {
    observeLatencies(delivered_events, now);
    metrics_.sent_events.Increment(static_cast<double>(delivered_events.size()));
    metrics_.sent_bytes.Increment(static_cast<double>(delivered_bytes));
  }
  const bool failed = !retry.empty() || !rejected.empty() || outcome.too_large;
  if (failed && !outcome.error_type.empty()) metrics_.error(outcome.error_type, kStageSend);

  std::optional<Attempt> next;
  if (!retry.empty()) {
    metrics_.retries.Increment();
    auto b = std::make_shared<Batch>();
    b->events = std::move(retry);
    for (const auto& e : b->events) b->bytes += encodedSize(*e);
    const std::uint32_t attempts = attempt.attempts + 1;
    auto delay = backoffDelay(backoff_, attempts, random(), outcome.retry_after);
    if (outcome.unhealthy) delay = std::max(delay, backoff_.max);
    next = Attempt{std::move(b), attempts, first_failure, now + delay, false};
    if (auto verdict = log_limiter_.shouldLog("retry", now)) {
      spdlog::warn("sink {}: {} event(s) not delivered ({}), retry #{} in {} ms{}", id_,
                   next->batch->size(), outcome.reason, attempts, delay.count(), verdict.suffix());
    }
  }

  std::size_t terminal_bytes = delivered_bytes;
  for (const auto& e : rejected) terminal_bytes += encodedSize(*e);
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
    if (next) retries_.push_back(std::move(*next));
    for (auto& s : splits) retries_.push_back(std::move(s));
    if (!delivered_events.empty()) {
      failing_since_.reset();
      unhealthy_reason_.clear();
      last_error_.clear();
    } else if (failed) {
      if (!failing_since_) failing_since_ = now;
      last_error_ = outcome.reason;
      if (outcome.unhealthy) unhealthy_reason_ = outcome.reason;
    }
    finishLocked(delivered_events.size() + rejected.size(), terminal_bytes);
    ++work_seq_;
  }
  work_cv_.notify_all();

  if (on_terminal_ && all_delivered) {
    on_terminal_(delivered_events);
  } else if (on_terminal_ && (!delivered.empty() || !rejected.empty())) {
    delivered.insert(delivered.end(), rejected.begin(), rejected.end());
    on_terminal_(delivered);
  }
}

void SinkDriver::observeLatencies(std::span<const EventPtr> events, Clock::time_point now) {
  // One histogram update per batch instead of one (and one lock of the histogram) per event.
  const std::vector<double>& bounds = sendLatencyBuckets();
  thread_local std::vector<double> counts;
  counts.assign(bounds.size() + 1, 0.0);
  double sum = 0;
  for (const auto& e : events) {
    const double seconds = std::chrono::duration<double>(now - e->received_at).count();
    sum += seconds;
    // The bucket Histogram::Observe would pick: the first bound >= the value (+Inf last).
    const auto bucket = std::lower_bound(bounds.begin(), bounds.end(), seconds) - bounds.begin();
    counts[static_cast<std::size_t>(bucket)] += 1;
  }
  metrics_.send_latency.ObserveMultiple(counts, sum);
}

void SinkDriver::finishLocked(std::size_t events, std::size_t bytes) {
  held_events_ -= std::min(events, held_events_);
  held_bytes_ -= std::min(bytes, held_bytes_);
  metrics_.buffer_events.Set(static_cast<double>(held_events_));
  metrics_.buffer_bytes.Set(static_cast<double>(held_bytes_));
  space_cv_.notify_all();
  if (held_events_ == 0) idle_cv_.notify_all();
}

void SinkDriver::drainAndStop(Clock::time_point deadline) {
  {
    std::unique_lock lock(mutex_);
    accepting_ = false;
    draining_ = true;
    ++work_seq_;
    work_cv_.notify_all();
    space_cv_.notify_all();
    idle_cv_.wait_until(lock, deadline, [&] { return held_events_ == 0; });
    if (held_events_ > 0) {
      spdlog::warn(
          "sink {}: shutdown deadline reached with {} event(s) undelivered; they will be "
          "pulled again after restart",
          id_, held_events_);
    }
  }
  for (auto& w : workers_) w.request_stop();
  work_cv_.notify_all();
  workers_.clear();
  sink_->stop(deadline);
}

std::string SinkDriver::notReadyReason() const {
  std::string problem = sink_->healthProblem();
  std::lock_guard lock(mutex_);
  if (!unhealthy_reason_.empty()) return "sink " + id_ + ": " + unhealthy_reason_;
  if (failing_since_ && Clock::now() - *failing_since_ > unhealthy_after_) {
    return "sink " + id_ + " has failed for more than " + std::to_string(unhealthy_after_.count()) +
           "s: " + last_error_;
  }
  if (!problem.empty()) return "sink " + id_ + ": " + problem;
  return {};
}

std::size_t SinkDriver::bufferedEvents() const {
  std::lock_guard lock(mutex_);
  return held_events_;
}

}  // namespace siem
