#include "tests/fakes/kafka_mock/mock_cluster.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

namespace siem::kafka_mock {
namespace {

std::optional<long> parseLong(std::string_view text) {
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::optional<rd_kafka_resp_err_t> errorByName(std::string_view name) {
  if (auto number = parseLong(name)) return static_cast<rd_kafka_resp_err_t>(*number);
  std::string wanted = upper(name);
  constexpr std::string_view kPrefix = "RD_KAFKA_RESP_ERR_";
  if (wanted.starts_with(kPrefix)) wanted.erase(0, kPrefix.size());
  const rd_kafka_err_desc* descs = nullptr;
  size_t count = 0;
  rd_kafka_get_err_descs(&descs, &count);
  for (size_t i = 0; i < count; ++i) {
    if (descs[i].name != nullptr && wanted == descs[i].name) return descs[i].code;
  }
  return std::nullopt;
}

std::optional<std::int16_t> apiKeyByName(std::string_view name) {
  if (auto number = parseLong(name)) {
    if (*number < 0 || *number > 32767) return std::nullopt;
    return static_cast<std::int16_t>(*number);
  }
  // Kafka protocol request numbers (the public librdkafka headers do not define them).
  static constexpr std::pair<std::string_view, std::int16_t> kApis[] = {
      {"produce", 0},
      {"fetch", 1},
      {"list_offsets", 2},
      {"metadata", 3},
      {"offset_commit", 8},
      {"offset_fetch", 9},
      {"find_coordinator", 10},
      {"join_group", 11},
      {"heartbeat", 12},
      {"sync_group", 14},
      {"api_versions", 18},
      {"init_producer_id", 22},
      {"add_partitions_to_txn", 24},
      {"end_txn", 26},
  };
  for (const auto& [api, key] : kApis)
    if (api == name) return key;
  return std::nullopt;
}

std::unique_ptr<MockCluster> MockCluster::create(int brokers, std::string& error) {
  char errstr[512] = {};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The handle never connects anywhere (librdkafka only needs it to own the cluster's thread), so
  // its "no bootstrap.servers" notice is silenced.
  if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
    rd_kafka_conf_destroy(conf);
    error = errstr;
    return nullptr;
  }
  std::unique_ptr<rd_kafka_t, KafkaDeleter> handle(
      rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)));
  if (!handle) {
    rd_kafka_conf_destroy(conf);
    error = errstr;
    return nullptr;
  }
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle.get(), brokers);
  if (cluster == nullptr) {
    error = "rd_kafka_mock_cluster_new failed";
    return nullptr;
  }
  return std::make_unique<MockCluster>(std::move(handle), cluster, brokers);
}

MockCluster::MockCluster(std::unique_ptr<rd_kafka_t, KafkaDeleter> handle,
                         rd_kafka_mock_cluster_t* cluster, int brokers)
    : handle_(std::move(handle)), cluster_(cluster), brokers_(brokers) {}

MockCluster::~MockCluster() { rd_kafka_mock_cluster_destroy(cluster_); }

std::string MockCluster::bootstrapServers() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_);
}

rd_kafka_resp_err_t MockCluster::createTopic(const std::string& name, int partitions,
                                             int replication) {
  return rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication);
}

void MockCluster::pushErrors(std::int16_t api_key, const std::vector<rd_kafka_resp_err_t>& errors) {
  rd_kafka_mock_push_request_errors_array(cluster_, api_key, errors.size(), errors.data());
}

rd_kafka_resp_err_t MockCluster::pushBrokerError(std::int32_t broker, std::int16_t api_key,
                                                 rd_kafka_resp_err_t error, int rtt_ms,
                                                 std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    const auto err =
        rd_kafka_mock_broker_push_request_error_rtts(cluster_, broker, api_key, 1, error, rtt_ms);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return err;
  }
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

void MockCluster::clearErrors(std::int16_t api_key) {
  rd_kafka_mock_clear_request_errors(cluster_, api_key);
}

rd_kafka_resp_err_t MockCluster::setBrokerDown(std::int32_t broker) {
  return rd_kafka_mock_broker_set_down(cluster_, broker);
}

rd_kafka_resp_err_t MockCluster::setBrokerUp(std::int32_t broker) {
  return rd_kafka_mock_broker_set_up(cluster_, broker);
}

rd_kafka_resp_err_t MockCluster::setBrokerRtt(std::int32_t broker, int rtt_ms) {
  return rd_kafka_mock_broker_set_rtt(cluster_, broker, rtt_ms);
}

rd_kafka_resp_err_t MockCluster::setLeader(const std::string& topic, std::int32_t partition,
                                           std::int32_t broker) {
  return rd_kafka_mock_partition_set_leader(cluster_, topic.c_str(), partition, broker);
}

}  // namespace siem::kafka_mock
