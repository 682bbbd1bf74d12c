// ECS output: every rendered document is checked against the ECS 8.x rules it relies on
// (categorization allowed values and the expected event types per category, field types), and
// the mapped fields are checked on representative events.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <map>
#include <regex>
#include <set>
#include <string>

#include "agent/schema/audit_log.h"
#include "agent/schema/render.h"
#include "tests/unit/schema/schema_test_util.h"

namespace siem {
namespace {

using schema_test::dataPath;
using schema_test::eventFromRaw;
using schema_test::readLines;
using simdjson::dom::element;

// event.category allowed values used here, with their expected_event_types (ECS schemas/event.yml).
const std::map<std::string, std::set<std::string>>& expectedTypes() {
  static const std::map<std::string, std::set<std::string>> kTypes = {
      {"authentication", {"start", "end", "info"}},
      {"session", {"start", "end", "info"}},
      {"iam", {"admin", "change", "creation", "deletion", "group", "info", "user"}},
      {"configuration", {"access", "change", "creation", "deletion", "info"}},
      {"web", {"access", "error", "info"}},
  };
  return kTypes;
}

// Top-level field sets the encoder may use: ECS field sets plus the `openai` custom namespace.
const std::set<std::string>& allowedTopLevel() {
  static const std::set<std::string> kFields = {
      "@timestamp", "ecs",   "event", "message", "user",   "group", "source",      "user_agent",
      "tls",        "cloud", "error", "related", "openai", "tags",  "organization"};
  return kFields;
}

std::vector<std::string> checkEcs(std::string_view json) {
  std::vector<std::string> errors;
  simdjson::dom::parser parser;
  element doc;
  if (parser.parse(json.data(), json.size()).get(doc) || !doc.is_object()) {
    return {"not a JSON object"};
  }
  simdjson::dom::object root;
  if (doc.get_object().get(root)) return {"not a JSON object"};
  for (auto m : root) {
    if (!allowedTopLevel().count(std::string(m.key))) {
      errors.push_back("unexpected top-level field " + std::string(m.key));
    }
  }
  std::string_view ts;
  static const std::regex kTimestamp(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$)");
  if (doc["@timestamp"].get_string().get(ts) || !std::regex_match(std::string(ts), kTimestamp)) {
    errors.push_back("@timestamp missing or not RFC 3339");
  }
  std::string_view version;
  if (doc["ecs"]["version"].get_string().get(version) || !version.starts_with("8.")) {
    errors.push_back("ecs.version is not 8.x");
  }
  std::string_view kind;
  if (doc["event"]["kind"].get_string().get(kind) || kind != "event") {
    errors.push_back("event.kind should be event");
  }
  std::string_view outcome;
  if (doc["event"]["outcome"].get_string().get(outcome) ||
      (outcome != "success" && outcome != "failure" && outcome != "unknown")) {
    errors.push_back("event.outcome not an allowed value");
  }
  simdjson::dom::array categories;
  simdjson::dom::array types;
  if (doc["event"]["category"].get_array().get(categories) || categories.size() == 0 ||
      doc["event"]["type"].get_array().get(types) || types.size() == 0) {
    errors.push_back("event.category/event.type must be non-empty arrays");
    return errors;
  }
  for (element c : categories) {
    const std::string category(c.get_string().value_unsafe());
    const auto it = expectedTypes().find(category);
    if (it == expectedTypes().end()) {
      errors.push_back("event.category " + category + " not allowed");
      continue;
    }
    for (element t : types) {
      const std::string type(t.get_string().value_unsafe());
      if (!it->second.count(type)) {
        errors.push_back("event.type " + type + " not expected for category " + category);
      }
    }
  }
  std::string_view ip;
  if (!doc["source"]["ip"].get_string().get(ip) && !isIpAddress(ip)) {
    errors.push_back("source.ip is not an IP address");
  }
  element v;
  if (!doc["source"]["as"]["number"].get(v) && !v.is_int64()) {
    errors.push_back("source.as.number is not an integer");
  }
  if (!doc["source"]["geo"]["location"]["lat"].get(v) && !v.is_number()) {
    errors.push_back("source.geo.location.lat is not a number");
  }
  if (doc["event"]["original"].get(v) || !v.is_string()) {
    errors.push_back("event.original missing");
  }
  return errors;
}

TEST(EcsEncoding, EveryGoldenInputRendersAValidDocument) {
  const auto inputs = readLines(dataPath("audit_logs.ndjson"));
  ASSERT_GT(inputs.size(), 145u);
  for (const auto& line : inputs) {
    const std::string ecs = renderEvent(eventFromRaw(line), Encoding::kEcs);
    const auto errors = checkEcs(ecs);
    std::string all;
    for (const auto& e : errors) all += "\n  " + e;
    EXPECT_TRUE(errors.empty()) << line << "\n" << ecs << all;
  }
}

TEST(EcsEncoding, EventOriginalIsTheInput) {
  for (const auto& line : readLines(dataPath("audit_logs.ndjson"))) {
    const std::string ecs = renderEvent(eventFromRaw(line), Encoding::kEcs);
    simdjson::dom::parser parser;
    element doc;
    ASSERT_FALSE(parser.parse(ecs).get(doc));
    EXPECT_EQ(std::string_view(doc["event"]["original"]), line);
  }
}

element renderEcs(simdjson::dom::parser& parser, std::string raw, const SourceInfo* src) {
  static thread_local std::string keep;
  keep = renderEvent(eventFromRaw(std::move(raw), src), Encoding::kEcs);
  element doc;
  EXPECT_FALSE(parser.parse(keep).get(doc)) << keep;
  return doc;
}

TEST(EcsEncoding, SessionActorFields) {
  simdjson::dom::parser parser;
  const element doc = renderEcs(
      parser,
      R"({"id":"l1","type":"login.failed","effective_at":1720804090,"actor":{"type":"session","session":{"user":{"id":"user-1","email":"a@example.com"},"ip_address":"203.0.113.7","user_agent":"UA/1","ja3":"j3","ja4":"j4","ip_address_details":{"country":"US","city":"SF","region":"California","region_code":"CA","asn":"1234","latitude":"37.77490","longitude":"-122.41940"}}},"login.failed":{"error_code":"bad","error_message":"Bad password"}})",
      &schema_test::goldenSource());
  EXPECT_EQ(std::string_view(doc["@timestamp"]), "2024-07-12T17:08:10.000Z");
  EXPECT_EQ(std::string_view(doc["event"]["action"]), "login.failed");
  EXPECT_EQ(std::string_view(doc["event"]["outcome"]), "failure");
  EXPECT_EQ(std::string_view(doc["event"]["category"].at(0)), "authentication");
  EXPECT_EQ(std::string_view(doc["event"]["type"].at(0)), "start");
  EXPECT_EQ(std::string_view(doc["user"]["id"]), "user-1");
  EXPECT_EQ(std::string_view(doc["user"]["email"]), "a@example.com");
  EXPECT_EQ(std::string_view(doc["source"]["ip"]), "203.0.113.7");
  EXPECT_EQ(std::string_view(doc["source"]["geo"]["country_iso_code"]), "US");
  EXPECT_EQ(std::string_view(doc["source"]["geo"]["region_iso_code"]), "US-CA");
  EXPECT_EQ(std::string_view(doc["source"]["geo"]["region_name"]), "California");
  EXPECT_DOUBLE_EQ(double(doc["source"]["geo"]["location"]["lat"]), 37.7749);
  EXPECT_DOUBLE_EQ(double(doc["source"]["geo"]["location"]["lon"]), -122.4194);
  EXPECT_EQ(int64_t(doc["source"]["as"]["number"]), 1234);
  EXPECT_EQ(std::string_view(doc["user_agent"]["original"]), "UA/1");
  EXPECT_EQ(std::string_view(doc["tls"]["client"]["ja3"]), "j3");
  EXPECT_EQ(std::string_view(doc["openai"]["audit"]["actor"]["session"]["ja4"]), "j4");
  EXPECT_EQ(std::string_view(doc["error"]["code"]), "bad");
  EXPECT_EQ(std::string_view(doc["error"]["message"]), "Bad password");
  EXPECT_EQ(std::string_view(doc["organization"]["id"]), "org-EXAMPLE");
  EXPECT_EQ(std::string_view(doc["related"]["ip"].at(0)), "203.0.113.7");
}

TEST(EcsEncoding, ApiKeyActorsAndTargets) {
  simdjson::dom::parser parser;
  element doc = renderEcs(
      parser,
      R"({"id":"l2","type":"user.updated","effective_at":1,"project":{"id":"proj_1","name":"P"},"actor":{"type":"api_key","api_key":{"id":"key_1","type":"service_account","service_account":{"id":"sa_1"}}},"user.updated":{"id":"user-2","changes_requested":{"role":"owner"}}})",
      nullptr);
  EXPECT_EQ(std::string_view(doc["user"]["id"]), "sa_1");
  EXPECT_EQ(std::string_view(doc["user"]["target"]["id"]), "user-2");
  EXPECT_EQ(std::string_view(doc["user"]["changes"]["roles"].at(0)), "owner");
  EXPECT_EQ(std::string_view(doc["openai"]["audit"]["actor"]["api_key"]["id"]), "key_1");
  EXPECT_EQ(std::string_view(doc["cloud"]["project"]["id"]), "proj_1");
  EXPECT_TRUE(doc["organization"].error());

  doc = renderEcs(
      parser,
      R"({"id":"l3","type":"user.added","effective_at":1,"project":{"id":"proj_1","name":"P"},"actor":{"type":"api_key","api_key":{"id":"key_2","type":"user","user":{"id":"user-1","email":"a@example.com"}}},"user.added":{"id":"user-3","data":{"role":"member"}}})",
      nullptr);
  EXPECT_EQ(std::string_view(doc["user"]["id"]), "user-1");
  EXPECT_EQ(std::string_view(doc["user"]["target"]["roles"].at(0)), "member");
  EXPECT_EQ(std::string_view(doc["group"]["id"]), "proj_1");
  EXPECT_EQ(std::string_view(doc["event"]["type"].at(0)), "group");
}

}  // namespace
}  // namespace siem
