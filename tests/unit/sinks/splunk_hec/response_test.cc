#include "sinks/splunk_hec/response.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace siem {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr auto D = Disposition::kDelivered;
constexpr auto R = Disposition::kRetry;
constexpr auto X = Disposition::kRejected;

std::vector<Disposition> dispositions(const SendOutcome& o, std::size_t n) {
  std::vector<Disposition> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(o.at(i));
  return out;
}

TEST(HecReplyTest, ParsesEveryMember) {
  const auto r = parseHecReply(R"({"text":"Success","code":0,"ackId":42})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->code, 0);
  EXPECT_EQ(r->text, "Success");
  EXPECT_EQ(r->ack_id, 42u);
  EXPECT_FALSE(r->invalid_event_number);
  const auto bad =
      parseHecReply(R"({"text":"Invalid data format","code":6,"invalid-event-number":3})");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->invalid_event_number, 3);
  EXPECT_FALSE(parseHecReply("<html>502 Bad Gateway</html>"));
  EXPECT_FALSE(parseHecReply("[1,2]"));
}

TEST(HecClassifyTest, SuccessIsDelivered) {
  const auto o = classifyHecEventResponse(200, R"({"text":"Success","code":0})", 3, std::nullopt);
  EXPECT_THAT(dispositions(o, 3), ElementsAre(D, D, D));
}

// HEC stops at the first bad event: the ones before it are indexed and must not be resent.
TEST(HecClassifyTest, BadEventCodesDeliverThePrefixRejectTheEventRetryTheRest) {
  for (int code : {6, 12, 13, 15}) {
    const std::string body =
        R"({"text":"x","code":)" + std::to_string(code) + R"(,"invalid-event-number":2})";
    const auto o = classifyHecEventResponse(400, body, 5, std::nullopt);
    EXPECT_THAT(dispositions(o, 5), ElementsAre(D, D, X, R, R)) << code;
    EXPECT_EQ(o.error_type, "invalid_data");
    EXPECT_THAT(o.reasonAt(2), HasSubstr("code " + std::to_string(code)));
    EXPECT_THAT(o.reasonAt(2), HasSubstr("event 2"));
    EXPECT_FALSE(o.too_large);
  }
}

TEST(HecClassifyTest, BadEventAtTheStartRejectsOnlyThatEvent) {
  const auto o = classifyHecEventResponse(
      400, R"({"text":"Invalid data format","code":6,"invalid-event-number":0})", 3, std::nullopt);
  EXPECT_THAT(dispositions(o, 3), ElementsAre(X, R, R));
}

TEST(HecClassifyTest, BadEventWithoutIndexSplitsTheBatchUntilItStandsAlone) {
  const auto many =
      classifyHecEventResponse(400, R"({"text":"Invalid data format","code":6})", 4, std::nullopt);
  EXPECT_TRUE(many.too_large);
  EXPECT_EQ(many.error_type, "invalid_data");
  // An index outside the batch is no index.
  const auto outside = classifyHecEventResponse(
      400, R"({"text":"Invalid data format","code":6,"invalid-event-number":9})", 4, std::nullopt);
  EXPECT_TRUE(outside.too_large);
  const auto one =
      classifyHecEventResponse(400, R"({"text":"Invalid data format","code":6})", 1, std::nullopt);
  EXPECT_FALSE(one.too_large);
  EXPECT_EQ(one.disposition, X);
}

TEST(HecClassifyTest, BusyRetriesWithTheServersDelayAndKeepsWhatWasIndexed) {
  const auto whole =
      classifyHecEventResponse(503, R"({"text":"Server is busy","code":9})", 3, milliseconds(5000));
  EXPECT_THAT(dispositions(whole, 3), ElementsAre(R, R, R));
  EXPECT_EQ(whole.error_type, "hec_busy");
  EXPECT_EQ(whole.retry_after, milliseconds(5000));
  EXPECT_FALSE(whole.unhealthy);
  const auto part = classifyHecEventResponse(
      503, R"({"text":"Server is busy","code":9,"invalid-event-number":2})", 4, std::nullopt);
  EXPECT_THAT(dispositions(part, 4), ElementsAre(D, D, R, R));
  // Any 503 that says where it stopped.
  const auto proxy = classifyHecEventResponse(
      503, R"({"text":"queue full","code":99,"invalid-event-number":1})", 3, std::nullopt);
  EXPECT_THAT(dispositions(proxy, 3), ElementsAre(D, R, R));
}

TEST(HecClassifyTest, IncorrectIndexHoldsTheDataAndMarksTheSinkUnhealthy) {
  const auto o =
      classifyHecEventResponse(400, R"({"text":"Incorrect index","code":7})", 2, std::nullopt);
  EXPECT_THAT(dispositions(o, 2), ElementsAre(R, R));
  EXPECT_TRUE(o.unhealthy);
  EXPECT_EQ(o.error_type, "hec_index");
  const auto part = classifyHecEventResponse(
      400, R"({"text":"Incorrect index","code":7,"invalid-event-number":1})", 3, std::nullopt);
  EXPECT_THAT(dispositions(part, 3), ElementsAre(D, R, R));
  EXPECT_TRUE(part.unhealthy);
}

TEST(HecClassifyTest, TokenProblemsHoldTheDataAndMarkTheSinkUnhealthy) {
  const std::pair<int, int> cases[] = {{401, 2}, {401, 3}, {403, 1}, {403, 4}};
  for (const auto& [status, code] : cases) {
    const std::string body = R"({"text":"t","code":)" + std::to_string(code) + "}";
    const auto o = classifyHecEventResponse(status, body, 2, std::nullopt);
    EXPECT_THAT(dispositions(o, 2), ElementsAre(R, R)) << code;
    EXPECT_TRUE(o.unhealthy) << code;
    EXPECT_EQ(o.error_type, "auth");
    EXPECT_THAT(o.reason, HasSubstr("code " + std::to_string(code)));
  }
}

TEST(HecClassifyTest, ChannelProblemsAreAnOperatorsMatter) {
  for (int code : {10, 11}) {
    const std::string body = R"({"text":"t","code":)" + std::to_string(code) + "}";
    const auto o = classifyHecEventResponse(400, body, 1, std::nullopt);
    EXPECT_EQ(o.disposition, R);
    EXPECT_TRUE(o.unhealthy);
    EXPECT_EQ(o.error_type, "hec_channel");
  }
}

TEST(HecClassifyTest, GenericStatusesWithoutHecBodies) {
  const auto gateway =
      classifyHecEventResponse(502, "<html>502 Bad Gateway</html>", 2, std::nullopt);
  EXPECT_EQ(gateway.disposition, R);
  EXPECT_EQ(gateway.error_type, "http_5xx");
  EXPECT_THAT(gateway.reason, HasSubstr("502 Bad Gateway"));
  const auto limited = classifyHecEventResponse(429, "Too Many Requests", 2, milliseconds(3000));
  EXPECT_EQ(limited.error_type, "http_429");
  EXPECT_EQ(limited.retry_after, milliseconds(3000));
  const auto internal = classifyHecEventResponse(
      500, R"({"text":"Internal server error","code":8})", 2, std::nullopt);
  EXPECT_EQ(internal.disposition, R);
  EXPECT_EQ(internal.error_type, "http_5xx");
  EXPECT_TRUE(classifyHecEventResponse(413, "", 2, std::nullopt).too_large);
  const auto encoding = classifyHecEventResponse(415, "", 2, std::nullopt);
  EXPECT_EQ(encoding.disposition, R);
  EXPECT_TRUE(encoding.unhealthy);
  EXPECT_EQ(
      classifyHecEventResponse(400, R"({"text":"No data","code":5})", 1, std::nullopt).disposition,
      R);
  EXPECT_EQ(classifyHecEventResponse(400, R"({"text":"?","code":16})", 1, std::nullopt).disposition,
            X);
}

TEST(HecAckStatusTest, ParsesStringKeyedIds) {
  const auto acks =
      parseHecAckStatus(R"({"acks":{"0":true,"1":false,"18446744073709551615":true}})");
  ASSERT_TRUE(acks);
  EXPECT_THAT(*acks, ElementsAre(std::pair<std::uint64_t, bool>{0, true},
                                 std::pair<std::uint64_t, bool>{1, false},
                                 std::pair<std::uint64_t, bool>{18446744073709551615ull, true}));
  EXPECT_TRUE(parseHecAckStatus(R"({"acks":{}})"));
  EXPECT_FALSE(parseHecAckStatus(R"({"acks":[0,1]})"));
  EXPECT_FALSE(parseHecAckStatus(R"({"acks":{"x":true}})"));
  EXPECT_FALSE(parseHecAckStatus(R"({"acks":{"1":"yes"}})"));
  EXPECT_FALSE(parseHecAckStatus("not json"));
}

TEST(HecHealthTest, DescribesEveryHealthCode) {
  EXPECT_EQ(describeHecHealth(200, R"({"text":"HEC is healthy","code":17})"), "");
  EXPECT_THAT(describeHecHealth(503, R"({"text":"HEC is unhealthy, queues are full","code":18})"),
              HasSubstr("queues are full"));
  EXPECT_THAT(
      describeHecHealth(503, R"({"text":"HEC is unhealthy, ack service unavailable","code":19})"),
      HasSubstr("code 19"));
  EXPECT_THAT(describeHecHealth(400, R"({"text":"Invalid token","code":21})"),
              HasSubstr("not known"));
  EXPECT_THAT(describeHecHealth(400, R"({"text":"Token disabled","code":22})"),
              HasSubstr("disabled"));
  EXPECT_EQ(describeHecHealth(404, "Not Found"), "");
  EXPECT_THAT(describeHecHealth(502, "bad gateway"), HasSubstr("HTTP 502"));
}

}  // namespace
}  // namespace siem
