// The type-specific option parsers: openai_audit_logs source, file and stdout sinks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/config/reader.h"
#include "agent/sources/openai/config.h"
#include "sinks/file/config.h"
#include "sinks/stdout/config.h"
#include "tests/unit/config/test_util.h"

namespace siem {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

class OptionsTest : public ::testing::Test {
 protected:
  // Parses `yaml` as the mapping of one component at path "c", runs `parse` and finish().
  template <typename T>
  std::shared_ptr<const T> parse(
      const std::string& yaml,
      const std::function<std::shared_ptr<const ComponentOptions>(ConfigMap&)>& parser) {
    context_ = std::make_unique<ConfigContext>("t.yaml", siem::testing::fakeEnv({}));
    node_ = YAML::Load(yaml);
    ConfigMap map(*context_, node_, "c", Mark{"t.yaml", 1, 1});
    auto options = std::dynamic_pointer_cast<const T>(parser(map));
    map.finish();
    return options;
  }
  std::vector<std::string> errors() const { return context_->errors(); }

  std::unique_ptr<ConfigContext> context_;
  YAML::Node node_;
};

TEST_F(OptionsTest, OpenAiDefaults) {
  const auto o = parse<OpenAiSourceOptions>("api_key: sk-1\n", parseOpenAiSourceOptions);
  ASSERT_NE(o, nullptr);
  EXPECT_THAT(errors(), IsEmpty());
  const OpenAiSourceOptions defaults;
  EXPECT_EQ(o->api, OpenAiApiVariant::kAuditLogs);
  EXPECT_EQ(o->api_key, "sk-1");
  EXPECT_EQ(o->base_url, "https://api.openai.com/v1");
  EXPECT_EQ(o->poll_interval_secs, 30u);
  EXPECT_EQ(o->start_at, "24h");
  EXPECT_EQ(o->lookback_secs, 300u);
  EXPECT_EQ(o->page_size, 100u);
  EXPECT_DOUBLE_EQ(o->max_requests_per_sec, 5);
  EXPECT_EQ(o->timeout_secs, 30u);
  EXPECT_EQ(o->max_window_events, defaults.max_window_events);
  EXPECT_FALSE(o->tenant_only);
  EXPECT_TRUE(o->tls.verify);
}

TEST_F(OptionsTest, OpenAiEveryKey) {
  siem::testing::TempDir dir;
  const std::string key = dir.write("key", "sk-file\n");
  const auto o = parse<OpenAiSourceOptions>(
      "api: audit_logs\n"
      "api_key_file: " +
          key +
          "\n"
          "base_url: http://127.0.0.1:8080/v1/\n"
          "poll_interval_secs: 5\n"
          "start_at: 2026-11-01T00:00:00Z\n"
          "lookback_secs: 0\n"
          "page_size: 1\n"
          "max_requests_per_sec: 0.5\n"
          "timeout_secs: 10\n"
          "max_window_events: 1000\n"
          "event_types: [login.failed, api_key.created]\n"
          "project_ids: [proj_1]\n"
          "actor_ids: [user_1]\n"
          "actor_emails: [a@example.com]\n"
          "resource_ids: [res_1]\n"
          "tenant_only: true\n"
          "tls: {verify: false, ca_file: /ca.pem, server_name: api.local}\n",
      parseOpenAiSourceOptions);
  ASSERT_NE(o, nullptr);
  EXPECT_THAT(errors(), IsEmpty());
  EXPECT_EQ(o->api, OpenAiApiVariant::kAuditLogs);
  EXPECT_EQ(o->api_key, "sk-file");
  EXPECT_EQ(o->api_key_file, key);
  EXPECT_EQ(o->base_url, "http://127.0.0.1:8080/v1");  // trailing slash removed
  EXPECT_EQ(o->poll_interval_secs, 5u);
  EXPECT_EQ(o->start_at, "2026-11-01T00:00:00Z");
  EXPECT_EQ(o->lookback_secs, 0u);
  EXPECT_EQ(o->page_size, 1u);
  EXPECT_DOUBLE_EQ(o->max_requests_per_sec, 0.5);
  EXPECT_EQ(o->timeout_secs, 10u);
  EXPECT_EQ(o->max_window_events, 1000u);
  EXPECT_THAT(o->event_types, ElementsAre("login.failed", "api_key.created"));
  EXPECT_THAT(o->project_ids, ElementsAre("proj_1"));
  EXPECT_THAT(o->actor_ids, ElementsAre("user_1"));
  EXPECT_THAT(o->actor_emails, ElementsAre("a@example.com"));
  EXPECT_THAT(o->resource_ids, ElementsAre("res_1"));
  EXPECT_TRUE(o->tenant_only);
  EXPECT_FALSE(o->tls.verify);
  EXPECT_EQ(o->tls.ca_file, "/ca.pem");
  EXPECT_EQ(o->tls.server_name, "api.local");
}

TEST_F(OptionsTest, OpenAiOrganizationLogsHasNoFilters) {
  auto o =
      parse<OpenAiSourceOptions>("api: organization_logs\napi_key: k\n", parseOpenAiSourceOptions);
  EXPECT_THAT(errors(), IsEmpty());
  EXPECT_EQ(o->api, OpenAiApiVariant::kOrganizationLogs);
  parse<OpenAiSourceOptions>(
      "api: organization_logs\n"
      "api_key: k\n"
      "event_types: [login.failed]\n"
      "tenant_only: true\n"
      "actor_emails: []\n",
      parseOpenAiSourceOptions);
  EXPECT_THAT(errors(), ElementsAre("t.yaml:3:14: c.event_types: is not supported with api: "
                                    "organization_logs (it has no filters)",
                                    "t.yaml:4:14: c.tenant_only: is not supported with api: "
                                    "organization_logs (it has no filters)"));
}

TEST_F(OptionsTest, OpenAiErrors) {
  parse<OpenAiSourceOptions>(
      "api: audit\n"
      "base_url: ftp://api.openai.com\n"
      "poll_interval_secs: 0\n"
      "start_at: last tuesday\n"
      "page_size: 101\n"
      "max_requests_per_sec: 0\n"
      "timeout_secs: 0\n"
      "event_types: login.failed\n"
      "tenant_only: maybe\n",
      parseOpenAiSourceOptions);
  EXPECT_THAT(
      errors(),
      ElementsAre(
          "t.yaml:1:1: c: api_key or api_key_file is required",
          "t.yaml:1:6: c.api: must be one of audit_logs, organization_logs (got \"audit\")",
          "t.yaml:2:11: c.base_url: must start with https:// or http:// (got "
          "\"ftp://api.openai.com\")",
          "t.yaml:3:21: c.poll_interval_secs: must be between 1 and 86400 (got 0)",
          "t.yaml:4:11: c.start_at: invalid time \"last tuesday\": expected RFC 3339 "
          "(2026-11-01T00:00:00Z), a duration back from now (90m, 24h, 30d) or unix seconds",
          "t.yaml:5:12: c.page_size: must be between 1 and 100 (got 101)",
          "t.yaml:6:23: c.max_requests_per_sec: must be greater than 0 and at most 10000 (got 0)",
          "t.yaml:7:15: c.timeout_secs: must be between 1 and 3600 (got 0)",
          "t.yaml:9:14: c.tenant_only: expected true or false, got \"maybe\""));
}

TEST_F(OptionsTest, OpenAiBaseUrlNeedsAHost) {
  parse<OpenAiSourceOptions>("api_key: k\nbase_url: https://\n", parseOpenAiSourceOptions);
  EXPECT_THAT(errors(), ElementsAre("t.yaml:2:11: c.base_url: has no host (got \"https://\")"));
}

TEST_F(OptionsTest, OpenAiStartAtForms) {
  for (const char* ok : {"90m", "720h", "30d", "1793491200", "2026-11-01T02:00:00+02:00"}) {
    parse<OpenAiSourceOptions>("api_key: k\nstart_at: \"" + std::string(ok) + "\"\n",
                               parseOpenAiSourceOptions);
    EXPECT_THAT(errors(), IsEmpty()) << ok;
  }
}

TEST_F(OptionsTest, FileSink) {
  const auto o = parse<FileSinkOptions>("path: archive/openai-%Y-%m-%d.ndjson\nfsync: false\n",
                                        parseFileSinkOptions);
  ASSERT_NE(o, nullptr);
  EXPECT_THAT(errors(), IsEmpty());
  EXPECT_EQ(o->path, "archive/openai-%Y-%m-%d.ndjson");
  EXPECT_FALSE(o->fsync);

  EXPECT_TRUE(parse<FileSinkOptions>("path: /a.ndjson\n", parseFileSinkOptions)->fsync);
  EXPECT_THAT(errors(), IsEmpty());

  parse<FileSinkOptions>("fsync: true\n", parseFileSinkOptions);
  EXPECT_THAT(errors(), ElementsAre("t.yaml:1:1: c: missing required key \"path\""));
  parse<FileSinkOptions>("path: /var/archive/\npaht: x\n", parseFileSinkOptions);
  EXPECT_THAT(errors(),
              ElementsAre("t.yaml:1:7: c.path: names a directory; give a file name (e.g. "
                          "archive/openai-%Y-%m-%d.ndjson)",
                          "t.yaml:2:1: c: unknown key \"paht\" (did you mean \"path\"?)"));
}

TEST_F(OptionsTest, StdoutSink) {
  EXPECT_EQ(parse<StdoutSinkOptions>("{}", parseStdoutSinkOptions)->format, StdoutFormat::kNdjson);
  EXPECT_EQ(parse<StdoutSinkOptions>("format: text\n", parseStdoutSinkOptions)->format,
            StdoutFormat::kText);
  EXPECT_THAT(errors(), IsEmpty());
  parse<StdoutSinkOptions>("format: json\n", parseStdoutSinkOptions);
  EXPECT_THAT(errors(),
              ElementsAre("t.yaml:1:9: c.format: must be one of ndjson, text (got \"json\")"));
}

}  // namespace
}  // namespace siem
