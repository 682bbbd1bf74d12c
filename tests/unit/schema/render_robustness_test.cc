// Hostile input: whatever the bytes, renderEvent returns one valid JSON object (valid UTF-8), the
// OCSF form passes the conformance checks, and nothing crashes.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <functional>
#include <string>
#include <thread>

#include "agent/schema/json_writer.h"
#include "agent/schema/render.h"
#include "tests/unit/schema/ocsf_validator.h"
#include "tests/unit/schema/schema_test_util.h"

namespace siem {
namespace {

using schema_test::eventFromRaw;

std::string joined(const std::vector<std::string>& errors) {
  std::string s;
  for (const auto& e : errors) s += "\n  " + e;
  return s;
}

// Renders both encodings, checks that each is one valid JSON object and that the OCSF one
// conforms; returns the parsed OCSF document's text.
std::string renderChecked(const Event& e, std::string* ecs_out = nullptr) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const std::string ocsf = renderEvent(e, Encoding::kOcsf);
  const std::string ecs = renderEvent(e, Encoding::kEcs);
  EXPECT_FALSE(parser.parse(ocsf).get(doc)) << "OCSF output is not valid JSON";
  EXPECT_TRUE(doc.is_object());
  EXPECT_FALSE(parser.parse(ecs).get(doc)) << "ECS output is not valid JSON";
  EXPECT_TRUE(doc.is_object());
  EXPECT_EQ(ocsf.find('\n'), std::string::npos);
  const auto errors = validateOcsfEvent(ocsf);
  EXPECT_TRUE(errors.empty()) << joined(errors);
  if (ecs_out != nullptr) *ecs_out = ecs;
  return ocsf;
}

std::size_t maxDepth(simdjson::dom::element e) {
  std::size_t deepest = 0;
  simdjson::dom::array items;
  if (!e.get_array().get(items)) {
    for (auto item : items) deepest = std::max(deepest, maxDepth(item));
    return deepest + 1;
  }
  simdjson::dom::object members;
  if (!e.get_object().get(members)) {
    for (auto m : members) deepest = std::max(deepest, maxDepth(m.value));
    return deepest + 1;
  }
  return 0;
}

const std::string kFffd = "\xEF\xBF\xBD";

TEST(RenderRobustness, RawEncodingReturnsTheInputUnchanged) {
  Event e;
  e.raw = "not json \xFF at all";
  EXPECT_EQ(renderEvent(e, Encoding::kRaw), e.raw);
}

TEST(RenderRobustness, InvalidUtf8IsReplacedNotRejected) {
  std::string raw = R"({"id":"a1","type":"api_key.created","effective_at":5,)";
  raw += R"("actor":{"type":"session","session":{"user":{"id":"u)";
  raw += "\xC3";
  raw += R"(","email":"x@example.com"},"ip_address":"10.0.0.1"}},)";
  raw += R"("api_key.created":{"id":"key)";
  raw += "\xFF\xFE";
  raw += R"(","data":{"n)";
  raw += "\xED\xA0\x80";
  raw += R"(":1}}})";
  std::string ecs;
  const std::string ocsf = renderChecked(eventFromRaw(raw), &ecs);
  EXPECT_NE(ocsf.find("\"uid\":\"key" + kFffd + kFffd + "\""), std::string::npos) << ocsf;
  EXPECT_NE(ocsf.find("\"uid\":\"u" + kFffd + "\""), std::string::npos) << ocsf;
  EXPECT_NE(ocsf.find("\"n" + kFffd + kFffd + kFffd + "\":1"), std::string::npos) << ocsf;
  EXPECT_NE(ocsf.find("\"class_uid\":3004"), std::string::npos);
  // event.original carries the original text, repaired the same way.
  EXPECT_NE(ecs.find("key" + kFffd + kFffd), std::string::npos);
}

TEST(RenderRobustness, ControlCharactersAreEscaped) {
  const std::string raw =
      R"({"id":"c1","type":"project.created","effective_at":5,"project.created":{"id":"p\u0001\u001f\n","data":{"name":"line1\nline2\t\u0000"}}})";
  const std::string ocsf = renderChecked(eventFromRaw(raw));
  EXPECT_NE(ocsf.find(R"("uid":"p\u0001\u001f\n")"), std::string::npos) << ocsf;
  EXPECT_NE(ocsf.find(R"("name":"line1\nline2\t\u0000")"), std::string::npos) << ocsf;
}

TEST(RenderRobustness, UnescapedControlCharactersInTheInputStillGiveValidJson) {
  std::string raw =
      R"({"id":"c2","type":"project.created","effective_at":5,"project.created":{"id":"p)";
  raw += '\x01';
  raw += '\n';
  raw += R"("}})";
  renderChecked(eventFromRaw(raw));
}

TEST(RenderRobustness, MegabyteStringsAreTruncatedAndFlagged) {
  const std::string big(1 << 20, 'x');
  const std::string raw =
      R"({"id":"big","type":"certificate.deleted","effective_at":5,"certificate.deleted":{"id":"cert","name":")" +
      big + R"(","certificate":")" + big + R"("}})";
  std::string ecs;
  const std::string ocsf = renderChecked(eventFromRaw(raw), &ecs);
  EXPECT_LT(ocsf.size(), 3 * JsonWriter::kMaxStringBytes);
  EXPECT_NE(ocsf.find(std::string(JsonWriter::kTruncationMarker)), std::string::npos);
  EXPECT_NE(ocsf.find("\"metadata\":{\"is_truncated\":true,\"untruncated_size\":" +
                      std::to_string(raw.size()) + ","),
            std::string::npos);
  EXPECT_NE(ecs.find("\"tags\":[\"truncated\"]"), std::string::npos);
  EXPECT_LT(ecs.size(), 5 * JsonWriter::kMaxStringBytes);
}

TEST(RenderRobustness, DeepPayloadsAreFlattenedBelowTheDepthLimit) {
  for (int depth : {10, 40, 200, 1000}) {
    std::string nested;
    for (int i = 0; i < depth; ++i) nested += R"({"k":)";
    nested += "1";
    for (int i = 0; i < depth; ++i) nested += "}";
    const std::string raw =
        R"({"id":"deep","type":"api_key.created","effective_at":5,"api_key.created":{"id":"k","data":)" +
        nested + R"(,"other":)" + nested + "}}";
    std::string ecs;
    const std::string ocsf = renderChecked(eventFromRaw(raw), &ecs);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    ASSERT_FALSE(parser.parse(ocsf).get(doc));
    EXPECT_LE(maxDepth(doc), JsonWriter::kMaxDepth + 1) << depth;
    ASSERT_FALSE(parser.parse(ecs).get(doc));
    EXPECT_LE(maxDepth(doc), JsonWriter::kMaxDepth + 1) << depth;
    if (depth > static_cast<int>(JsonWriter::kMaxDepth)) {
      // The deep part survives as text.
      EXPECT_NE(ocsf.find(R"({\"k\":{\"k\":)"), std::string::npos);
    }
  }
}

TEST(RenderRobustness, NestingBeyondTheParserLimitFallsBackToRawData) {
  std::string raw = R"({"id":"too-deep","type":"api_key.created","effective_at":5,"x":)";
  raw += std::string(5000, '[');
  raw += std::string(5000, ']');
  raw += "}";
  Event e = eventFromRaw(raw);
  e.id = "too-deep";
  e.type = "api_key.created";
  e.effective_at = 5;
  const std::string ocsf = renderChecked(e);
  EXPECT_NE(ocsf.find("\"raw_data\":\"{\\\"id\\\":\\\"too-deep\\\""), std::string::npos);
  EXPECT_NE(ocsf.find("\"parse_error\""), std::string::npos);
  EXPECT_NE(ocsf.find("\"uid\":\"too-deep\""), std::string::npos);
  EXPECT_NE(ocsf.find("\"class_uid\":3004"), std::string::npos);
}

TEST(RenderRobustness, InputThatIsNotAnObjectStillRenders) {
  const std::vector<std::string> inputs = {"",   "garbage", "[1,2,3]", "\"string\"",
                                           "42", "null",    "{",       "{\"a\":}",
                                           "{}", "[]",      "\xFF\xFE"};
  for (const auto& raw : inputs) {
    SCOPED_TRACE(raw);
    Event e;
    e.raw = raw;
    renderChecked(e);
    e.type = "login.failed";
    e.id = "given-by-source";
    e.effective_at = 1700000000;
    const std::string ocsf = renderChecked(e);
    EXPECT_NE(ocsf.find("\"class_uid\":3002"), std::string::npos);
    EXPECT_NE(ocsf.find("\"time\":1700000000000"), std::string::npos);
  }
}

TEST(RenderRobustness, OddValuesInEveryField) {
  const std::vector<std::string> inputs = {
      R"({"id":7,"type":"login.succeeded","effective_at":"yesterday","actor":[],"project":"p"})",
      R"({"id":"x","type":"user.updated","effective_at":-5,"user.updated":{"id":{"a":1},"changes_requested":"owner"}})",
      R"({"id":"x","type":"user.added","project":{"id":5,"name":null},"user.added":[]})",
      R"({"id":"x","type":"ip_allowlist.config.activated","ip_allowlist.config.activated":{"configs":[1,null,{"id":2}]}})",
      R"({"id":"x","type":"api_key.created","actor":{"type":"session","session":{"user":null,"ip_address":12,"ip_address_details":[]}}})",
      R"({"id":"x","type":"api_key.created","actor":{"type":"api_key","api_key":{"id":9,"user":"u","service_account":[]}}})",
      R"({"id":"x","type":"login.succeeded","effective_at":1e400})",
      R"({"id":"x","type":"login.succeeded","effective_at":123456789012345678901234567890})",
      R"({"id":"x","type":"organization.updated","organization.updated":{"id":"o","changes_requested":{"name":{"nested":true}}}})",
      R"({"event":"api_request","actor":{"type":"user","id":1},"api_request":"nope","success":"yes","created_at":[]})",
      R"({"event":"api_request","api_request":{"id":null,"error":{"code":1}},"target":"t"})",
      R"({"id":"dup","type":"api_key.created","id":"dup2","api_key.created":{"id":"k1","id":"k2"}})",
      R"({"type":"","id":""})",
      R"({"type":"a.b.c.d.e.f.g.h.i.j.k.failed"})",
  };
  for (const auto& raw : inputs) {
    SCOPED_TRACE(raw);
    renderChecked(eventFromRaw(raw));
    renderChecked(eventFromRaw(raw, nullptr));
  }
}

TEST(RenderRobustness, RendersConcurrentlyWithTheSameResults) {
  const auto lines = schema_test::readLines(schema_test::dataPath("audit_logs.ndjson"));
  std::vector<std::string> expected;
  for (const auto& l : lines) expected.push_back(renderEvent(eventFromRaw(l), Encoding::kOcsf));
  auto work = [&](std::vector<std::string>* out) {
    for (int round = 0; round < 3; ++round) {
      for (const auto& l : lines) out->push_back(renderEvent(eventFromRaw(l), Encoding::kOcsf));
    }
  };
  std::vector<std::string> a;
  std::vector<std::string> b;
  {
    std::jthread t1(work, &a);
    std::jthread t2(work, &b);
  }
  ASSERT_EQ(a.size(), expected.size() * 3);
  ASSERT_EQ(b.size(), expected.size() * 3);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i], expected[i % expected.size()]);
    EXPECT_EQ(b[i], expected[i % expected.size()]);
  }
}

}  // namespace
}  // namespace siem
