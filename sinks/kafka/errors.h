// How the Kafka sink classifies a failed message (a delivery report's error, or a produce call
// that failed at once). Pure; the table is unit-tested.
#pragma once

#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>

#include "agent/api/sink.h"

namespace siem {

struct KafkaFailure {
  // kRetry: the driver sends the message again later. kRejected: dead-lettered with the reason.
  Disposition disposition = Disposition::kRetry;
  // errors_total{error_type} label: "timeout", "connection", "queue_full", "purged", "fatal",
  // "too_large", "authorization", "invalid_topic", "invalid_data", "auth", "kafka".
  std::string_view error_type;
  // Something an operator must fix (credentials, ACLs on the cluster): /readyz reports it while
  // the messages keep being retried.
  bool unhealthy = false;
};

// Permanent errors (the same message would fail again: too large, topic authorization, invalid
// or unknown topic, corrupt record) are rejected; everything else, including errors this table
// does not know, is retried, because retrying never loses an event.
KafkaFailure classifyKafkaError(rd_kafka_resp_err_t err);

// "MSG_SIZE_TOO_LARGE (Broker: Message size too large)": the error's name, then librdkafka's text.
std::string describeKafkaError(rd_kafka_resp_err_t err);

}  // namespace siem
