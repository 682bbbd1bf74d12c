#include "agent/schema/audit_log.h"
#include "agent/schema/render.h"

#include <gtest/gtest.h>

#include <string>

namespace siem {
namespace {

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element e;
  EXPECT_FALSE(parser.parse(json).get(e)) << json;
  return e;
}

TEST(AuditLogValues, NumbersMayArriveAsStrings) {
  simdjson::dom::parser p;
  EXPECT_DOUBLE_EQ(*numberLike(parse(p, R"("37.77490")")), 37.7749);
  EXPECT_DOUBLE_EQ(*numberLike(parse(p, R"(" -122.4194 ")")), -122.4194);
  EXPECT_DOUBLE_EQ(*numberLike(parse(p, "52")), 52.0);
  EXPECT_DOUBLE_EQ(*numberLike(parse(p, "13.405")), 13.405);
  EXPECT_FALSE(numberLike(parse(p, R"("north")")));
  EXPECT_FALSE(numberLike(parse(p, R"("12abc")")));
  EXPECT_FALSE(numberLike(parse(p, R"("")")));
  EXPECT_FALSE(numberLike(parse(p, "null")));
  EXPECT_FALSE(numberLike(parse(p, R"("nan")")));
}

TEST(AuditLogValues, AsNumbers) {
  simdjson::dom::parser p;
  EXPECT_EQ(*asnLike(parse(p, R"("1234")")), 1234);
  EXPECT_EQ(*asnLike(parse(p, R"("AS16276")")), 16276);
  EXPECT_EQ(*asnLike(parse(p, "3320")), 3320);
  EXPECT_EQ(*asnLike(parse(p, "3320.0")), 3320);
  EXPECT_FALSE(asnLike(parse(p, R"("ASX")")));
  EXPECT_FALSE(asnLike(parse(p, "-1")));
  EXPECT_FALSE(asnLike(parse(p, "1.5")));
}

TEST(AuditLogValues, IpAddresses) {
  EXPECT_TRUE(isIpAddress("203.0.113.7"));
  EXPECT_TRUE(isIpAddress("2001:db8::42"));
  EXPECT_TRUE(isIpAddress("::ffff:192.0.2.1"));
  EXPECT_FALSE(isIpAddress("203.0.113.256"));
  EXPECT_FALSE(isIpAddress("not-an-ip"));
  EXPECT_FALSE(isIpAddress(""));
  EXPECT_FALSE(isIpAddress(std::string(41, '1')));
}

TEST(AuditLogValues, EmailAddressesFollowTheOcsfPattern) {
  EXPECT_TRUE(isEmailAddress("alice@example.com"));
  EXPECT_TRUE(isEmailAddress("first.last+tag@sub.example.co.uk"));
  EXPECT_TRUE(isEmailAddress("o'neil@example.com"));
  EXPECT_FALSE(isEmailAddress("not-an-email"));
  EXPECT_FALSE(isEmailAddress("@example.com"));
  EXPECT_FALSE(isEmailAddress("a@localhost"));
  EXPECT_FALSE(isEmailAddress("a@.example.com"));
  EXPECT_FALSE(isEmailAddress("a b@example.com"));
  EXPECT_FALSE(isEmailAddress("a@b@example.com"));
  EXPECT_TRUE(isEmailAddress("a@example.com."));  // the pattern allows a trailing dot
}

TEST(AuditLogValues, Rfc3339RoundTrip) {
  EXPECT_EQ(*parseRfc3339Ms("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(*parseRfc3339Ms("2024-07-12T17:08:10.123Z"), 1720804090123);
  EXPECT_EQ(*parseRfc3339Ms("2024-07-12T19:08:10+02:00"), 1720804090000);
  EXPECT_EQ(*parseRfc3339Ms("2024-07-12 17:08:10.5"), 1720804090500);
  EXPECT_EQ(*parseRfc3339Ms("2000-02-29T12:00:00Z"), 951825600000);
  EXPECT_FALSE(parseRfc3339Ms("2024-13-12T17:08:10Z"));
  EXPECT_FALSE(parseRfc3339Ms("not a time"));
  EXPECT_FALSE(parseRfc3339Ms("2024-07-12T17:08:10Zjunk"));
  std::array<char, 24> buf;
  EXPECT_EQ(formatRfc3339Ms(1720804090123, buf), "2024-07-12T17:08:10.123Z");
  EXPECT_EQ(formatRfc3339Ms(951825600000, buf), "2000-02-29T12:00:00.000Z");
  EXPECT_EQ(formatRfc3339Ms(-5, buf), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(formatRfc3339Ms(INT64_MAX, buf), "9999-12-31T23:59:59.999Z");
}

TEST(AuditLogValues, StringPaths) {
  simdjson::dom::parser p;
  const auto obj =
      parse(p, R"({"data":{"name":"","title":"T"},"name":"n"})").get_object().value_unsafe();
  std::string_view matched;
  EXPECT_EQ(stringAtPath(obj, "data.name|data.title", &matched), "T");
  EXPECT_EQ(matched, "data.title");
  EXPECT_EQ(stringAtPath(obj, "missing.x|name", &matched), "n");
  EXPECT_EQ(matched, "name");
  EXPECT_EQ(stringAtPath(obj, "data"), "");
}

TEST(AuditLogValues, SameKeyComparesEveryByte) {
  const std::string base = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (std::size_t n = 0; n <= base.size(); ++n) {
    const std::string a = base.substr(0, n);
    EXPECT_TRUE(sameKey(a, std::string(a))) << n;
    for (std::size_t i = 0; i < n; ++i) {
      std::string b = a;
      b[i] = '#';
      EXPECT_FALSE(sameKey(a, b)) << n << " " << i;
    }
    EXPECT_FALSE(sameKey(a, a + "x"));
  }
}

TEST(AuditLogView, LeftoversKeepWhatWasNotMapped) {
  simdjson::dom::parser p;
  const auto root =
      parse(p, R"({"a":1,"b":{"c":2,"d":{"e":3}},"f":{"g":4}})").get_object().value_unsafe();
  TrackedObject top;
  TrackedObject b;
  TrackedObject d;
  top.reset(root);
  b.reset(root["b"].get_object().value_unsafe());
  d.reset(root["b"]["d"].get_object().value_unsafe());
  top.attach("b", &b);
  b.attach("d", &d);
  top.consume("a");
  b.consume("c");
  d.consume("e");
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  top.writeMembers(w);
  w.endObject();
  w.finish();
  EXPECT_EQ(out, R"({"f":{"g":4}})");
  EXPECT_FALSE(top.empty());
  EXPECT_TRUE(b.empty());
}

TEST(AuditLogView, RecognisesBothShapes) {
  Event openai;
  openai.raw =
      R"({"id":"a","type":"api_key.created","effective_at":10,"actor":{"type":"api_key","api_key":{"id":"k","type":"service_account","service_account":{"id":"sa"}}},"project":{"id":"p","name":"P"},"api_key.created":{"id":"key"}})";
  {
    AuditLog log(openai);
    EXPECT_EQ(log.shape, Shape::kOpenAi);
    EXPECT_EQ(log.id, "a");
    EXPECT_EQ(log.type, "api_key.created");
    EXPECT_EQ(log.time_ms, 10000);
    EXPECT_EQ(log.actor.kind, ActorKind::kApiKey);
    EXPECT_EQ(log.actor.key_owner, KeyOwner::kServiceAccount);
    EXPECT_EQ(log.actor.service_account_id, "sa");
    EXPECT_EQ(log.actor.key_id, "k");
    EXPECT_EQ(log.project_id, "p");
    EXPECT_TRUE(log.payload_is_object);
  }
  Event seed;
  seed.raw =
      R"({"id":"s","event":"api_request","created_at":"2024-07-12T17:08:10Z","actor":{"type":"user","id":"u","name":"n@example.com"},"api_request":{"id":"r"},"success":false})";
  {
    AuditLog log(seed);
    EXPECT_EQ(log.shape, Shape::kSeed);
    EXPECT_EQ(log.type, "api_request");
    EXPECT_EQ(log.time_ms, 1720804090000);
    EXPECT_EQ(log.actor.kind, ActorKind::kSeed);
    EXPECT_EQ(log.actor.email, "n@example.com");
    EXPECT_TRUE(log.has_api_request);
    ASSERT_TRUE(log.success.has_value());
    EXPECT_FALSE(*log.success);
  }
}

TEST(AuditLogView, PaddedRawParsedInPlaceRendersLikeACopiedOne) {
  const std::string text =
      R"({"id":"a","type":"login.failed","effective_at":10,"actor":{"type":"session","session":{"user":{"id":"u","email":"e@example.com"},"ip_address":"203.0.113.9"}},"login.failed":{"error_code":"invalid_mfa","error_message":"tab\there"}})";
  Event tight;
  tight.raw = text;
  tight.raw.shrink_to_fit();
  Event padded;
  padded.raw.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  padded.raw = text;
  // Whatever the spare bytes hold, the parse must stop at size().
  padded.raw.resize(text.size() + simdjson::SIMDJSON_PADDING, '}');
  padded.raw.resize(text.size());
  ASSERT_GE(padded.raw.capacity(), text.size() + simdjson::SIMDJSON_PADDING);
  AuditLog a(tight);
  AuditLog b(padded);
  ASSERT_EQ(a.shape, Shape::kOpenAi);
  ASSERT_EQ(b.shape, Shape::kOpenAi);
  EXPECT_EQ(a.actor.email, "e@example.com");
  EXPECT_EQ(b.actor.email, a.actor.email);
  EXPECT_EQ(b.actor.ip, a.actor.ip);
  EXPECT_EQ(b.type, a.type);
  EXPECT_EQ(renderEvent(padded, Encoding::kOcsf), renderEvent(tight, Encoding::kOcsf));
  EXPECT_EQ(renderEvent(padded, Encoding::kEcs), renderEvent(tight, Encoding::kEcs));
}

TEST(AuditLogView, SourceFieldsTakePrecedenceOverTheRawObject) {
  Event e;
  e.raw = R"({"id":"raw-id","type":"raw.type","effective_at":10})";
  e.id = "source-id";
  e.type = "login.succeeded";
  e.effective_at = 20;
  AuditLog log(e);
  EXPECT_EQ(log.id, "source-id");
  EXPECT_EQ(log.type, "login.succeeded");
  EXPECT_EQ(log.time_ms, 20000);
  // The differing raw values are not consumed, so they stay visible in the leftovers.
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  log.root_fields.writeMembers(w);
  w.endObject();
  w.finish();
  EXPECT_EQ(out, R"({"id":"raw-id","type":"raw.type","effective_at":10})");
}

}  // namespace
}  // namespace siem
