// `type: kafka`: one librdkafka producer per sink (idempotent, acks=all by default). A batch is
// delivered only when every message of it has a successful delivery report; failed messages are
// classified one by one (sinks/kafka/errors.h) so the driver resends only those. A fatal
// producer error replaces the producer; its messages are retried through the new one.
//
// Threads: send() runs on the driver's workers (several at once with `concurrency` > 1) and only
// enqueues; one poll thread per sink serves delivery reports, statistics and errors, and
// completes batches (it calls `done`). Librdkafka's own threads do the I/O.
#pragma once

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "agent/api/result.h"
#include "agent/api/sink.h"
#include "agent/core/registry.h"
#include "sinks/kafka/config.h"
#include "sinks/kafka/encoder.h"

namespace siem {

class ComponentMetrics;
struct KafkaStats;

class KafkaSink final : public Sink {
 public:
  // `metrics` may be null (tests). Nothing connects before start().
  KafkaSink(std::string id, const KafkaSinkOptions& options, KafkaRecordEncoder encoder,
            ComponentMetrics* metrics, std::chrono::seconds unhealthy_after);
  ~KafkaSink() override;
  KafkaSink(const KafkaSink&) = delete;
  KafkaSink& operator=(const KafkaSink&) = delete;

  // Creates the producer and the poll thread. A producer that cannot be created (e.g. a missing
  // CA file) is reported by healthProblem() and retried every few seconds; sends are retried
  // meanwhile.
  void start() override;
  void send(BatchPtr batch, SendCallback done) override;
  // Flushes within `deadline`, then purges what is left: purged messages are reported as kRetry
  // (never delivered), so no cursor moves past them. After stop() no callback fires.
  void stop(std::chrono::steady_clock::time_point deadline) override;
  std::string healthProblem() const override;

  // Test hooks: raise a fatal error on the current producer as librdkafka does when the
  // idempotence guarantees are lost, and count the producers created so far.
  bool raiseFatalErrorForTesting();
  std::uint64_t producersCreated() const { return producers_created_.load(); }

 private:
  class Producer;
  struct InFlight;
  struct MessageRef {
    InFlight* owner = nullptr;
    std::uint32_t index = 0;
  };

  static void onDelivery(rd_kafka_t* rk, const rd_kafka_message_t* message, void* opaque);
  static void onError(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static int onStats(rd_kafka_t* rk, char* json, size_t json_len, void* opaque);
  static void onLog(const rd_kafka_t* rk, int level, const char* facility, const char* message);

  Result<std::shared_ptr<Producer>> createProducer();
  std::shared_ptr<Producer> currentProducer() const;
  void pollLoop(std::stop_token stop);
  void replaceProducer();
  // Polls retired producers and destroys those nobody uses with nothing left (or that have had
  // kRetiredDrainLimit to drain). Poll thread only.
  void serviceRetired();
  // Destroys `producer` (which no send uses any more) and completes the batches it still held,
  // their unreported messages as purged.
  void destroyProducer(std::shared_ptr<Producer> producer);
  void produceBatch(Producer& producer, InFlight& batch);
  void release(InFlight* batch);
  void complete(InFlight* batch);
  void handleStats(const KafkaStats& stats);
  void setProblem(std::string problem);

  const std::string id_;
  const std::vector<std::pair<std::string, std::string>> properties_;
  const KafkaRecordEncoder encoder_;
  ComponentMetrics* const metrics_;
  const std::chrono::seconds unhealthy_after_;

  mutable std::mutex producer_mutex_;  // guards producer_ and problem_
  std::shared_ptr<Producer> producer_;
  std::string problem_;
  // Replaced producers still draining, with when they were replaced. Owned by the poll thread
  // (by stop() once that thread has ended).
  std::vector<std::pair<std::shared_ptr<Producer>, std::chrono::steady_clock::time_point>> retired_;

  std::mutex inflight_mutex_;  // guards inflight_
  std::unordered_map<InFlight*, std::unique_ptr<InFlight>> inflight_;

  std::atomic<bool> fatal_pending_{false};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> drop_callbacks_{false};  // set by the destructor
  std::atomic<std::uint64_t> producers_created_{0};
  // steady_clock nanoseconds since every broker went down; 0 while some broker is reachable.
  std::atomic<std::int64_t> all_down_since_{0};

  // Statistics arrive on whichever thread polls (poll thread, a send waiting for queue room,
  // stop()).
  std::mutex stats_mutex_;  // guards broker_states_
  std::map<std::string, std::string> broker_states_;

  std::mutex wake_mutex_;
  std::condition_variable_any wake_;  // the poll thread's idle wait (no producer)
  std::jthread poller_;
};

Result<std::unique_ptr<Sink>> createKafkaSink(const SinkConfig& config, SinkEnv& env);

}  // namespace siem
