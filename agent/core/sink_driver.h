// The one engine every sink runs under: a bounded buffer (events and bytes, counting what is
// in flight and what waits for a retry), batching, `concurrency` sends in flight, retries with
// capped exponential backoff and full jitter, splitting of too-large batches, dead-lettering of
// permanent rejections, and the report of terminal events that lets source cursors advance.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "agent/api/sink.h"
#include "agent/config/config.h"
#include "agent/core/backoff.h"
#include "agent/core/dead_letter.h"
#include "agent/observability/logging.h"

namespace siem {

class ComponentMetrics;

class SinkDriver {
 public:
  // Called (from driver or sink threads, without driver locks held) with events that reached a
  // terminal state in this sink: delivered or dead-lettered.
  using TerminalFn = std::function<void(std::span<const EventPtr>)>;

  SinkDriver(const SinkConfig& config, std::unique_ptr<Sink> sink, ComponentMetrics& metrics,
             const std::string& dead_letter_dir, TerminalFn on_terminal,
             std::function<double()> unit_random = {});
  ~SinkDriver();
  SinkDriver(const SinkDriver&) = delete;
  SinkDriver& operator=(const SinkDriver&) = delete;

  void start();

  enum class PushResult : std::uint8_t { kAccepted, kDropped, kStopped };
  // Buffers one event. With when_full=block, waits for room (an event is always admitted into
  // an empty buffer, however large); with drop_newest, a full buffer drops the event (counted as
  // an unintentional discard; the caller treats it as terminal). kStopped: the driver no longer
  // accepts events, or `stop` was requested while waiting.
  PushResult push(EventPtr event, const std::stop_token& stop = {});

  // Stops accepting, keeps delivering (partial batches at once, retries when due) until the
  // buffer is empty or `deadline` passes, then stops workers and the sink. What is still held is
  // not reported terminal, so no cursor moves past it.
  void drainAndStop(std::chrono::steady_clock::time_point deadline);

  // Empty when healthy; otherwise why /readyz should fail for this sink.
  std::string notReadyReason() const;

  const std::string& id() const { return id_; }
  Encoding encoding() const { return encoding_; }
  std::size_t bufferedEvents() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Attempt {
    BatchPtr batch;
    std::uint32_t attempts = 0;  // failed sends so far
    std::optional<Clock::time_point> first_failure;
    Clock::time_point due{};
    bool split = false;  // produced by splitting a too-large batch
  };

  void workerLoop(std::stop_token stop);
  // A full batch waits (by events, or by bytes with the sink's framing).
  bool batchFullLocked() const;
  bool batchReadyLocked(Clock::time_point now) const;
  BatchPtr takeBatchLocked();
  void onOutcome(const Attempt& attempt, SendOutcome outcome);
  void finishLocked(std::size_t events, std::size_t bytes);
  void observeLatencies(std::span<const EventPtr> events, Clock::time_point now);
  std::size_t encodedSize(const Event& e) const { return e.encoded(encoding_).size(); }
  double random();

  const std::string id_;
  const Encoding encoding_;
  const BatchConfig batch_;
  const RetryConfig retry_;
  const BufferConfig buffer_;
  const std::uint32_t concurrency_;
  const std::chrono::seconds unhealthy_after_;
  const BackoffPolicy backoff_;
  std::unique_ptr<Sink> sink_;
  ComponentMetrics& metrics_;
  DeadLetterFile dead_letter_;
  TerminalFn on_terminal_;
  std::function<double()> unit_random_;
  LogLimiter log_limiter_{std::chrono::seconds(10)};  // a flapping endpoint must not flood logs

  mutable std::mutex mutex_;              // guards every member below
  std::condition_variable_any work_cv_;   // workers: work may be available
  std::condition_variable_any space_cv_;  // pushers: room may be available
  std::condition_variable idle_cv_;       // drain: buffer may be empty
  std::deque<EventPtr> pending_;          // accepted, not yet in a batch
  std::size_t pending_bytes_ = 0;
  Clock::time_point oldest_pending_{};
  std::vector<Attempt> retries_;  // batches waiting for their due time
  std::size_t held_events_ = 0;   // pending + in flight + retrying
  std::size_t held_bytes_ = 0;
  std::uint32_t in_flight_ = 0;
  std::uint64_t work_seq_ = 0;  // bumped whenever workers may have something new to do
  bool accepting_ = true;
  bool draining_ = false;
  std::optional<Clock::time_point> failing_since_;
  std::string last_error_;
  std::string unhealthy_reason_;
  std::mt19937_64 rng_;

  std::vector<std::jthread> workers_;
};

}  // namespace siem
