// The parts of librdkafka's statistics (statistics.interval.ms, STATISTICS.md) the Kafka sink
// reports: producer queue depth, broker states, retries and errors. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "agent/api/result.h"

namespace siem {

struct KafkaBrokerStats {
  std::string name;  // "host:port/id" (or ".../bootstrap" before metadata is known)
  std::int32_t node_id = -1;
  std::string state;  // "UP", "DOWN", "INIT", "CONNECT", "AUTH", "TRY_CONNECT", ...
  std::int64_t in_flight_messages = 0;  // outbuf_msg_cnt + waitresp_msg_cnt
};

struct KafkaStats {
  std::int64_t queue_messages = 0;  // msg_cnt: messages in the producer, not yet reported
  std::int64_t queue_bytes = 0;     // msg_size
  std::int64_t tx_retries = 0;      // sum over brokers: requests sent again
  std::int64_t tx_errors = 0;       // sum over brokers: failed transmissions
  std::vector<KafkaBrokerStats> brokers;

  // Brokers learned from metadata (node_id >= 0), or the bootstrap entries before that.
  std::vector<const KafkaBrokerStats*> knownBrokers() const;
  std::size_t brokersUp() const;
};

Result<KafkaStats> parseKafkaStats(std::string_view json);

}  // namespace siem
