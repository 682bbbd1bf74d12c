#include "sinks/kafka/errors.h"

namespace siem {

KafkaFailure classifyKafkaError(rd_kafka_resp_err_t err) {
  switch (err) {
    // The record itself cannot be written: sending it again gives the same answer.
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
      return {Disposition::kRejected, "too_large", false};
    case RD_KAFKA_RESP_ERR_INVALID_MSG:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR__BAD_MSG:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return {Disposition::kRejected, "invalid_data", false};
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
      return {Disposition::kRejected, "authorization", false};
    // librdkafka reports these only after waiting for the topic's metadata
    // (topic.metadata.propagation.max.ms), so they are not a transient state of a new topic.
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
      return {Disposition::kRejected, "invalid_topic", false};

    // The cluster refuses this client as a whole: retry, and tell the operator.
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
      return {Disposition::kRetry, "auth", true};

    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return {Disposition::kRetry, "timeout", false};
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
      return {Disposition::kRetry, "connection", false};
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return {Disposition::kRetry, "queue_full", false};
    case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
    case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
      return {Disposition::kRetry, "purged", false};
    // The idempotent producer cannot keep its guarantees: the sink replaces the producer and
    // these messages go again through the new one.
    case RD_KAFKA_RESP_ERR__FATAL:
    case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_DUPLICATE_SEQUENCE_NUMBER:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
    case RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE:
      return {Disposition::kRetry, "fatal", false};
    default:
      return {Disposition::kRetry, "kafka", false};
  }
}

std::string describeKafkaError(rd_kafka_resp_err_t err) {
  std::string out = rd_kafka_err2name(err);
  out += " (";
  out += rd_kafka_err2str(err);
  out += ")";
  return out;
}

}  // namespace siem
