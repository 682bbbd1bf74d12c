// A librdkafka mock cluster (rdkafka_mock.h) hosted in this process: real Kafka wire protocol on
// loopback ports, with topic creation, request-error injection and broker down/up. Thread-safe:
// the mock API calls enqueue operations on the cluster's own thread.
#pragma once

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h must follow rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace siem::kafka_mock {

// A protocol error code by name ("NOT_ENOUGH_REPLICAS", "RD_KAFKA_RESP_ERR__TRANSPORT",
// "_TRANSPORT") or by number ("19", "-195").
std::optional<rd_kafka_resp_err_t> errorByName(std::string_view name);

// A Kafka request type by name ("produce", "metadata", "init_producer_id", ...) or number ("0").
std::optional<std::int16_t> apiKeyByName(std::string_view name);

class MockCluster {
 public:
  // Returns nullptr and sets `error` when librdkafka cannot create the cluster.
  static std::unique_ptr<MockCluster> create(int brokers, std::string& error);
  struct KafkaDeleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
  };
  // Use create(); takes ownership of both.
  MockCluster(std::unique_ptr<rd_kafka_t, KafkaDeleter> handle, rd_kafka_mock_cluster_t* cluster,
              int brokers);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  std::string bootstrapServers() const;
  int brokers() const { return brokers_; }

  rd_kafka_resp_err_t createTopic(const std::string& name, int partitions, int replication);
  // The next requests of `api_key` (cluster-wide) fail with `errors`, in order.
  void pushErrors(std::int16_t api_key, const std::vector<rd_kafka_resp_err_t>& errors);
  // The next requests of `api_key` handled by `broker` fail with `error` after `rtt_ms`.
  rd_kafka_resp_err_t pushBrokerError(std::int32_t broker, std::int16_t api_key,
                                      rd_kafka_resp_err_t error, int rtt_ms, std::size_t count);
  void clearErrors(std::int16_t api_key);
  // `broker` -1 means every broker.
  rd_kafka_resp_err_t setBrokerDown(std::int32_t broker);
  rd_kafka_resp_err_t setBrokerUp(std::int32_t broker);
  rd_kafka_resp_err_t setBrokerRtt(std::int32_t broker, int rtt_ms);
  rd_kafka_resp_err_t setLeader(const std::string& topic, std::int32_t partition,
                                std::int32_t broker);

 private:
  // The client handle librdkafka needs for bookkeeping; destroyed after the cluster.
  std::unique_ptr<rd_kafka_t, KafkaDeleter> handle_;
  rd_kafka_mock_cluster_t* cluster_;
  int brokers_;
};

}  // namespace siem::kafka_mock
