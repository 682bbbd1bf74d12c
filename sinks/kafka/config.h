// Options of `type: kafka` (documented in sinks/kafka/README.md).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/config/config.h"

namespace siem {

class ConfigMap;

struct KafkaSinkOptions : ComponentOptions {
  std::vector<std::string> brokers;  // host:port, joined into bootstrap.servers
  std::string topic;                 // template (sinks/kafka/encoder.h)
  std::string key = "{id}";          // template; empty = records without a key
  bool headers = true;               // event_type, source_id, encoding headers
  std::string compression = "none";  // none|gzip|snappy|lz4|zstd
  std::string acks = "all";          // all|1|0; `all` is required with idempotence
  bool enable_idempotence = true;
  std::uint32_t linger_ms = 5;
  std::uint32_t batch_num_messages = 10'000;
  std::uint32_t message_timeout_ms = 300'000;
  std::uint32_t statistics_interval_ms = 30'000;  // 0 = no statistics
  // Further librdkafka properties, in file order, already checked against librdkafka.
  std::vector<std::pair<std::string, std::string>> librdkafka;
};

std::shared_ptr<const ComponentOptions> parseKafkaSinkOptions(ConfigMap& map);

// The librdkafka properties the typed options above stand for; setting them in the `librdkafka`
// map is an error that names the typed key to use instead.
struct ReservedProperty {
  const char* property;
  const char* key;
};
const std::vector<ReservedProperty>& kafkaReservedProperties();

// True for librdkafka properties whose values are credentials (never logged or echoed).
bool isSecretKafkaProperty(const std::string& name);

// Every librdkafka property, in the order the sink applies them: the typed options, then the
// passthrough map. `client_id` is used unless the passthrough sets client.id.
std::vector<std::pair<std::string, std::string>> kafkaProperties(const KafkaSinkOptions& options,
                                                                 const std::string& client_id);

}  // namespace siem
