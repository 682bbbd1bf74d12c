// An in-process librdkafka mock cluster and a plain consumer for the Kafka sink's tests.
#pragma once

#include <librdkafka/rdkafka.h>
// rdkafka_mock.h must follow rdkafka.h.
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace siem::testing {

class MockKafka {
 public:
  explicit MockKafka(int brokers = 3) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
    handle_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (handle_ == nullptr) throw std::runtime_error(errstr);
    cluster_ = rd_kafka_mock_cluster_new(handle_, brokers);
    if (cluster_ == nullptr) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
  }
  ~MockKafka() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(handle_);
  }
  MockKafka(const MockKafka&) = delete;
  MockKafka& operator=(const MockKafka&) = delete;

  std::string bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  rd_kafka_mock_cluster_t* cluster() const { return cluster_; }
  void createTopic(const std::string& name, int partitions = 4, int replication = 3) {
    rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication);
  }
  // Kafka's request number for Produce (not in the public headers).
  static constexpr std::int16_t kProduce = 0;

 private:
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

struct ConsumedMessage {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::string key;
  bool has_key = false;
  std::string value;
  std::map<std::string, std::string> headers;
};

// Reads every message of `topic` (all `partitions`) from the beginning until each partition's
// end, or throws after `timeout`.
inline std::vector<ConsumedMessage> consumeAll(
    const std::string& bootstrap, const std::string& topic, int partitions,
    std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "group.id", "siem-test-reader", errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr));
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
  if (rk == nullptr) throw std::runtime_error(errstr);
  std::unique_ptr<rd_kafka_t, void (*)(rd_kafka_t*)> guard(rk, [](rd_kafka_t* h) {
    rd_kafka_consumer_close(h);
    rd_kafka_destroy(h);
  });
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);

  std::vector<ConsumedMessage> out;
  std::map<std::int32_t, bool> at_end;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (static_cast<int>(at_end.size()) < partitions) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("timed out consuming " + topic);
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> msg(
        m, rd_kafka_message_destroy);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end[m->partition] = true;
      continue;
    }
    if (m->err) continue;  // transient consumer errors: keep reading
    at_end.erase(m->partition);
    ConsumedMessage c;
    c.partition = m->partition;
    c.offset = m->offset;
    c.has_key = m->key != nullptr;
    if (m->key) c.key.assign(static_cast<const char*>(m->key), m->key_len);
    c.value.assign(static_cast<const char*>(m->payload), m->len);
    rd_kafka_headers_t* headers = nullptr;
    if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name = nullptr;
      const void* value = nullptr;
      size_t size = 0;
      for (size_t i = 0;
           rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
           ++i) {
        c.headers[name] = std::string(static_cast<const char*>(value), size);
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace siem::testing
