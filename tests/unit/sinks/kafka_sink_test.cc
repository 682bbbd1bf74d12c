// KafkaSink against librdkafka's mock cluster (real Kafka protocol on loopback, in this process):
// delivery only on delivery reports, per-message classification, fatal-error recovery, queue
// full, shutdown purge.
#include "sinks/kafka/sink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>
#include <set>

#include "tests/unit/sinks/kafka_test_util.h"

namespace siem {
namespace {

using siem::testing::MockKafka;
using ::testing::Each;
using ::testing::HasSubstr;

const SourceInfo kSource{"openai", "openai_audit_logs", "", 0};
constexpr auto kWait = std::chrono::seconds(30);

EventPtr event(const std::string& id, std::string raw = {}) {
  auto e = std::make_shared<Event>();
  e->id = id;
  e->type = "login.succeeded";
  e->raw = raw.empty() ? R"({"id":")" + id + R"("})" : std::move(raw);
  e->source = &kSource;
  return e;
}

BatchPtr batchOf(std::size_t n, const std::string& prefix = "id-") {
  auto b = std::make_shared<Batch>();
  for (std::size_t i = 0; i < n; ++i) b->events.push_back(event(prefix + std::to_string(i)));
  return b;
}

class KafkaSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { mock_.createTopic("audit"); }

  std::unique_ptr<KafkaSink> makeSink(std::vector<std::pair<std::string, std::string>> extra = {},
                                      std::uint32_t message_timeout_ms = 10'000,
                                      const std::string& topic = "audit") {
    KafkaSinkOptions o;
    o.brokers = {mock_.bootstrap()};
    o.topic = topic;
    o.message_timeout_ms = message_timeout_ms;
    o.librdkafka = std::move(extra);
    o.librdkafka.emplace_back("log_level", "3");
    KafkaRecordEncoder encoder(*FieldTemplate::parse(topic), FieldTemplate::parse("{id}").value(),
                               true, Encoding::kRaw);
    auto sink =
        std::make_unique<KafkaSink>("k", o, std::move(encoder), nullptr, std::chrono::seconds(300));
    sink->start();
    return sink;
  }

  // Sends and waits (bounded) for the single callback.
  static SendOutcome sendAndWait(KafkaSink& sink, BatchPtr batch) {
    auto promise = std::make_shared<std::promise<SendOutcome>>();
    auto future = promise->get_future();
    auto calls = std::make_shared<std::atomic<int>>(0);
    sink.send(std::move(batch), [promise, calls](SendOutcome o) {
      if (calls->fetch_add(1) == 0) promise->set_value(std::move(o));
    });
    if (future.wait_for(kWait) != std::future_status::ready)
      throw std::runtime_error("no send callback in time");
    EXPECT_EQ(calls->load(), 1);
    return future.get();
  }

  // Sends again what was not delivered, like the driver, until everything is or `timeout` passes.
  static bool sendUntilDelivered(KafkaSink& sink, BatchPtr batch,
                                 std::chrono::seconds timeout = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const auto o = sendAndWait(sink, batch);
      auto rest = std::make_shared<Batch>();
      for (std::size_t i = 0; i < batch->size(); ++i)
        if (o.at(i) != Disposition::kDelivered) rest->events.push_back(batch->events[i]);
      if (rest->events.empty()) return true;
      batch = rest;
    }
    return false;
  }

  static std::vector<Disposition> dispositions(const SendOutcome& o, std::size_t n) {
    std::vector<Disposition> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(o.at(i));
    return out;
  }

  MockKafka mock_;
};

TEST_F(KafkaSinkTest, DeliversWithIdKeysAndHeaders) {
  auto sink = makeSink();
  const auto o = sendAndWait(*sink, batchOf(200));
  EXPECT_THAT(dispositions(o, 200), Each(Disposition::kDelivered));
  sink->stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));

  const auto messages = siem::testing::consumeAll(mock_.bootstrap(), "audit", 4);
  ASSERT_EQ(messages.size(), 200u);
  std::set<std::string> keys;
  std::set<std::int32_t> partitions;
  for (const auto& m : messages) {
    ASSERT_TRUE(m.has_key);
    EXPECT_EQ(m.value, R"({"id":")" + m.key + R"("})");
    EXPECT_EQ(m.headers.at("event_type"), "login.succeeded");
    EXPECT_EQ(m.headers.at("source_id"), "openai");
    EXPECT_EQ(m.headers.at("encoding"), "raw");
    keys.insert(m.key);
    partitions.insert(m.partition);
  }
  EXPECT_EQ(keys.size(), 200u);
  EXPECT_GT(partitions.size(), 1u);  // keys spread over partitions
}

TEST_F(KafkaSinkTest, RetriableBrokerErrorsAreRetriedByLibrdkafkaWithoutDuplicates) {
  auto sink = makeSink();
  rd_kafka_mock_push_request_errors(
      mock_.cluster(), MockKafka::kProduce, 4, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
      RD_KAFKA_RESP_ERR__TRANSPORT);
  const auto o = sendAndWait(*sink, batchOf(50));
  EXPECT_THAT(dispositions(o, 50), Each(Disposition::kDelivered));
  sink->stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  const auto messages = siem::testing::consumeAll(mock_.bootstrap(), "audit", 4);
  std::set<std::string> keys;
  for (const auto& m : messages) keys.insert(m.key);
  EXPECT_EQ(keys.size(), 50u);
  EXPECT_EQ(messages.size(), 50u) << "duplicates despite idempotence";
}

TEST_F(KafkaSinkTest, OversizedMessageIsRejectedAloneWithTheErrorName) {
  auto sink = makeSink({{"message.max.bytes", "2000"}});
  auto batch = std::make_shared<Batch>();
  for (int i = 0; i < 5; ++i) {
    batch->events.push_back(
        i == 2 ? event("big", R"({"id":"big","pad":")" + std::string(5000, 'x') + "\"}")
               : event("small-" + std::to_string(i)));
  }
  const auto o = sendAndWait(*sink, batch);
  EXPECT_EQ(o.at(0), Disposition::kDelivered);
  EXPECT_EQ(o.at(1), Disposition::kDelivered);
  EXPECT_EQ(o.at(2), Disposition::kRejected);
  EXPECT_EQ(o.at(3), Disposition::kDelivered);
  EXPECT_EQ(o.at(4), Disposition::kDelivered);
  EXPECT_THAT(o.reasonAt(2), HasSubstr("MSG_SIZE_TOO_LARGE"));
  EXPECT_EQ(o.error_type, "too_large");
}

TEST_F(KafkaSinkTest, BrokerSidePermanentErrorIsRejected) {
  auto sink = makeSink({{"topic.metadata.refresh.interval.ms", "500"}});
  // Warm up so the injected errors hit produce requests, not the producer's start.
  ASSERT_EQ(sendAndWait(*sink, batchOf(1, "warm-")).at(0), Disposition::kDelivered);
  std::vector<rd_kafka_resp_err_t> errors(50, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
  rd_kafka_mock_push_request_errors_array(mock_.cluster(), MockKafka::kProduce, errors.size(),
                                          errors.data());
  const auto o = sendAndWait(*sink, batchOf(10));
  rd_kafka_mock_clear_request_errors(mock_.cluster(), MockKafka::kProduce);
  EXPECT_THAT(dispositions(o, 10), Each(Disposition::kRejected));
  EXPECT_THAT(o.reasonAt(0), HasSubstr("TOPIC_AUTHORIZATION_FAILED"));
  EXPECT_EQ(o.error_type, "authorization");
  // Once the cluster allows the topic again (librdkafka learns it from its next metadata
  // refresh), the same producer delivers.
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  bool delivered = false;
  for (int i = 0; !delivered && std::chrono::steady_clock::now() < deadline; ++i)
    delivered = sendAndWait(*sink, batchOf(1, "after-" + std::to_string(i) + "-")).at(0) ==
                Disposition::kDelivered;
  EXPECT_TRUE(delivered);
}

TEST_F(KafkaSinkTest, BrokerSideMessageTooLargeIsRejectedAndLeavesTheTopicUsable) {
  auto sink = makeSink();
  ASSERT_EQ(sendAndWait(*sink, batchOf(1, "warm-")).at(0), Disposition::kDelivered);
  std::vector<rd_kafka_resp_err_t> errors(50, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  rd_kafka_mock_push_request_errors_array(mock_.cluster(), MockKafka::kProduce, errors.size(),
                                          errors.data());
  const auto o = sendAndWait(*sink, batchOf(10));
  rd_kafka_mock_clear_request_errors(mock_.cluster(), MockKafka::kProduce);
  EXPECT_THAT(dispositions(o, 10), Each(Disposition::kRejected));
  EXPECT_THAT(o.reasonAt(3), HasSubstr("MSG_SIZE_TOO_LARGE"));
  EXPECT_THAT(dispositions(sendAndWait(*sink, batchOf(10, "after-")), 10),
              Each(Disposition::kDelivered));
}

TEST_F(KafkaSinkTest, TimeoutWhileBrokersAreDownIsRetriedThenDelivered) {
  auto sink = makeSink({}, 1000);
  ASSERT_EQ(sendAndWait(*sink, batchOf(1, "warm-")).at(0), Disposition::kDelivered);
  rd_kafka_mock_broker_set_down(mock_.cluster(), -1);
  auto batch = batchOf(20);
  const auto o = sendAndWait(*sink, batch);
  EXPECT_THAT(dispositions(o, 20), Each(Disposition::kRetry));
  EXPECT_EQ(o.error_type, "timeout");
  EXPECT_THAT(o.reason, HasSubstr("20 of 20 Kafka message(s) not delivered"));
  rd_kafka_mock_broker_set_up(mock_.cluster(), -1);
  EXPECT_TRUE(sendUntilDelivered(*sink, batch));
}

TEST_F(KafkaSinkTest, FatalErrorReplacesTheProducerAndRetriesItsMessages) {
  auto sink = makeSink({}, 60'000);
  ASSERT_EQ(sendAndWait(*sink, batchOf(1, "warm-")).at(0), Disposition::kDelivered);
  EXPECT_EQ(sink->producersCreated(), 1u);
  rd_kafka_mock_broker_set_down(mock_.cluster(), -1);  // keep the next batch queued

  auto promise = std::make_shared<std::promise<SendOutcome>>();
  auto future = promise->get_future();
  auto batch = batchOf(30);
  sink->send(batch, [promise](SendOutcome o) { promise->set_value(std::move(o)); });
  ASSERT_TRUE(sink->raiseFatalErrorForTesting());
  ASSERT_EQ(future.wait_for(kWait), std::future_status::ready);
  const auto o = future.get();
  EXPECT_THAT(dispositions(o, 30), Each(Disposition::kRetry));

  rd_kafka_mock_broker_set_up(mock_.cluster(), -1);
  // Sent again like the driver does (a send racing the replacement is handed back at once).
  EXPECT_TRUE(sendUntilDelivered(*sink, batch));
  EXPECT_EQ(sink->producersCreated(), 2u);
  sink->stop(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  const auto messages = siem::testing::consumeAll(mock_.bootstrap(), "audit", 4);
  std::set<std::string> keys;
  for (const auto& m : messages) keys.insert(m.key);
  EXPECT_EQ(keys.size(), 31u);
}

TEST_F(KafkaSinkTest, StopPurgesUndeliveredMessagesAsRetries) {
  auto sink = makeSink({}, 60'000);
  ASSERT_EQ(sendAndWait(*sink, batchOf(1, "warm-")).at(0), Disposition::kDelivered);
  rd_kafka_mock_broker_set_down(mock_.cluster(), -1);
  std::atomic<int> calls{0};
  SendOutcome got;
  sink->send(batchOf(25), [&](SendOutcome o) {
    got = std::move(o);
    calls.fetch_add(1);
  });
  const auto started = std::chrono::steady_clock::now();
  sink->stop(started + std::chrono::milliseconds(300));
  // The callback ran before stop() returned, once, and reported nothing as delivered.
  EXPECT_EQ(calls.load(), 1);
  EXPECT_THAT(dispositions(got, 25), Each(Disposition::kRetry));
  EXPECT_EQ(got.error_type, "purged");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  // After stop, sends are refused (retried), never lost.
  EXPECT_EQ(sendAndWait(*sink, batchOf(1, "late-")).at(0), Disposition::kRetry);
}

TEST_F(KafkaSinkTest, QueueFullWaitsBrieflyThenHandsTheRestBack) {
  auto sink = makeSink({{"queue.buffering.max.messages", "10"}}, 2000);
  rd_kafka_mock_broker_set_down(mock_.cluster(), -1);
  const auto started = std::chrono::steady_clock::now();
  const auto o = sendAndWait(*sink, batchOf(40));
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  EXPECT_THAT(dispositions(o, 40), Each(Disposition::kRetry));
  for (std::size_t i = 10; i < 40; ++i) EXPECT_THAT(o.reasonAt(i), HasSubstr("_QUEUE_FULL"));
  for (std::size_t i = 0; i < 10; ++i) EXPECT_THAT(o.reasonAt(i), HasSubstr("_MSG_TIMED_OUT"));
}

TEST_F(KafkaSinkTest, UnroutableEventIsRejectedOthersDelivered) {
  mock_.createTopic("proj_1");
  auto sink = makeSink({}, 10'000, "{project_id}");
  auto routed = std::make_shared<Event>(*event("a"));
  routed->project_id = "proj_1";
  auto batch = std::make_shared<Batch>();
  batch->events = {routed, event("b")};  // "b" has no project: its topic renders empty
  const auto o = sendAndWait(*sink, batch);
  EXPECT_EQ(o.at(0), Disposition::kDelivered);
  EXPECT_EQ(o.at(1), Disposition::kRejected);
  EXPECT_THAT(o.reasonAt(1), HasSubstr("invalid topic name"));
}

TEST_F(KafkaSinkTest, NoProducerMeansRetryAndAHealthProblem) {
  KafkaSinkOptions o;
  o.brokers = {mock_.bootstrap()};
  o.topic = "audit";
  // Accepted by the configuration, refused when the producer is created.
  o.librdkafka = {
      {"ssl.ca.location", "/nonexistent/ca.pem"}, {"security.protocol", "ssl"}, {"log_level", "0"}};
  KafkaSink sink(
      "k", o,
      KafkaRecordEncoder(*FieldTemplate::parse("audit"), std::nullopt, false, Encoding::kRaw),
      nullptr, std::chrono::seconds(300));
  sink.start();
  EXPECT_THAT(sink.healthProblem(), HasSubstr("cannot create the Kafka producer"));
  const auto out = sendAndWait(sink, batchOf(3));
  EXPECT_EQ(out.disposition, Disposition::kRetry);
  EXPECT_TRUE(out.unhealthy);
  sink.stop(std::chrono::steady_clock::now());
}

}  // namespace
}  // namespace siem
