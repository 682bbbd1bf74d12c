// The HEC envelope encoder: time formatting, templates, escaping and indexed fields, checked
// against tests/data/splunk_hec/envelopes.golden (one "case<TAB>envelope" line per case).
//
// After an intended format change, regenerate with
//   SIEM_UPDATE_GOLDEN=1 build/tests/unit_tests --gtest_filter='HecEnvelopeGolden.*'
// and review the diff before committing it.
#include "sinks/splunk_hec/encoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdlib>
#include <fstream>
#include <map>

namespace siem {
namespace {

using ::testing::HasSubstr;

const SourceInfo kSource{"openai_prod", "openai_audit_logs", "org-EXAMPLE", 0};

std::string goldenPath() {
  return std::string(SIEM_TEST_DATA_DIR) + "/splunk_hec/envelopes.golden";
}

bool updating() {
  const char* v = std::getenv("SIEM_UPDATE_GOLDEN");
  return v != nullptr && std::string_view(v) == "1";
}

HecTemplate tmpl(std::string_view text) {
  auto t = HecTemplate::parse(text);
  EXPECT_TRUE(t) << text;
  return t ? *t : HecTemplate();
}

Event event(std::string id, std::string type, std::int64_t t, std::string raw) {
  Event e;
  e.id = std::move(id);
  e.type = std::move(type);
  e.effective_at = t;
  e.raw = std::move(raw);
  e.source = &kSource;
  return e;
}

Event loginFailed() {
  Event e = event("audit_log-h1", "login.failed", 1767227064,
                  R"({"id":"audit_log-h1","type":"login.failed","effective_at":1767227064,)"
                  R"("actor":null,"login.failed":{"error_code":"mfa_required"}})");
  e.outcome = Outcome::kFailure;
  e.actor_type = "session";
  e.rendered[static_cast<std::size_t>(Encoding::kOcsf)] =
      R"({"class_uid":3002,"time":1767227064000,"metadata":{"uid":"audit_log-h1"}})";
  e.rendered[static_cast<std::size_t>(Encoding::kEcs)] =
      R"({"@timestamp":"2026-01-01T00:24:24Z","event":{"id":"audit_log-h1"}})";
  return e;
}

Event userAdded(bool with_project) {
  std::string raw = R"({"id":"audit_log-h2","type":"user.added","effective_at":1767225600,)"
                    R"("actor":null,"user.added":{"id":"user-1"}})";
  if (with_project) raw.insert(raw.size() - 1, R"(,"project":{"id":"proj_1","name":"P"})");
  Event e = event("audit_log-h2", "user.added", 1767225600, raw);
  if (with_project) e.project_id = "proj_1";
  e.outcome = Outcome::kSuccess;
  e.rendered[static_cast<std::size_t>(Encoding::kOcsf)] = R"({"metadata":{"uid":"audit_log-h2"}})";
  return e;
}

HecEnvelopeFormat defaults(Encoding encoding) {
  HecEnvelopeFormat f;
  f.encoding = encoding;
  f.source = tmpl("siem-agent:{source_id}");
  f.sourcetype = tmpl(defaultHecSourcetype(encoding));
  return f;
}

// Every case is one envelope (or several, concatenated as a request body).
std::map<std::string, std::string> renderCases() {
  std::map<std::string, std::string> out;
  auto one = [](const Event& e, const HecEnvelopeFormat& f) {
    std::string s;
    EXPECT_TRUE(appendHecEnvelope(s, e, f));
    return s;
  };

  out["ocsf_defaults"] = one(loginFailed(), defaults(Encoding::kOcsf));
  out["ecs_defaults"] = one(loginFailed(), defaults(Encoding::kEcs));
  out["raw_defaults"] = one(loginFailed(), defaults(Encoding::kRaw));

  HecEnvelopeFormat all = defaults(Encoding::kOcsf);
  all.host = tmpl("collector-01");
  all.source = tmpl("openai:{organization_id}");
  all.sourcetype = tmpl("ocsf:{family}");
  all.index = tmpl("oai_{verb}");
  all.fields = {{"event_type", tmpl("{type}")},
                {"outcome", tmpl("{outcome}")},
                {"actor_type", tmpl("{actor_type}")},
                {"project", tmpl("{project_id}")},  // empty for this event: left out
                {"env", tmpl("prod")}};
  out["all_metadata_and_fields"] = one(loginFailed(), all);

  HecEnvelopeFormat empty_fields = defaults(Encoding::kOcsf);
  empty_fields.fields = {{"project", tmpl("{project_id}")}};
  empty_fields.index = tmpl("{project_id}");  // renders empty: no index key
  out["empty_values_left_out"] = one(loginFailed(), empty_fields);

  HecEnvelopeFormat by_class = defaults(Encoding::kOcsf);
  by_class.index = tmpl("ocsf_{ocsf_class}");
  by_class.fields = {{"class_uid", tmpl("{ocsf_class_uid}")}};
  out["index_by_class_authentication"] = one(loginFailed(), by_class);
  out["index_by_class_group_management"] = one(userAdded(true), by_class);
  out["index_by_class_account_change"] = one(userAdded(false), by_class);

  HecEnvelopeFormat escaping = defaults(Encoding::kOcsf);
  escaping.host = tmpl("q\"uote \\ back\tslash\n");
  escaping.source = tmpl("caf\xC3\xA9 \xE2\x9C\x93 {{literal}}");
  escaping.fields = {{"bad_utf8", tmpl("a\xFF"
                                       "b")},
                     {"ctl", tmpl(std::string("x\x01y", 3))}};
  out["escaping"] = one(loginFailed(), escaping);

  HecEnvelopeFormat six = defaults(Encoding::kRaw);
  six.time_decimals = 6;
  out["six_decimals"] = one(userAdded(false), six);

  std::string batch;
  EXPECT_TRUE(appendHecEnvelope(batch, loginFailed(), defaults(Encoding::kOcsf)));
  EXPECT_TRUE(appendHecEnvelope(batch, userAdded(true), defaults(Encoding::kOcsf)));
  out["two_events_concatenated"] = batch;
  return out;
}

std::map<std::string, std::string> readGolden() {
  std::map<std::string, std::string> out;
  std::ifstream in(goldenPath(), std::ios::binary);
  for (std::string line; std::getline(in, line);) {
    const auto tab = line.find('\t');
    if (tab != std::string::npos) out[line.substr(0, tab)] = line.substr(tab + 1);
  }
  return out;
}

TEST(HecEnvelopeGolden, EveryCaseMatches) {
  const auto cases = renderCases();
  if (updating()) {
    std::ofstream out(goldenPath(), std::ios::binary | std::ios::trunc);
    for (const auto& [name, text] : cases) out << name << '\t' << text << '\n';
    ASSERT_TRUE(out.good());
    GTEST_SKIP() << "rewrote " << goldenPath();
  }
  const auto golden = readGolden();
  EXPECT_EQ(golden.size(), cases.size()) << "stale golden file";
  for (const auto& [name, text] : cases) {
    const auto it = golden.find(name);
    ASSERT_NE(it, golden.end()) << "no golden line for " << name;
    EXPECT_EQ(text, it->second) << name;
  }
}

// Whatever the golden file says, every envelope must be what HEC accepts: a JSON object with a
// numeric time in seconds, string metadata, a non-blank event and flat string fields.
TEST(HecEnvelopeGolden, EveryEnvelopeIsValidHecJson) {
  simdjson::dom::parser parser;
  for (const auto& [name, text] : renderCases()) {
    simdjson::dom::document_stream stream;
    ASSERT_EQ(parser.parse_many(text).get(stream), simdjson::SUCCESS) << name;
    std::size_t count = 0;
    for (auto doc : stream) {
      ++count;
      simdjson::dom::object o;
      ASSERT_EQ(doc.get(o), simdjson::SUCCESS) << name;
      double time = 0;
      ASSERT_EQ(o["time"].get(time), simdjson::SUCCESS) << name;
      EXPECT_GT(time, 1.7e9) << name;
      EXPECT_LT(time, 1.0e10) << name << ": time must be seconds, not milliseconds";
      simdjson::dom::element ev;
      ASSERT_EQ(o["event"].get(ev), simdjson::SUCCESS) << name;
      EXPECT_FALSE(ev.is_null()) << name;
      for (const char* key : {"host", "source", "sourcetype", "index"}) {
        simdjson::dom::element v;
        if (o[key].get(v) == simdjson::SUCCESS) {
          EXPECT_TRUE(v.is_string()) << name << "." << key;
        }
      }
      simdjson::dom::object fields;
      if (o["fields"].get(fields) == simdjson::SUCCESS) {
        for (auto [k, v] : fields) EXPECT_TRUE(v.is_string()) << name << ".fields." << k;
      }
    }
    EXPECT_GE(count, 1u) << name;
  }
}

TEST(HecTimeTest, FixedDecimalsNeverExponent) {
  auto time = [](std::int64_t micros, int decimals) {
    std::string s;
    appendHecTime(s, micros, decimals);
    return s;
  };
  EXPECT_EQ(time(1700000000123456, 3), "1700000000.123");
  EXPECT_EQ(time(1700000000123456, 4), "1700000000.1234");
  EXPECT_EQ(time(1700000000123456, 6), "1700000000.123456");
  EXPECT_EQ(time(1700000000000000, 3), "1700000000.000");
  EXPECT_EQ(time(5, 6), "0.000005");
  EXPECT_EQ(time(0, 3), "0.000");
  EXPECT_EQ(time(-1'500'000, 3), "-1.500");
  // Out-of-range precision is clamped to 3..6.
  EXPECT_EQ(time(1'234'567, 1), "1.234");
  EXPECT_EQ(time(1'234'567, 9), "1.234567");
  EXPECT_EQ(time(INT64_MIN, 6), "-9223372036854.775808");
  EXPECT_EQ(time(INT64_MAX, 3), "9223372036854.775");
}

TEST(HecTemplateTest, RejectsUnknownNamesAndUnbalancedBraces) {
  const auto unknown = HecTemplate::parse("idx_{class}");
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().message, HasSubstr("unknown placeholder {class}"));
  EXPECT_THAT(unknown.error().message, HasSubstr("ocsf_class"));
  EXPECT_FALSE(HecTemplate::parse("{type"));
  EXPECT_FALSE(HecTemplate::parse("a}b"));
  EXPECT_FALSE(HecTemplate::parse("{}"));
}

TEST(HecTemplateTest, RendersLiteralsPlaceholdersAndEscapedBraces) {
  const Event e = loginFailed();
  EXPECT_EQ(tmpl("{{x}} {type}/{family}/{verb}").render(e), "{x} login.failed/login/failed");
  EXPECT_EQ(tmpl("{outcome}:{source_id}:{organization_id}").render(e),
            "failure:openai_prod:org-EXAMPLE");
  EXPECT_EQ(tmpl("[{project_id}]").render(e), "[]");
  EXPECT_TRUE(tmpl("plain").constant());
  EXPECT_FALSE(tmpl("{type}").constant());
  EXPECT_TRUE(tmpl("").empty());
  Event no_source = e;
  no_source.source = nullptr;
  EXPECT_EQ(tmpl("{source_id}|{organization_id}").render(no_source), "|");
}

TEST(HecEnvelopeTest, ABlankEventAppendsNothing) {
  Event e = loginFailed();
  e.rendered[static_cast<std::size_t>(Encoding::kEcs)].clear();
  std::string out = "prefix";
  EXPECT_FALSE(appendHecEnvelope(out, e, defaults(Encoding::kEcs)));
  EXPECT_EQ(out, "prefix");
}

TEST(HecEnvelopeTest, DefaultSourcetypesNameTheEncoding) {
  EXPECT_EQ(defaultHecSourcetype(Encoding::kOcsf), "ocsf:openai:audit");
  EXPECT_EQ(defaultHecSourcetype(Encoding::kEcs), "ecs:openai:audit");
  EXPECT_EQ(defaultHecSourcetype(Encoding::kRaw), "openai:audit");
}

}  // namespace
}  // namespace siem
