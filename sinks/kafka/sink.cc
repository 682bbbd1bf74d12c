#include "sinks/kafka/sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

#include "agent/observability/metrics.h"
#include "sinks/kafka/errors.h"
#include "sinks/kafka/stats.h"

namespace siem {
namespace {

using Clock = std::chrono::steady_clock;

// How long one send may wait, in total, for room in a full producer queue before the rest of its
// batch is handed back for a retry.
constexpr auto kQueueFullWait = std::chrono::seconds(1);
// A replaced producer gets this long to hand back its messages before it is destroyed anyway.
constexpr auto kRetiredDrainLimit = std::chrono::seconds(30);
// After the shutdown deadline, purged messages are collected for at most this long.
constexpr auto kPurgeGrace = std::chrono::seconds(2);
constexpr auto kCreateRetryInterval = std::chrono::seconds(5);
// Marks a message whose delivery report has not arrived (yet): treated as purged.
constexpr rd_kafka_resp_err_t kUnreported = RD_KAFKA_RESP_ERR__PURGE_QUEUE;

std::int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* headers) const { rd_kafka_headers_destroy(headers); }
};

int remainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 3'600'000));
}

}  // namespace

// One librdkafka producer and the topic handles created on it. Destroyed only when no send uses
// it and no message of it is outstanding (or at shutdown).
class KafkaSink::Producer {
 public:
  explicit Producer(rd_kafka_t* rk) : rk_(rk) {}
  ~Producer() {
    for (auto& [name, rkt] : topics_) rd_kafka_topic_destroy(rkt);
    topics_.clear();
    rd_kafka_destroy(rk_);
  }
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  rd_kafka_t* rk() const { return rk_; }

  // A cached handle for `name`, or nullptr when the cache is full (the caller then names the topic
  // per message).
  rd_kafka_topic_t* topic(const std::string& name) {
    std::lock_guard lock(mutex_);
    auto it = topics_.find(name);
    if (it != topics_.end()) return it->second;
    if (topics_.size() >= kMaxCachedTopics) return nullptr;
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
    if (rkt != nullptr) topics_.emplace(name, rkt);
    return rkt;
  }

 private:
  static constexpr std::size_t kMaxCachedTopics = 4096;
  rd_kafka_t* rk_;
  std::mutex mutex_;  // guards topics_
  std::map<std::string, rd_kafka_topic_t*> topics_;
};

// One batch waiting for its delivery reports. `errors[i]` is written once per message, by the
// thread that learns its fate; `remaining` counts the messages not yet reported plus one while
// the sending thread is still producing, and whoever brings it to zero completes the batch.
struct KafkaSink::InFlight {
  BatchPtr batch;
  SendCallback done;
  const Producer* producer = nullptr;
  std::vector<rd_kafka_resp_err_t> errors;
  std::vector<MessageRef> refs;
  // Failures found before librdkafka saw the message (written by the sending thread only).
  std::vector<std::pair<std::uint32_t, std::string>> local_reasons;
  std::atomic<std::size_t> remaining{0};
};

KafkaSink::KafkaSink(std::string id, const KafkaSinkOptions& options, KafkaRecordEncoder encoder,
                     ComponentMetrics* metrics, std::chrono::seconds unhealthy_after)
    : id_(std::move(id)),
      properties_(kafkaProperties(options, "siem-agent-" + id_)),
      encoder_(std::move(encoder)),
      metrics_(metrics),
      unhealthy_after_(unhealthy_after) {}

KafkaSink::~KafkaSink() {
  // Without a stop() first, whoever gave us the callbacks may be gone already: drop them.
  drop_callbacks_.store(true);
  stop(Clock::now());
}

Result<std::shared_ptr<KafkaSink::Producer>> KafkaSink::createProducer() {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char errstr[512];
  for (const auto& [name, value] : properties_) {
    errstr[0] = '\0';
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      // Checked at load time already; never echo a value (it may be a credential).
      return fail("librdkafka refused property " + name);
    }
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSink::onDelivery);
  rd_kafka_conf_set_error_cb(conf, &KafkaSink::onError);
  rd_kafka_conf_set_stats_cb(conf, &KafkaSink::onStats);
  rd_kafka_conf_set_log_cb(conf, &KafkaSink::onLog);
  errstr[0] = '\0';
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return fail(std::string("cannot create the Kafka producer: ") + errstr);
  }
  producers_created_.fetch_add(1);
  return std::make_shared<Producer>(rk);
}

std::shared_ptr<KafkaSink::Producer> KafkaSink::currentProducer() const {
  std::lock_guard lock(producer_mutex_);
  return producer_;
}

void KafkaSink::setProblem(std::string problem) {
  std::lock_guard lock(producer_mutex_);
  problem_ = std::move(problem);
}

void KafkaSink::start() {
  auto producer = createProducer();
  if (producer) {
    std::lock_guard lock(producer_mutex_);
    producer_ = std::move(*producer);
    problem_.clear();
  } else {
    spdlog::error("sink {}: {}; retrying every {}s", id_, producer.error().message,
                  kCreateRetryInterval.count());
    setProblem(producer.error().message);
  }
  poller_ = std::jthread([this](std::stop_token stop) { pollLoop(stop); });
}

void KafkaSink::pollLoop(std::stop_token stop) {
  try {
    auto next_create = Clock::now() + kCreateRetryInterval;
    while (!stop.stop_requested()) {
      auto producer = currentProducer();
      if (!producer) {
        if (Clock::now() >= next_create) {
          next_create = Clock::now() + kCreateRetryInterval;
          auto created = createProducer();
          std::lock_guard lock(producer_mutex_);
          if (created) {
            producer_ = std::move(*created);
            problem_.clear();
            spdlog::info("sink {}: Kafka producer created", id_);
          } else {
            problem_ = created.error().message;
          }
          continue;
        }
        std::unique_lock lock(wake_mutex_);
        wake_.wait_for(lock, stop, std::chrono::milliseconds(100), [] { return false; });
        continue;
      }
      rd_kafka_poll(producer->rk(), 100);
      producer.reset();
      if (fatal_pending_.exchange(false)) replaceProducer();
      serviceRetired();
    }
  } catch (const std::exception& e) {
    // Nothing here throws by design; if something does, sends keep failing over to retries.
    spdlog::critical("sink {}: Kafka poll thread failed: {}", id_, e.what());
    setProblem(std::string("Kafka poll thread failed: ") + e.what());
  }
}

void KafkaSink::replaceProducer() {
  std::shared_ptr<Producer> old = currentProducer();
  if (!old) return;
  char errstr[512] = {};
  const rd_kafka_resp_err_t cause = rd_kafka_fatal_error(old->rk(), errstr, sizeof(errstr));
  spdlog::error(
      "sink {}: fatal Kafka producer error {}: {}; replacing the producer, its messages "
      "will be sent again",
      id_, rd_kafka_err2name(cause), errstr);
  if (metrics_ != nullptr) metrics_->error("fatal", "kafka_client");
  auto fresh = createProducer();
  {
    std::lock_guard lock(producer_mutex_);
    if (fresh) {
      producer_ = std::move(*fresh);
      problem_.clear();
    } else {
      producer_.reset();
      problem_ = fresh.error().message;
    }
  }
  // Hands back (as purged, so retried) whatever librdkafka has not already failed.
  rd_kafka_purge(old->rk(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  retired_.emplace_back(std::move(old), Clock::now());
}

void KafkaSink::serviceRetired() {
  for (auto it = retired_.begin(); it != retired_.end();) {
    rd_kafka_poll(it->first->rk(), 0);
    // Sends copy only the current producer, so once a retired one is held by nobody else it
    // stays that way.
    const bool idle = it->first.use_count() == 1;
    const bool drained = rd_kafka_outq_len(it->first->rk()) == 0;
    const bool expired = Clock::now() - it->second > kRetiredDrainLimit;
    if (idle && (drained || expired)) {
      auto producer = std::move(it->first);
      it = retired_.erase(it);
      destroyProducer(std::move(producer));
    } else {
      ++it;
    }
  }
}

void KafkaSink::destroyProducer(std::shared_ptr<Producer> producer) {
  const Producer* raw = producer.get();
  const int left = rd_kafka_outq_len(producer->rk());
  if (left > 0) {
    spdlog::warn(
        "sink {}: destroying a Kafka producer with {} message(s) unreported; they will "
        "be sent again",
        id_, left);
  }
  producer.reset();  // rd_kafka_destroy: no callback of it runs afterwards
  std::vector<InFlight*> orphans;
  {
    std::lock_guard lock(inflight_mutex_);
    for (auto& [ptr, owned] : inflight_)
      if (ptr->producer == raw) orphans.push_back(ptr);
  }
  for (InFlight* f : orphans) complete(f);
}

void KafkaSink::send(BatchPtr batch, SendCallback done) {
  if (stopping_.load()) {
    done(SendOutcome::retry("stopping", "the Kafka sink is stopping"));
    return;
  }
  std::shared_ptr<Producer> producer = currentProducer();
  if (!producer) {
    std::string problem;
    {
      std::lock_guard lock(producer_mutex_);
      problem = problem_.empty() ? "the Kafka producer is not running" : problem_;
    }
    SendOutcome outcome = SendOutcome::retry("producer", problem);
    outcome.unhealthy = true;
    done(std::move(outcome));
    return;
  }
  const std::size_t n = batch->size();
  auto owned = std::make_unique<InFlight>();
  InFlight* f = owned.get();
  f->batch = std::move(batch);
  f->done = std::move(done);
  f->producer = producer.get();
  f->errors.assign(n, kUnreported);
  f->refs.resize(n);
  for (std::size_t i = 0; i < n; ++i) f->refs[i] = MessageRef{f, static_cast<std::uint32_t>(i)};
  f->remaining.store(n + 1);
  {
    std::lock_guard lock(inflight_mutex_);
    inflight_.emplace(f, std::move(owned));
  }
  produceBatch(*producer, *f);
  // Before letting go of the producer: a retired producer is destroyed (and its unfinished
  // batches completed) only once no send holds it, so `f` must not be touched after this.
  release(f);
}

void KafkaSink::produceBatch(Producer& producer, InFlight& f) {
  KafkaRecord record;
  std::string last_topic;
  rd_kafka_topic_t* rkt = nullptr;
  std::vector<rd_kafka_vu_t> vus;
  const auto queue_deadline = Clock::now() + kQueueFullWait;
  bool queue_stuck = false;
  // A template without fields gives every record the same topic: checked and looked up once.
  const std::string* const fixed_topic = encoder_.constantTopic();
  const bool fixed_topic_valid = fixed_topic != nullptr && isValidTopicName(*fixed_topic);
  if (fixed_topic_valid) rkt = producer.topic(*fixed_topic);

  for (std::size_t i = 0; i < f.batch->size(); ++i) {
    const Event& event = *f.batch->events[i];
    if (fixed_topic != nullptr) {
      encoder_.encodeBody(event, record);
    } else {
      encoder_.encode(event, record);
    }
    const std::string& topic = fixed_topic != nullptr ? *fixed_topic : record.topic;
    auto fail_now = [&](rd_kafka_resp_err_t err, std::string reason) {
      f.errors[i] = err;
      if (!reason.empty()) f.local_reasons.emplace_back(static_cast<std::uint32_t>(i), reason);
      release(&f);
    };
    if (fixed_topic != nullptr ? !fixed_topic_valid : !isValidTopicName(topic)) {
      fail_now(RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION,
               "the topic template renders an invalid topic name \"" + topic + "\"");
      continue;
    }
    if (record.value.empty()) {
      fail_now(RD_KAFKA_RESP_ERR_INVALID_MSG, std::string("the event has no ") +
                                                  std::string(toString(encoder_.encoding())) +
                                                  " rendering");
      continue;
    }
    if (rkt == nullptr || (fixed_topic == nullptr && topic != last_topic)) {
      rkt = producer.topic(topic);
      last_topic = topic;
    }

    vus.clear();
    rd_kafka_vu_t vu{};
    if (rkt != nullptr) {
      vu.vtype = RD_KAFKA_VTYPE_RKT;
      vu.u.rkt = rkt;
    } else {
      vu.vtype = RD_KAFKA_VTYPE_TOPIC;
      vu.u.cstr = topic.c_str();
    }
    vus.push_back(vu);
    // No copy and no free: the batch (hence the event's bytes) lives until the last report.
    vu = {};
    vu.vtype = RD_KAFKA_VTYPE_VALUE;
    vu.u.mem.ptr = const_cast<char*>(record.value.data());
    vu.u.mem.size = record.value.size();
    vus.push_back(vu);
    if (record.has_key) {
      vu = {};
      vu.vtype = RD_KAFKA_VTYPE_KEY;
      vu.u.mem.ptr = record.key.data();
      vu.u.mem.size = record.key.size();
      vus.push_back(vu);
    }
    // A header list of our own (VTYPE_HEADERS): librdkafka takes it only when the produce call
    // succeeds. (Its per-header VTYPE_HEADER form double-frees when the call fails after the
    // message was built: librdkafka issue #4627.)
    std::unique_ptr<rd_kafka_headers_t, HeadersDeleter> headers;
    if (!record.headers.empty()) {
      headers.reset(rd_kafka_headers_new(record.headers.size()));
      for (const auto& h : record.headers) {
        rd_kafka_header_add(headers.get(), h.name.data(), static_cast<ssize_t>(h.name.size()),
                            h.value.data(), static_cast<ssize_t>(h.value.size()));
      }
      vu = {};
      vu.vtype = RD_KAFKA_VTYPE_HEADERS;
      vu.u.headers = headers.get();
      vus.push_back(vu);
    }
    vu = {};
    vu.vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu.u.ptr = &f.refs[i];
    vus.push_back(vu);

    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__QUEUE_FULL;
    while (!queue_stuck) {
      rd_kafka_error_t* error = rd_kafka_produceva(producer.rk(), vus.data(), vus.size());
      err = error == nullptr ? RD_KAFKA_RESP_ERR_NO_ERROR : rd_kafka_error_code(error);
      if (error != nullptr) rd_kafka_error_destroy(error);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      if (Clock::now() >= queue_deadline) {
        queue_stuck = true;
        spdlog::warn(
            "sink {}: the Kafka producer queue stayed full for {} ms; the rest of the "
            "batch will be retried",
            id_, std::chrono::duration_cast<std::chrono::milliseconds>(kQueueFullWait).count());
        break;
      }
      // Serves delivery reports (which frees room) and waits a little for them.
      rd_kafka_poll(producer.rk(), 10);
    }
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)headers.release();  // now owned by the message
      continue;
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) fatal_pending_.store(true);
    fail_now(err, {});
  }
}

void KafkaSink::release(InFlight* f) {
  if (f->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) complete(f);
}

void KafkaSink::complete(InFlight* f) {
  const std::size_t n = f->errors.size();
  SendOutcome outcome;
  std::size_t failed = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const rd_kafka_resp_err_t err = f->errors[i];
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    const KafkaFailure cls = classifyKafkaError(err);
    std::string reason = "kafka: " + describeKafkaError(err);
    for (const auto& [index, text] : f->local_reasons)
      if (index == i) reason += ": " + text;
    if (failed++ == 0) {
      outcome.per_event.assign(n, Disposition::kDelivered);
      outcome.per_event_reason.assign(n, {});
      outcome.error_type = std::string(cls.error_type);
      outcome.reason = reason;
    }
    outcome.per_event[i] = cls.disposition;
    outcome.per_event_reason[i] = std::move(reason);
    outcome.unhealthy = outcome.unhealthy || cls.unhealthy;
  }
  if (failed > 0) {
    outcome.disposition = Disposition::kRetry;
    outcome.reason = std::to_string(failed) + " of " + std::to_string(n) +
                     " Kafka message(s) not delivered; first: " + outcome.reason;
  } else {
    all_down_since_.store(0, std::memory_order_relaxed);
  }
  SendCallback done = std::move(f->done);
  {
    std::lock_guard lock(inflight_mutex_);
    inflight_.erase(f);  // destroys the batch state; every report for it has been served
  }
  if (!drop_callbacks_.load()) done(std::move(outcome));
}

void KafkaSink::onDelivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
  auto* sink = static_cast<KafkaSink*>(opaque);
  auto* ref = static_cast<MessageRef*>(message->_private);
  if (ref == nullptr) return;
  ref->owner->errors[ref->index] = message->err;
  if (message->err == RD_KAFKA_RESP_ERR__FATAL) sink->fatal_pending_.store(true);
  sink->release(ref->owner);
}

void KafkaSink::onError(rd_kafka_t* rk, int err_code, const char* reason, void* opaque) {
  auto* sink = static_cast<KafkaSink*>(opaque);
  const auto err = static_cast<rd_kafka_resp_err_t>(err_code);
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char errstr[512] = {};
    const rd_kafka_resp_err_t cause = rd_kafka_fatal_error(rk, errstr, sizeof(errstr));
    spdlog::error("sink {}: Kafka producer fatal error {}: {}", sink->id_, rd_kafka_err2name(cause),
                  errstr);
    sink->fatal_pending_.store(true);
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    std::int64_t expected = 0;
    sink->all_down_since_.compare_exchange_strong(expected, nowNanos());
  }
  // Connection failures are already logged by librdkafka itself (see onLog).
  const auto level =
      err == RD_KAFKA_RESP_ERR__TRANSPORT ? spdlog::level::debug : spdlog::level::warn;
  spdlog::log(level, "sink {}: Kafka client error {}: {}", sink->id_, rd_kafka_err2name(err),
              reason != nullptr ? reason : "");
  if (sink->metrics_ != nullptr)
    sink->metrics_->error(classifyKafkaError(err).error_type, "kafka_client");
}

int KafkaSink::onStats(rd_kafka_t*, char* json, size_t json_len, void* opaque) {
  auto* sink = static_cast<KafkaSink*>(opaque);
  auto stats = parseKafkaStats(std::string_view(json, json_len));
  if (!stats) {
    spdlog::debug("sink {}: unreadable Kafka statistics: {}", sink->id_, stats.error().message);
  } else {
    sink->handleStats(*stats);
  }
  return 0;  // librdkafka frees the JSON
}

void KafkaSink::handleStats(const KafkaStats& stats) {
  std::lock_guard lock(stats_mutex_);
  for (const KafkaBrokerStats* b : stats.knownBrokers()) {
    auto& last = broker_states_[b->name];
    if (!last.empty() && last != b->state)
      spdlog::info("sink {}: Kafka broker {} is {} (was {})", id_, b->name, b->state, last);
    last = b->state;
  }
  const auto known = stats.knownBrokers().size();
  const auto up = stats.brokersUp();
  if (up > 0) {
    all_down_since_.store(0, std::memory_order_relaxed);
  } else if (known > 0) {
    std::int64_t expected = 0;
    all_down_since_.compare_exchange_strong(expected, nowNanos());
  }
  spdlog::debug(
      "sink {}: Kafka producer queue {} message(s) / {} byte(s), brokers up {}/{}, "
      "request retries {}, transmit errors {}",
      id_, stats.queue_messages, stats.queue_bytes, up, known, stats.tx_retries, stats.tx_errors);
}

void KafkaSink::onLog(const rd_kafka_t* rk, int level, const char* facility, const char* message) {
  const auto* sink = static_cast<const KafkaSink*>(rd_kafka_opaque(rk));
  const std::string_view id = sink != nullptr ? std::string_view(sink->id_) : "?";
  // Syslog levels. Level 3 is used for transient connection failures, so it is a warning here.
  if (level <= 2) {
    spdlog::error("sink {}: librdkafka {}: {}", id, facility, message);
  } else if (level <= 4) {
    spdlog::warn("sink {}: librdkafka {}: {}", id, facility, message);
  } else if (level <= 6) {
    spdlog::info("sink {}: librdkafka {}: {}", id, facility, message);
  } else {
    spdlog::debug("sink {}: librdkafka {}: {}", id, facility, message);
  }
}

std::string KafkaSink::healthProblem() const {
  {
    std::lock_guard lock(producer_mutex_);
    if (!problem_.empty()) return problem_;
  }
  const std::int64_t since = all_down_since_.load(std::memory_order_relaxed);
  if (since != 0) {
    const auto down = std::chrono::nanoseconds(nowNanos() - since);
    if (down > unhealthy_after_) {
      return "no Kafka broker reachable for " +
             std::to_string(std::chrono::duration_cast<std::chrono::seconds>(down).count()) + "s";
    }
  }
  return {};
}

bool KafkaSink::raiseFatalErrorForTesting() {
  auto producer = currentProducer();
  if (!producer) return false;
  return rd_kafka_test_fatal_error(producer->rk(), RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                                   "raised by a test") == RD_KAFKA_RESP_ERR_NO_ERROR;
}

void KafkaSink::stop(Clock::time_point deadline) {
  if (stopped_.exchange(true)) return;
  stopping_.store(true);
  if (poller_.joinable()) {
    poller_.request_stop();
    wake_.notify_all();
    poller_.join();
  }
  // The poll thread is gone, so retired_ is this thread's now.
  std::vector<std::shared_ptr<Producer>> producers;
  for (auto& [p, since] : retired_) producers.push_back(std::move(p));
  retired_.clear();
  {
    std::lock_guard lock(producer_mutex_);
    if (producer_) producers.push_back(std::move(producer_));
  }
  for (auto& p : producers) {
    rd_kafka_flush(p->rk(), remainingMs(deadline));
    const int left = rd_kafka_outq_len(p->rk());
    if (left > 0) {
      spdlog::warn(
          "sink {}: {} Kafka message(s) not confirmed by the shutdown deadline; purged, "
          "they will be sent again after restart",
          id_, left);
      rd_kafka_purge(p->rk(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_flush(p->rk(), static_cast<int>(std::chrono::milliseconds(kPurgeGrace).count()));
    }
    destroyProducer(std::move(p));
  }
  // Batches whose producer is gone (none expected) are handed back as not delivered.
  std::vector<InFlight*> leftovers;
  {
    std::lock_guard lock(inflight_mutex_);
    for (auto& [ptr, owned] : inflight_) leftovers.push_back(ptr);
  }
  for (InFlight* f : leftovers) complete(f);
}

Result<std::unique_ptr<Sink>> createKafkaSink(const SinkConfig& config, SinkEnv& env) {
  const auto* options = dynamic_cast<const KafkaSinkOptions*>(config.options.get());
  if (options == nullptr) return fail("missing options");
  auto topic = FieldTemplate::parse(options->topic);
  if (!topic) return fail("topic: " + topic.error().message);
  std::optional<FieldTemplate> key;
  if (!options->key.empty()) {
    auto parsed = FieldTemplate::parse(options->key);
    if (!parsed) return fail("key: " + parsed.error().message);
    key = std::move(*parsed);
  }
  KafkaRecordEncoder encoder(std::move(*topic), std::move(key), options->headers, config.encoding);
  return std::unique_ptr<Sink>(
      std::make_unique<KafkaSink>(config.id, *options, std::move(encoder), &env.metrics,
                                  std::chrono::seconds(config.unhealthy_after_secs)));
}

}  // namespace siem
