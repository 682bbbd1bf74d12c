// The Kafka sink alone: batches of ~1 KB events sent to librdkafka's mock cluster in this process
// (3 brokers, 8 partitions), `concurrency` batches in flight like the driver's workers, each
// answered only after its delivery reports. Items/s is delivered events per second.
#include <benchmark/benchmark.h>
#include <librdkafka/rdkafka.h>
// rdkafka_mock.h must follow rdkafka.h.
#include <librdkafka/rdkafka_mock.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "sinks/kafka/sink.h"

namespace siem {
namespace {

class MockCluster {
 public:
  MockCluster() {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (handle_ == nullptr) throw std::runtime_error(errstr);
    cluster_ = rd_kafka_mock_cluster_new(handle_, 3);
    rd_kafka_mock_topic_create(cluster_, "bench", 8, 3);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

void BM_KafkaSinkDelivered(benchmark::State& state) {
  spdlog::set_level(spdlog::level::warn);
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  const auto concurrency = static_cast<int>(state.range(1));
  const std::string compression = state.range(2) == 0 ? "none" : "lz4";
  MockCluster mock;
  KafkaSinkOptions o;
  o.brokers = {mock.bootstrap()};
  o.topic = "bench";
  o.compression = compression;
  o.librdkafka = {{"log_level", "3"}, {"socket.nagle.disable", "true"}};
  KafkaSink sink("bench", o,
                 KafkaRecordEncoder(*FieldTemplate::parse("bench"),
                                    FieldTemplate::parse("{id}").value(), true, Encoding::kRaw),
                 nullptr, std::chrono::seconds(300));
  sink.start();

  static const SourceInfo source{"openai", "openai_audit_logs", "", 0};
  std::vector<BatchPtr> batches;
  for (int c = 0; c < concurrency; ++c) {
    auto b = std::make_shared<Batch>();
    for (std::size_t i = 0; i < batch_size; ++i) {
      auto e = std::make_shared<Event>();
      e->id = "audit_log-" + std::to_string(c) + "-" + std::to_string(i);
      e->type = "api_key.created";
      e->raw = R"({"id":")" + e->id + R"(","type":"api_key.created","effective_at":1764028800,)" +
               R"("actor":{"type":"session","session":{"user":{"id":"user-abc","email":)" +
               R"("first.last@acme.example"},"ip_address":"203.0.113.7"}},"pad":")" +
               std::string(800, 'x') + "\"}";
      e->source = &source;
      b->events.push_back(std::move(e));
    }
    batches.push_back(std::move(b));
  }

  std::mutex mutex;
  std::condition_variable cv;
  int pending = 0;
  std::size_t failed = 0;
  for (auto _ : state) {
    {
      std::lock_guard lock(mutex);
      pending = concurrency;
    }
    for (const auto& b : batches) {
      sink.send(b, [&](SendOutcome outcome) {
        std::lock_guard lock(mutex);
        for (std::size_t i = 0; i < batch_size; ++i)
          if (outcome.at(i) != Disposition::kDelivered) ++failed;
        if (--pending == 0) cv.notify_one();
      });
    }
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return pending == 0; });
  }
  sink.stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
  if (failed > 0) state.SkipWithError("some events were not delivered");
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch_size) * concurrency);
}

// Args: events per batch, batches in flight, compression (0 none, 1 lz4).
BENCHMARK(BM_KafkaSinkDelivered)
    ->Args({500, 1, 0})
    ->Args({5000, 1, 0})
    ->Args({5000, 4, 0})
    ->Args({5000, 4, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace siem

BENCHMARK_MAIN();
