#include "agent/sources/openai/page_parser.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>

namespace siem {
namespace {

// The two events of the API reference's list example, made valid JSON (the published example has
// trailing commas), with unknown session fields kept.
constexpr std::string_view kRealPage = R"({
  "object": "list",
  "data": [
    {
      "id": "audit_log-xxx_yyyymmdd",
      "type": "project.archived",
      "effective_at": 1722461446,
      "actor": {
        "type": "api_key",
        "api_key": {
          "type": "user",
          "user": { "id": "user-xxx", "email": "user@example.com" }
        }
      },
      "project.archived": { "id": "proj_abc" }
    },
    {
      "id": "audit_log-yyy__20240101",
      "type": "api_key.updated",
      "effective_at": 1720804190,
      "project": { "id": "proj_def", "name": "Default" },
      "actor": {
        "type": "session",
        "session": {
          "user": { "id": "user-yyy", "email": "admin@example.com" },
          "ip_address": "127.0.0.1",
          "user_agent": "Mozilla/5.0",
          "ja3": "a497151ce4338a12c4418c44d375173e",
          "ip_address_details": { "country": "US", "asn": "1234" }
        }
      },
      "api_key.updated": { "id": "key_xxxx", "data": { "scopes": ["resource_2.operation_2"] } }
    }
  ],
  "first_id": "audit_log-xxx_yyyymmdd",
  "last_id": "audit_log-yyy__20240101",
  "has_more": true
}
)";

class PageParserTest : public ::testing::Test {
 protected:
  Result<AuditLogPage> parse(std::string_view body) { return parseAuditLogPage(body, parser_); }
  std::string errorOf(std::string_view body) {
    auto page = parse(body);
    return page ? std::string("<parsed>") : page.error().message;
  }
  simdjson::ondemand::parser parser_;
};

TEST_F(PageParserTest, RealShapeFillsEveryField) {
  auto page = parse(kRealPage);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->events.size(), 2u);
  EXPECT_TRUE(page->has_more);
  EXPECT_EQ(page->first_id, "audit_log-xxx_yyyymmdd");
  EXPECT_EQ(page->last_id, "audit_log-yyy__20240101");
  EXPECT_FALSE(page->utf8_repaired);

  const Event& a = page->events[0];
  EXPECT_EQ(a.id, "audit_log-xxx_yyyymmdd");
  EXPECT_EQ(a.type, "project.archived");
  EXPECT_EQ(a.effective_at, 1722461446);
  EXPECT_EQ(a.outcome, Outcome::kSuccess);
  EXPECT_EQ(a.actor_type, "api_key");
  EXPECT_EQ(a.actor_id, "user-xxx");
  EXPECT_EQ(a.actor_email, "user@example.com");
  EXPECT_EQ(a.project_id, "");

  const Event& b = page->events[1];
  EXPECT_EQ(b.type, "api_key.updated");
  EXPECT_EQ(b.actor_type, "session");
  EXPECT_EQ(b.actor_id, "user-yyy");
  EXPECT_EQ(b.actor_email, "admin@example.com");
  EXPECT_EQ(b.project_id, "proj_def");
}

TEST_F(PageParserTest, RawIsTheExactObjectBytes) {
  auto page = parse(kRealPage);
  ASSERT_TRUE(page);
  for (const Event& e : page->events) {
    ASSERT_FALSE(e.raw.empty());
    EXPECT_EQ(e.raw.front(), '{');
    EXPECT_EQ(e.raw.back(), '}');
    // A verbatim slice of the body: unknown fields, spacing and key order untouched.
    EXPECT_NE(kRealPage.find(e.raw), std::string_view::npos) << e.raw;
  }
  EXPECT_NE(page->events[1].raw.find(R"("ja3": "a497151ce4338a12c4418c44d375173e")"),
            std::string::npos);
  EXPECT_NE(page->events[1].raw.find(R"("ip_address_details": { "country": "US", "asn": "1234" })"),
            std::string::npos);
  // Each event parses on its own to the same fields.
  auto again = parseAuditLogObject(page->events[1].raw, parser_);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->id, page->events[1].id);
  EXPECT_EQ(again->actor_email, page->events[1].actor_email);
  EXPECT_EQ(again->raw, page->events[1].raw);
}

TEST_F(PageParserTest, RawKeepsZeroedParserPaddingForTheRenderer) {
  auto page = parse(kRealPage);
  ASSERT_TRUE(page);
  for (const Event& e : page->events) {
    ASSERT_GE(e.raw.capacity(), e.raw.size() + simdjson::SIMDJSON_PADDING) << e.id;
    // Only the terminator lies within size()+1; the padding behind it was written as zeros.
    const char* tail = e.raw.data() + e.raw.size();
    for (std::size_t i = 0; i < simdjson::SIMDJSON_PADDING; ++i) ASSERT_EQ(tail[i], '\0') << i;
  }
}

TEST_F(PageParserTest, ServiceAccountAndKeyOnlyActors) {
  auto page = parse(R"({"object":"list","has_more":false,"data":[
    {"id":"a1","type":"service_account.created","effective_at":10,
     "actor":{"type":"api_key","api_key":{"id":"key_sa","type":"service_account",
              "service_account":{"id":"svc_1"}}}},
    {"id":"a2","type":"api_key.deleted","effective_at":11,
     "actor":{"api_key":{"id":"key_only"},"type":"api_key"}}]})");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->events[0].actor_id, "svc_1");
  EXPECT_EQ(page->events[0].actor_email, "");
  EXPECT_EQ(page->events[1].actor_id, "key_only");
  EXPECT_EQ(page->events[1].actor_type, "api_key");
}

TEST_F(PageParserTest, NullOrMissingActorAndNullIds) {
  auto page = parse(R"({"object":"list","data":[
    {"id":"n1","type":"login.failed","effective_at":5,"actor":null},
    {"id":"n2","type":"logout.succeeded","effective_at":6}],
    "first_id":null,"last_id":null,"has_more":false})");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_FALSE(page->first_id);
  EXPECT_FALSE(page->last_id);
  EXPECT_EQ(page->events[0].actor_type, "");
  EXPECT_EQ(page->events[0].actor_id, "");
  EXPECT_EQ(page->events[0].outcome, Outcome::kFailure);
  EXPECT_EQ(page->events[1].outcome, Outcome::kSuccess);
}

TEST_F(PageParserTest, EmptyPage) {
  auto page = parse(R"({"object":"list","data":[],"has_more":false})");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_TRUE(page->events.empty());
  EXPECT_FALSE(page->has_more);
}

TEST_F(PageParserTest, SeedShapeMapsOntoTheSameFields) {
  auto page = parse(R"({"data":[
    {"id":"log_1","event":"api_key.created","created_at":1720000000,
     "actor":{"type":"user","id":"user_1","name":"ann@example.com"},
     "target":{"type":"api_key","id":"key_9"},"success":true},
    {"id":"log_2","event":"login","created_at":1720000001,
     "actor":{"type":"user","id":"user_2","name":"Bob"},"success":false,"project_id":"proj_7"}],
    "has_more":false})");
  ASSERT_TRUE(page) << page.error().message;
  const Event& a = page->events[0];
  EXPECT_EQ(a.type, "api_key.created");
  EXPECT_EQ(a.effective_at, 1720000000);
  EXPECT_EQ(a.actor_type, "user");
  EXPECT_EQ(a.actor_id, "user_1");
  EXPECT_EQ(a.actor_email, "ann@example.com");
  EXPECT_EQ(a.outcome, Outcome::kSuccess);
  const Event& b = page->events[1];
  EXPECT_EQ(b.outcome, Outcome::kFailure);
  EXPECT_EQ(b.actor_email, "");  // a display name is not an email
  EXPECT_EQ(b.project_id, "proj_7");
}

TEST_F(PageParserTest, RealFieldsWinOverSeedFieldsInAnyOrder) {
  auto page = parse(R"({"has_more":false,"data":[
    {"created_at":1,"event":"seed.type","effective_at":2,"type":"real.type","id":"x"}]})");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->events[0].type, "real.type");
  EXPECT_EQ(page->events[0].effective_at, 2);
}

TEST_F(PageParserTest, UnknownTypeAndPayloadPassThrough) {
  constexpr std::string_view kBody = R"({"data":[{"id":"f1","type":"tenant.future.thing",)"
                                     R"("effective_at":7,"tenant.future.thing":{"deep":[1,)"
                                     R"({"x":null},"\u00e9"]},"brand_new_field":true}],)"
                                     R"("has_more":false})";
  auto page = parse(kBody);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->events[0].type, "tenant.future.thing");
  EXPECT_EQ(page->events[0].raw,
            R"({"id":"f1","type":"tenant.future.thing","effective_at":7,"tenant.future.thing":)"
            R"({"deep":[1,{"x":null},"\u00e9"]},"brand_new_field":true})");
}

TEST_F(PageParserTest, EscapedStringsAreUnescapedInFieldsButRawIsVerbatim) {
  auto page =
      parse(R"({"data":[{"id":"a\u0042c","type":"x\"y","effective_at":1}],"has_more":false})");
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_EQ(page->events[0].id, "aBc");
  EXPECT_EQ(page->events[0].type, "x\"y");
  EXPECT_EQ(page->events[0].raw, R"({"id":"a\u0042c","type":"x\"y","effective_at":1})");
}

TEST_F(PageParserTest, ManyEventsKeepPageOrder) {
  std::string body = R"({"object":"list","data":[)";
  for (int i = 0; i < 100; ++i) {
    if (i > 0) body.append(",");
    body.append(
        fmt::format(R"({{"id":"e{}","type":"user.added","effective_at":{}}})", i, 1000 - i));
  }
  body.append(R"(],"has_more":true,"last_id":"e99"})");
  auto page = parse(body);
  ASSERT_TRUE(page) << page.error().message;
  ASSERT_EQ(page->events.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(page->events[i].id, fmt::format("e{}", i));
    EXPECT_EQ(page->events[i].effective_at, 1000 - i);
  }
}

TEST_F(PageParserTest, MalformedPagesSayWhatIsWrong) {
  struct Case {
    std::string_view body;
    std::string_view expected;
  };
  const Case cases[] = {
      {"<html>502 Bad Gateway</html>", "not a JSON object"},
      {"", "not valid JSON"},
      {R"([{"id":"a"}])", "not a JSON object"},
      {R"({"has_more":false})", "`data` is missing"},
      {R"({"data":{"id":"a"},"has_more":false})", "`data` is not an array"},
      {R"({"data":["a"],"has_more":false})", "data[0] is not an object"},
      {R"({"data":[{"type":"t","effective_at":1}],"has_more":false})", "data[0]: `id` is missing"},
      {R"({"data":[{"id":7,"type":"t","effective_at":1}],"has_more":false})",
       "`id` is not a string"},
      {R"({"data":[{"id":"","type":"t","effective_at":1}],"has_more":false})", "`id` is empty"},
      {R"({"data":[{"id":"a","type":"t","effective_at":1},{"id":"b","effective_at":1}],)"
       R"("has_more":false})",
       "data[1] (id b): `type` is missing"},
      {R"({"data":[{"id":"a","type":["t"],"effective_at":1}],"has_more":false})",
       "`type` is not a string"},
      {R"({"data":[{"id":"a","type":"t"}],"has_more":false})", "`effective_at` is missing"},
      {R"({"data":[{"id":"a","type":"t","effective_at":"1720000000"}],"has_more":false})",
       "`effective_at` is not an integer"},
      {R"({"data":[{"id":"a","type":"t","effective_at":1.5}],"has_more":false})",
       "`effective_at` is not an integer"},
      {R"({"data":[],"has_more":"false"})", "`has_more` is not a boolean"},
      {R"({"data":[]})", "`has_more` is missing"},
      {R"({"data":[],"has_more":true,"last_id":12})", "`last_id` is not a string or null"},
      // The API reference's own example has trailing commas: rejected, whatever the wording.
      {R"({"data":[{"id":"a","type":"t","effective_at":1},],"has_more":false})",
       "data[1] is not an object"},
      {R"({"data":[{"id":"a","type":"t","effective_at":1}],"has_more":false} {"x":1})",
       "content after"},
      {R"({"data":[{"id":"a","type":"t","effective_at":1}],"has_more":fal)", "not valid JSON"},
  };
  for (const auto& c : cases) {
    std::string error = errorOf(c.body);
    EXPECT_NE(error.find(c.expected), std::string::npos)
        << "body: " << c.body << "\nerror: " << error;
  }
}

TEST_F(PageParserTest, ErrorsNeverEchoTheBody) {
  std::string error = errorOf(R"({"data":[{"id":"a","type":"t","effective_at":"SECRET"}]})");
  EXPECT_EQ(error.find("SECRET"), std::string::npos) << error;
}

TEST_F(PageParserTest, InvalidUtf8IsRepairedAndTheEventKept) {
  std::string body =
      "{\"data\":[{\"id\":\"u1\",\"type\":\"user.updated\",\"effective_at\":3,"
      "\"actor\":{\"type\":\"session\",\"session\":{\"user\":{\"id\":\"user-\xff\","
      "\"email\":\"a@b.c\"}}}}],\"has_more\":false}";
  auto page = parse(body);
  ASSERT_TRUE(page) << page.error().message;
  EXPECT_TRUE(page->utf8_repaired);
  ASSERT_EQ(page->events.size(), 1u);
  EXPECT_EQ(page->events[0].actor_id, "user-\xEF\xBF\xBD");
  EXPECT_NE(page->events[0].raw.find("user-\xEF\xBF\xBD"), std::string::npos);
  EXPECT_EQ(page->events[0].raw.find('\xff'), std::string::npos);
}

TEST(RepairUtf8Test, ReplacesEachInvalidSequenceOnce) {
  std::string valid = "plain ascii, caf\xC3\xA9, \xE2\x82\xAC, \xF0\x9F\x98\x80";
  std::string copy = valid;
  EXPECT_EQ(repairUtf8(copy), 0u);
  EXPECT_EQ(copy, valid);

  struct Case {
    std::string in;
    std::string out;
    std::size_t replaced;
  };
#define SIEM_FFFD "\xEF\xBF\xBD"
  const Case cases[] = {
      {"a\xFF"
       "b",
       "a" SIEM_FFFD "b", 1},
      {"\xC0\x80", SIEM_FFFD SIEM_FFFD, 2},                // overlong NUL: both bytes invalid
      {"\xED\xA0\x80", SIEM_FFFD SIEM_FFFD SIEM_FFFD, 3},  // UTF-16 surrogate
      {"\xE2\x82", SIEM_FFFD, 1},                          // truncated at the end
      {"\xE2\x82"
       "x",
       SIEM_FFFD "x", 1},                                                // truncated, then ASCII
      {"\xF4\x90\x80\x80", SIEM_FFFD SIEM_FFFD SIEM_FFFD SIEM_FFFD, 4},  // above U+10FFFF
      {"\xF0\x9F\x98", SIEM_FFFD, 1},
  };
#undef SIEM_FFFD
  for (const auto& c : cases) {
    std::string s = c.in;
    EXPECT_EQ(repairUtf8(s), c.replaced);
    EXPECT_EQ(s, c.out);
  }
}

TEST(OutcomeTest, FailedSuffixAndSeedSuccessFlag) {
  EXPECT_EQ(outcomeOf("login.failed", std::nullopt), Outcome::kFailure);
  EXPECT_EQ(outcomeOf("logout.failed", std::nullopt), Outcome::kFailure);
  EXPECT_EQ(outcomeOf("login.succeeded", std::nullopt), Outcome::kSuccess);
  EXPECT_EQ(outcomeOf("failed", std::nullopt), Outcome::kSuccess);
  EXPECT_EQ(outcomeOf("api_key.created", false), Outcome::kFailure);
  EXPECT_EQ(outcomeOf("login.failed", true), Outcome::kSuccess);
}

TEST(ParseAuditLogObjectTest, OneObjectWithSurroundingWhitespace) {
  simdjson::ondemand::parser parser;
  auto event = parseAuditLogObject(
      "  {\"id\":\"o1\",\"type\":\"invite.sent\",\"effective_at\":9}\n", parser);
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->raw, R"({"id":"o1","type":"invite.sent","effective_at":9})");
  auto bad = parseAuditLogObject(R"({"type":"invite.sent","effective_at":9})", parser);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "object: `id` is missing");
}

}  // namespace
}  // namespace siem
