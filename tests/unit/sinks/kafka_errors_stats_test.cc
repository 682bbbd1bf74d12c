// The Kafka sink's failure classification and its reading of librdkafka statistics (the golden
// files are statistics librdkafka 2.0.2 emitted against its mock cluster).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "sinks/kafka/errors.h"
#include "sinks/kafka/stats.h"

namespace siem {
namespace {

using ::testing::HasSubstr;

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(KafkaErrorsTest, PermanentErrorsAreRejected) {
  for (auto err :
       {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART,
        RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
        RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR_INVALID_MSG}) {
    EXPECT_EQ(classifyKafkaError(err).disposition, Disposition::kRejected)
        << rd_kafka_err2name(err);
  }
  EXPECT_EQ(classifyKafkaError(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE).error_type, "too_large");
  EXPECT_EQ(classifyKafkaError(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED).error_type,
            "authorization");
  EXPECT_EQ(classifyKafkaError(RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION).error_type, "invalid_topic");
}

TEST(KafkaErrorsTest, TransientFatalAndUnknownErrorsAreRetried) {
  struct Case {
    rd_kafka_resp_err_t err;
    std::string_view type;
  };
  for (const Case& c :
       {Case{RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, "timeout"},
        Case{RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, "timeout"},
        Case{RD_KAFKA_RESP_ERR__TRANSPORT, "connection"},
        Case{RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, "connection"},
        Case{RD_KAFKA_RESP_ERR__QUEUE_FULL, "queue_full"},
        Case{RD_KAFKA_RESP_ERR__PURGE_QUEUE, "purged"},
        Case{RD_KAFKA_RESP_ERR__PURGE_INFLIGHT, "purged"}, Case{RD_KAFKA_RESP_ERR__FATAL, "fatal"},
        Case{RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "fatal"},
        Case{RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, "kafka"},
        Case{RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, "kafka"},
        Case{RD_KAFKA_RESP_ERR_UNKNOWN, "kafka"}}) {
    const KafkaFailure f = classifyKafkaError(c.err);
    EXPECT_EQ(f.disposition, Disposition::kRetry) << c.err;
    EXPECT_EQ(f.error_type, c.type) << c.err;
    EXPECT_FALSE(f.unhealthy) << c.err;
  }
}

TEST(KafkaErrorsTest, ClusterWideRefusalsAreRetriedAndUnhealthy) {
  for (auto err : {RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED,
                   RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED, RD_KAFKA_RESP_ERR__AUTHENTICATION,
                   RD_KAFKA_RESP_ERR__SSL}) {
    const KafkaFailure f = classifyKafkaError(err);
    EXPECT_EQ(f.disposition, Disposition::kRetry);
    EXPECT_TRUE(f.unhealthy);
    EXPECT_EQ(f.error_type, "auth");
  }
}

TEST(KafkaErrorsTest, DescriptionNamesTheError) {
  EXPECT_EQ(describeKafkaError(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE),
            "MSG_SIZE_TOO_LARGE (Broker: Message size too large)");
  EXPECT_THAT(describeKafkaError(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT), HasSubstr("_MSG_TIMED_OUT"));
}

TEST(KafkaStatsTest, ReadsQueueAndBrokerStates) {
  auto stats =
      parseKafkaStats(readFile(std::string(SIEM_TEST_DATA_DIR) + "/kafka/stats_brokers_down.json"));
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->queue_messages, 5);
  EXPECT_EQ(stats->queue_bytes, 5);
  ASSERT_EQ(stats->knownBrokers().size(), 3u);
  EXPECT_EQ(stats->brokersUp(), 0u);
  for (const auto* b : stats->knownBrokers()) {
    EXPECT_GE(b->node_id, 1);
    EXPECT_NE(b->state, "UP");
  }

  auto partly = parseKafkaStats(
      readFile(std::string(SIEM_TEST_DATA_DIR) + "/kafka/stats_one_broker_down.json"));
  ASSERT_TRUE(partly) << partly.error().message;
  EXPECT_EQ(partly->queue_messages, 0);
  EXPECT_EQ(partly->brokersUp(), 2u);
  int down = 0;
  for (const auto* b : partly->knownBrokers()) {
    if (b->node_id == 2) {
      EXPECT_EQ(b->state, "INIT");
      ++down;
    }
  }
  EXPECT_EQ(down, 1);
}

TEST(KafkaStatsTest, BootstrapEntriesCountUntilMetadataIsKnown) {
  auto stats = parseKafkaStats(
      R"({"msg_cnt":7,"msg_size":70,"brokers":{"h:1/bootstrap":{"nodeid":-1,"state":"CONNECT",)"
      R"("outbuf_msg_cnt":2,"waitresp_msg_cnt":3,"txretries":4,"txerrs":1}}})");
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->queue_messages, 7);
  ASSERT_EQ(stats->knownBrokers().size(), 1u);
  EXPECT_EQ(stats->knownBrokers()[0]->in_flight_messages, 5);
  EXPECT_EQ(stats->tx_retries, 4);
  EXPECT_EQ(stats->tx_errors, 1);
  EXPECT_EQ(stats->brokersUp(), 0u);
}

TEST(KafkaStatsTest, RejectsMalformedInput) {
  EXPECT_FALSE(parseKafkaStats("not json"));
  EXPECT_FALSE(parseKafkaStats("[1,2]"));
  EXPECT_FALSE(parseKafkaStats(R"({"brokers":[]})"));
}

}  // namespace
}  // namespace siem
