#include "agent/config/loader.h"

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

// Options of the sink and source types whose real parsers live elsewhere: every key the design
// documents for them, as strings, so the design's example can be loaded and checked.
struct FakeOptions : ComponentOptions {
  std::map<std::string, std::string> values;
  std::map<std::string, std::vector<std::string>> lists;
  std::vector<std::pair<std::string, std::string>> passthrough;
  TlsConfig tls;
};

OptionsParser fakeParser(const std::vector<std::string>& scalars,
                         const std::vector<std::string>& lists = {},
                         const std::vector<std::string>& secrets = {}, bool tls = false,
                         const std::string& passthrough = {}) {
  return [=](ConfigMap& map) -> std::shared_ptr<const ComponentOptions> {
    auto options = std::make_shared<FakeOptions>();
    for (const auto& key : scalars)
      if (map.has(key)) options->values[key] = map.string(key);
    for (const auto& key : lists) options->lists[key] = map.stringList(key);
    for (const auto& key : secrets) options->values[key] = map.secret(key, true).value;
    if (tls) options->tls = map.tls();
    if (!passthrough.empty()) options->passthrough = map.stringMap(passthrough);
    return options;
  };
}

std::vector<Encoding> allEncodings() { return {Encoding::kOcsf, Encoding::kEcs, Encoding::kRaw}; }

ComponentRegistry testRegistry() {
  ComponentRegistry r;
  r.sources.push_back({"openai_audit_logs", parseOpenAiSourceOptions, nullptr});
  r.sources.push_back({"file", fakeParser({"format", "decode"}, {"include"}), nullptr});
  r.sinks.push_back({"splunk_hec", allEncodings(),
                     fakeParser({"endpoint", "index", "sourcetype", "indexer_ack", "compression"},
                                {}, {"token"}, true),
                     nullptr});
  r.sinks.push_back({"kafka", allEncodings(),
                     fakeParser({"topic", "compression"}, {"brokers"}, {}, false, "librdkafka"),
                     nullptr});
  r.sinks.push_back({"datadog_logs", allEncodings(),
                     fakeParser({"site", "endpoint", "service", "source"}, {"tags"}, {"api_key"}),
                     nullptr});
  r.sinks.push_back({"syslog",
                     {Encoding::kOcsf, Encoding::kRaw},
                     fakeParser({"address", "transport", "format", "framing"}),
                     nullptr});
  r.sinks.push_back({"file", allEncodings(), parseFileSinkOptions, nullptr});
  r.sinks.push_back({"stdout", allEncodings(), parseStdoutSinkOptions, nullptr});
  r.sinks.push_back({"null", {Encoding::kRaw}, nullptr, nullptr});  // a type without own keys
  return r;
}

std::map<std::string, std::string> designEnv() {
  return {{"OPENAI_ADMIN_KEY", "sk-admin-test"},
          {"SPLUNK_HEC_TOKEN", "hec-token-test"},
          {"DD_API_KEY", "dd-key-test"}};
}

std::string designExamplePath() {
  return std::string(SIEM_TEST_DATA_DIR) + "/config/design_example.yaml";
}

std::string readDesignExample() { return readTextFile(designExamplePath(), 1 << 20).value(); }

ConfigResult load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return loadConfigString(yaml, "agent.yaml", testRegistry(),
                          LoadOptions{siem::testing::fakeEnv(std::move(env))});
}

std::vector<std::string> errorsOf(const std::string& yaml,
                                  std::map<std::string, std::string> env = {}) {
  const ConfigResult r = load(yaml, std::move(env));
  if (r) return {};
  return r.error();
}

const FakeOptions& fake(const std::shared_ptr<const ComponentOptions>& options) {
  return dynamic_cast<const FakeOptions&>(*options);
}

// The smallest valid configuration; tests append to or replace parts of it.
std::string minimal() {
  return "sources:\n"
         "  openai:\n"
         "    type: openai_audit_logs\n"
         "    api_key: sk-1\n"
         "sinks:\n"
         "  out:\n"
         "    type: stdout\n"
         "routes:\n"
         "  - name: all\n"
         "    from: [\"*\"]\n"
         "    to: [out]\n";
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

TEST(LoaderTest, DesignExampleWithEveryAvailableSinkRoutedLoads) {
  // The design's example leaves its datadog sink out of every route; route it so it is valid.
  const std::string yaml =
      replaced(readDesignExample(), "to: [kafka, archive]", "to: [kafka, archive, datadog]");
  const ConfigResult r = load(yaml, designEnv());
  ASSERT_TRUE(r.has_value()) << ::testing::PrintToString(r.error());
  const Config& c = *r;
  EXPECT_EQ(c.path, "agent.yaml");
  EXPECT_EQ(c.data_dir, "/var/lib/siem-agent");
  EXPECT_EQ(c.api_address, "0.0.0.0:9598");
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.shutdown_timeout_secs, 30u);

  ASSERT_EQ(c.sources.size(), 2u);
  const SourceConfig& prod = c.sources[0];
  EXPECT_EQ(prod.id, "openai_prod");
  EXPECT_EQ(prod.type, "openai_audit_logs");
  EXPECT_EQ(prod.organization_id, "org-123");
  EXPECT_EQ(prod.mark.line, 7);
  EXPECT_EQ(prod.mark.column, 3);
  const auto& o = dynamic_cast<const OpenAiSourceOptions&>(*prod.options);
  EXPECT_EQ(o.api, OpenAiApiVariant::kAuditLogs);
  EXPECT_EQ(o.api_key, "sk-admin-test");
  EXPECT_EQ(o.api_key_file, "");
  EXPECT_EQ(o.base_url, "https://api.openai.com/v1");
  EXPECT_EQ(o.poll_interval_secs, 30u);
  EXPECT_EQ(o.start_at, "24h");
  EXPECT_EQ(o.lookback_secs, 300u);
  EXPECT_EQ(o.page_size, 100u);
  EXPECT_DOUBLE_EQ(o.max_requests_per_sec, 5);
  EXPECT_THAT(o.event_types, IsEmpty());
  EXPECT_EQ(o.timeout_secs, 30u);
  EXPECT_TRUE(o.tls.verify);
  EXPECT_EQ(o.tls.ca_file, "");

  const SourceConfig& files = c.sources[1];
  EXPECT_EQ(files.id, "node_audit_files");
  EXPECT_EQ(files.type, "file");
  EXPECT_THAT(fake(files.options).lists.at("include"), ElementsAre("/var/log/app/audit-*.ndjson"));
  EXPECT_EQ(fake(files.options).values.at("format"), "ndjson");
  EXPECT_EQ(fake(files.options).values.at("decode"), "openai_audit_log");

  ASSERT_EQ(c.sinks.size(), 5u);
  const SinkConfig& splunk = c.sinks[0];
  EXPECT_EQ(splunk.id, "splunk");
  EXPECT_EQ(splunk.type, "splunk_hec");
  EXPECT_EQ(splunk.encoding, Encoding::kOcsf);
  EXPECT_EQ(splunk.batch.max_events, 500u);
  EXPECT_EQ(splunk.batch.max_bytes, 1'000'000u);
  EXPECT_EQ(splunk.batch.timeout_ms, 1000u);
  EXPECT_EQ(splunk.retry.initial_backoff_ms, 500u);
  EXPECT_EQ(splunk.retry.max_backoff_secs, 60u);
  EXPECT_EQ(splunk.retry.max_retry_duration_secs, 0u);
  EXPECT_EQ(splunk.buffer.max_events, 10'000u);
  EXPECT_EQ(splunk.buffer.max_bytes, 67'108'864u);
  EXPECT_EQ(splunk.buffer.when_full, WhenFull::kBlock);
  EXPECT_EQ(splunk.concurrency, 2u);
  EXPECT_EQ(splunk.unhealthy_after_secs, 300u);
  const FakeOptions& hec = fake(splunk.options);
  EXPECT_EQ(hec.values.at("endpoint"), "https://splunk.example:8088");
  EXPECT_EQ(hec.values.at("token"), "hec-token-test");
  EXPECT_EQ(hec.values.at("index"), "security");
  EXPECT_EQ(hec.values.at("sourcetype"), "ocsf:openai:audit");
  EXPECT_EQ(hec.values.at("indexer_ack"), "false");
  EXPECT_EQ(hec.values.at("compression"), "gzip");
  EXPECT_TRUE(hec.tls.verify);

  const SinkConfig& kafka = c.sinks[1];
  EXPECT_EQ(kafka.id, "kafka");
  EXPECT_EQ(kafka.concurrency, 1u);
  EXPECT_THAT(fake(kafka.options).lists.at("brokers"), ElementsAre("kafka-0:9092"));
  EXPECT_EQ(fake(kafka.options).values.at("topic"), "security.openai.audit");
  EXPECT_EQ(fake(kafka.options).values.at("compression"), "zstd");
  EXPECT_EQ(fake(kafka.options).passthrough,
            (std::vector<std::pair<std::string, std::string>>{{"security.protocol", "SASL_SSL"}}));

  const SinkConfig& datadog = c.sinks[2];
  EXPECT_EQ(datadog.type, "datadog_logs");
  EXPECT_EQ(fake(datadog.options).values.at("site"), "datadoghq.com");
  EXPECT_EQ(fake(datadog.options).values.at("api_key"), "dd-key-test");
  EXPECT_EQ(fake(datadog.options).values.at("service"), "openai");
  EXPECT_EQ(fake(datadog.options).values.at("source"), "openai");
  EXPECT_THAT(fake(datadog.options).lists.at("tags"), ElementsAre("env:prod"));

  const SinkConfig& qradar = c.sinks[3];
  EXPECT_EQ(qradar.type, "syslog");
  EXPECT_EQ(fake(qradar.options).values.at("address"), "qradar.example:6514");
  EXPECT_EQ(fake(qradar.options).values.at("transport"), "tls");
  EXPECT_EQ(fake(qradar.options).values.at("format"), "leef");
  EXPECT_EQ(fake(qradar.options).values.at("framing"), "octet_counting");

  const SinkConfig& archive = c.sinks[4];
  EXPECT_EQ(archive.type, "file");
  const auto& file = dynamic_cast<const FileSinkOptions&>(*archive.options);
  EXPECT_EQ(file.path, "/var/lib/siem-agent/archive/openai-%Y-%m-%d.ndjson");
  EXPECT_TRUE(file.fsync);

  ASSERT_EQ(c.routes.size(), 2u);
  EXPECT_EQ(c.routes[0].name, "auth-failures");
  EXPECT_THAT(c.routes[0].from, ElementsAre("openai_prod"));
  EXPECT_THAT(c.routes[0].when.type_globs, ElementsAre("login.failed", "logout.failed"));
  EXPECT_EQ(c.routes[0].when.outcome, "failure");
  EXPECT_THAT(c.routes[0].when.actor_types, IsEmpty());
  EXPECT_THAT(c.routes[0].to, ElementsAre("splunk", "qradar"));
  EXPECT_EQ(c.routes[1].name, "everything");
  EXPECT_THAT(c.routes[1].from, ElementsAre("*"));
  EXPECT_EQ(c.routes[1].when.outcome, "");
  EXPECT_THAT(c.routes[1].to, ElementsAre("kafka", "archive", "datadog"));

  // Secrets: values read by secret(), whatever their origin; nothing else.
  EXPECT_THAT(c.secrets, ElementsAre("sk-admin-test", "hec-token-test", "dd-key-test"));
}

TEST(LoaderTest, DesignExampleAsWrittenHasAnUnroutedSink) {
  const ConfigResult r = loadConfigFile(designExamplePath(), testRegistry(),
                                        LoadOptions{siem::testing::fakeEnv(designEnv())});
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error(), ElementsAre(designExamplePath() +
                                     ":47:3: sinks.datadog: sink \"datadog\" is not used by "
                                     "any route"));
}

TEST(LoaderTest, MinimalConfigGetsDefaults) {
  const ConfigResult r = load(minimal());
  ASSERT_TRUE(r.has_value()) << ::testing::PrintToString(r.error());
  const Config defaults;
  EXPECT_EQ(r->data_dir, defaults.data_dir);
  EXPECT_EQ(r->api_address, defaults.api_address);
  EXPECT_EQ(r->log.level, "info");
  EXPECT_EQ(r->log.format, "json");
  EXPECT_EQ(r->shutdown_timeout_secs, 30u);
  ASSERT_EQ(r->sinks.size(), 1u);
  const SinkConfig& out = r->sinks[0];
  EXPECT_EQ(out.encoding, Encoding::kOcsf);
  EXPECT_EQ(out.batch.max_events, BatchConfig{}.max_events);
  EXPECT_EQ(out.buffer.max_bytes, BufferConfig{}.max_bytes);
  EXPECT_EQ(out.concurrency, 1u);
  EXPECT_EQ(dynamic_cast<const StdoutSinkOptions&>(*out.options).format, StdoutFormat::kNdjson);
  const auto& o = dynamic_cast<const OpenAiSourceOptions&>(*r->sources[0].options);
  EXPECT_EQ(o.api_key, "sk-1");
  EXPECT_EQ(o.page_size, 100u);
  EXPECT_THAT(r->secrets, ElementsAre("sk-1"));
}

TEST(LoaderTest, ReadsEveryTopLevelAndCommonSinkKey) {
  const ConfigResult r = load(
      "data_dir: ./state\n"
      "api: {address: \"[::1]:0\"}\n"
      "log: {level: debug, format: text}\n"
      "shutdown_timeout_secs: 5\n" +
      replaced(minimal(), "    type: stdout\n",
               "    type: stdout\n"
               "    format: text\n"
               "    encoding: raw\n"
               "    batch: {max_events: 10, max_bytes: 2048, timeout_ms: 50}\n"
               "    retry: {initial_backoff_ms: 100, max_backoff_secs: 5, "
               "max_retry_duration_secs: 3600}\n"
               "    buffer: {max_events: 20, max_bytes: 4096, when_full: drop_newest}\n"
               "    concurrency: 64\n"
               "    unhealthy_after_secs: 60\n"));
  ASSERT_TRUE(r.has_value()) << ::testing::PrintToString(r.error());
  EXPECT_EQ(r->data_dir, "./state");
  EXPECT_EQ(r->api_address, "[::1]:0");
  EXPECT_EQ(r->log.level, "debug");
  EXPECT_EQ(r->log.format, "text");
  EXPECT_EQ(r->shutdown_timeout_secs, 5u);
  const SinkConfig& s = r->sinks[0];
  EXPECT_EQ(s.encoding, Encoding::kRaw);
  EXPECT_EQ(s.batch.max_events, 10u);
  EXPECT_EQ(s.batch.max_bytes, 2048u);
  EXPECT_EQ(s.batch.timeout_ms, 50u);
  EXPECT_EQ(s.retry.initial_backoff_ms, 100u);
  EXPECT_EQ(s.retry.max_backoff_secs, 5u);
  EXPECT_EQ(s.retry.max_retry_duration_secs, 3600u);
  EXPECT_EQ(s.buffer.max_events, 20u);
  EXPECT_EQ(s.buffer.max_bytes, 4096u);
  EXPECT_EQ(s.buffer.when_full, WhenFull::kDropNewest);
  EXPECT_EQ(s.concurrency, 64u);
  EXPECT_EQ(s.unhealthy_after_secs, 60u);
  EXPECT_EQ(dynamic_cast<const StdoutSinkOptions&>(*s.options).format, StdoutFormat::kText);
}

TEST(LoaderTest, SyntaxErrorHasItsPosition) {
  EXPECT_THAT(errorsOf("sources:\n  a: [1, 2\nsinks: {}\n"),
              ElementsAre("agent.yaml:3:6: invalid YAML: end of sequence flow not found"));
  EXPECT_THAT(errorsOf("a: b: c\n"),
              ElementsAre("agent.yaml:1:5: invalid YAML: illegal map value"));
}

TEST(LoaderTest, DocumentShapeErrors) {
  EXPECT_THAT(errorsOf(""), ElementsAre("agent.yaml:1:1: the configuration is empty"));
  EXPECT_THAT(errorsOf("# only a comment\n"),
              ElementsAre("agent.yaml:1:1: the configuration is empty"));
  EXPECT_THAT(errorsOf("- a\n- b\n"),
              ElementsAre("agent.yaml:1:1: the configuration must be a map of keys (data_dir, "
                          "sources, sinks, routes, ...)"));
  EXPECT_THAT(errorsOf(minimal() + "---\nother: 1\n"),
              ElementsAre("agent.yaml:13:1: expected one YAML document, found 2"));
}

TEST(LoaderTest, MissingFileIsAClearError) {
  siem::testing::TempDir dir;
  const std::string path = dir.path("nope.yaml");
  const ConfigResult r = loadConfigFile(path, testRegistry());
  ASSERT_FALSE(r.has_value());
  EXPECT_THAT(r.error(), ElementsAre(path + ": configuration file not found"));
  const ConfigResult d = loadConfigFile(dir.path(""), testRegistry());
  ASSERT_FALSE(d.has_value());
  EXPECT_THAT(d.error(), ElementsAre(dir.path("") + ": cannot read \"" + dir.path("") +
                                     "\": it is a directory"));
}

TEST(LoaderTest, LoadsAFileAndNamesItInErrors) {
  siem::testing::TempDir dir;
  const std::string good = dir.write("good.yaml", minimal());
  const ConfigResult r = loadConfigFile(good, testRegistry());
  ASSERT_TRUE(r.has_value()) << ::testing::PrintToString(r.error());
  EXPECT_EQ(r->path, good);
  const std::string bad = dir.write("bad.yaml", minimal() + "bogus: 1\n");
  const ConfigResult e = loadConfigFile(bad, testRegistry());
  ASSERT_FALSE(e.has_value());
  EXPECT_THAT(e.error(), ElementsAre(bad + ":12:1: unknown key \"bogus\""));
}

TEST(LoaderTest, ReportsEveryErrorAtOnceInFileOrder) {
  const std::string yaml =
      "data_dir: \"\"\n"
      "api: {address: nowhere}\n"
      "log: {level: verbose, format: xml}\n"
      "shutdown_timeout_secs: -1\n"
      "sources:\n"
      "  openai:\n"
      "    type: openai_audit_logs\n"
      "    api_key: sk-1\n"
      "    page_size: 500\n"
      "    pol_interval_secs: 10\n"
      "sinks:\n"
      "  out:\n"
      "    type: stdout\n"
      "    concurrency: 0\n"
      "routes:\n"
      "  - name: all\n"
      "    from: [\"*\"]\n"
      "    to: [out, nowhere]\n"
      "sink: {}\n";
  EXPECT_THAT(
      errorsOf(yaml),
      ElementsAre(
          "agent.yaml:1:11: data_dir: must not be empty",
          "agent.yaml:2:16: api.address: expected HOST:PORT (e.g. 0.0.0.0:9598 or [::1]:9598), "
          "got \"nowhere\"",
          "agent.yaml:3:14: log.level: must be one of trace, debug, info, warn, error (got "
          "\"verbose\")",
          "agent.yaml:3:31: log.format: must be one of json, text (got \"xml\")",
          "agent.yaml:4:24: shutdown_timeout_secs: must be between 0 and 3600 (got -1)",
          "agent.yaml:9:16: sources.openai.page_size: must be between 1 and 100 (got 500)",
          "agent.yaml:10:5: sources.openai: unknown key \"pol_interval_secs\" (did you mean "
          "\"poll_interval_secs\"?)",
          "agent.yaml:14:18: sinks.out.concurrency: must be between 1 and 64 (got 0)",
          "agent.yaml:18:15: routes[0].to[1]: unknown sink \"nowhere\"",
          "agent.yaml:19:1: unknown key \"sink\" (did you mean \"sinks\"?)"));
}

TEST(LoaderTest, DuplicateIdsAndKeysAreErrors) {
  const std::string yaml =
      "sources:\n"
      "  openai:\n"
      "    type: openai_audit_logs\n"
      "    api_key: sk-1\n"
      "  openai:\n"
      "    type: openai_audit_logs\n"
      "    api_key: sk-2\n"
      "sinks:\n"
      "  out:\n"
      "    type: stdout\n"
      "    format: text\n"
      "    format: ndjson\n"
      "  out:\n"
      "    type: stdout\n"
      "routes:\n"
      "  - name: all\n"
      "    from: [\"*\"]\n"
      "    to: [out]\n";
  EXPECT_THAT(errorsOf(yaml),
              ElementsAre("agent.yaml:5:3: sources: duplicate source id \"openai\" (first "
                          "defined on line 2)",
                          "agent.yaml:12:5: sinks.out: duplicate key \"format\" (first defined "
                          "on line 11)",
                          "agent.yaml:13:3: sinks: duplicate sink id \"out\" (first defined on "
                          "line 9)"));
}

TEST(LoaderTest, NonStringKeysAreErrors) {
  EXPECT_THAT(errorsOf(minimal() + "? [a, b]\n: 1\n"),
              ElementsAre("agent.yaml:12:3: keys must be plain strings, not a list or a map"));
}

TEST(LoaderTest, RouteChecks) {
  const std::string yaml =
      "sources:\n"
      "  openai_prod:\n"
      "    type: openai_audit_logs\n"
      "    api_key: sk-1\n"
      "sinks:\n"
      "  splunk:\n"
      "    type: stdout\n"
      "  archive:\n"
      "    type: stdout\n"
      "routes:\n"
      "  - name: a\n"
      "    from: [openai_prd, openai_prod, openai_prod]\n"
      "    to: [splunkk, archive]\n"
      "  - name: a\n"
      "    from: openai_prod\n"
      "    to: []\n"
      "  - from: [\"*\"]\n"
      "    when: {outcome: failed, colour: red}\n"
      "  - just a string\n";
  EXPECT_THAT(
      errorsOf(yaml),
      ElementsAre(
          "agent.yaml:6:3: sinks.splunk: sink \"splunk\" is not used by any route",
          "agent.yaml:12:12: routes[0].from[0]: unknown source \"openai_prd\" (did you mean "
          "\"openai_prod\"?) (use \"*\" for every source)",
          "agent.yaml:12:37: routes[0].from[2]: \"openai_prod\" is listed twice",
          "agent.yaml:13:10: routes[0].to[0]: unknown sink \"splunkk\" (did you mean "
          "\"splunk\"?)",
          "agent.yaml:14:11: routes[1].name: duplicate route name \"a\" (first used on line 11)",
          "agent.yaml:16:9: routes[1].to: must name at least one sink",
          "agent.yaml:17:5: routes[2]: missing required key \"name\"",
          "agent.yaml:17:5: routes[2]: missing required key \"to\"",
          "agent.yaml:18:21: routes[2].when.outcome: must be one of success, failure (got "
          "\"failed\")",
          "agent.yaml:18:29: routes[2].when: unknown key \"colour\"",
          "agent.yaml:19:5: routes[3]: expected a map, got a single value"));
}

TEST(LoaderTest, RouteConditionsAcceptStringsOrLists) {
  const ConfigResult r = load(replaced(minimal(), "    to: [out]\n",
                                       "    when:\n"
                                       "      type: \"api_key.*\"\n"
                                       "      outcome: success\n"
                                       "      actor_type: [session, api_key]\n"
                                       "      actor_email: \"*@example.com\"\n"
                                       "      project_id: proj_1\n"
                                       "    to: out\n"));
  ASSERT_TRUE(r.has_value()) << ::testing::PrintToString(r.error());
  const RouteConfig& route = r->routes[0];
  EXPECT_THAT(route.when.type_globs, ElementsAre("api_key.*"));
  EXPECT_EQ(route.when.outcome, "success");
  EXPECT_THAT(route.when.actor_types, ElementsAre("session", "api_key"));
  EXPECT_THAT(route.when.actor_email_globs, ElementsAre("*@example.com"));
  EXPECT_THAT(route.when.project_ids, ElementsAre("proj_1"));
  EXPECT_THAT(route.to, ElementsAre("out"));
  EXPECT_EQ(route.mark.line, 9);
  EXPECT_EQ(route.mark.column, 5);
}

TEST(LoaderTest, UnreadSourceIsAnError) {
  const std::string yaml =
      replaced(replaced(minimal(), "sinks:\n",
                        "  spare:\n    type: openai_audit_logs\n    api_key: sk-2\nsinks:\n"),
               "from: [\"*\"]", "from: [openai]");
  EXPECT_THAT(errorsOf(yaml),
              ElementsAre("agent.yaml:5:3: sources.spare: source \"spare\" is not read by any "
                          "route (its events would all be discarded)"));
}

TEST(LoaderTest, SectionsMustNotBeEmpty) {
  EXPECT_THAT(errorsOf("data_dir: /tmp/x\n"),
              ElementsAre("agent.yaml:1:1: sources: at least one source is required",
                          "agent.yaml:1:1: sinks: at least one sink is required",
                          "agent.yaml:1:1: routes: at least one route is required"));
  EXPECT_THAT(errorsOf("sources: {}\nsinks:\nroutes: []\n"),
              ElementsAre("agent.yaml:1:10: sources: at least one source is required",
                          "agent.yaml:2:1: sinks: at least one sink is required",
                          "agent.yaml:3:9: routes: at least one route is required"));
  EXPECT_THAT(errorsOf("sources: [a]\nsinks: x\nroutes: {}\n"),
              ElementsAre("agent.yaml:1:1: sources: expected a map, got a list",
                          "agent.yaml:2:1: sinks: expected a map, got a single value",
                          "agent.yaml:3:9: routes: expected a list of maps, got a map"));
}

TEST(LoaderTest, UnknownTypesSuggestAndListTheAvailableOnes) {
  const std::string yaml =
      replaced(replaced(minimal(), "type: openai_audit_logs\n    api_key: sk-1\n",
                        "type: openai_audit_log\n    anything: 1\n"),
               "type: stdout\n", "type: splunk-hec\n    token: t\n    endpoint: https://x\n");
  EXPECT_THAT(errorsOf(yaml),
              ElementsAre("agent.yaml:3:11: sources.openai.type: unknown source type "
                          "\"openai_audit_log\" (did you mean \"openai_audit_logs\"?); "
                          "available: openai_audit_logs, file",
                          "agent.yaml:7:11: sinks.out.type: unknown sink type \"splunk-hec\" "
                          "(did you mean \"splunk_hec\"?); available: splunk_hec, kafka, "
                          "datadog_logs, syslog, file, stdout, null"));
  EXPECT_THAT(errorsOf(replaced(minimal(), "    type: stdout\n", "    encoding: raw\n")),
              ElementsAre("agent.yaml:6:3: sinks.out: missing required key \"type\""));
}

TEST(LoaderTest, EncodingMustBeAvailableForTheSinkType) {
  EXPECT_THAT(errorsOf(replaced(minimal(), "type: stdout\n", "type: syslog\n    encoding: ecs\n")),
              ElementsAre("agent.yaml:8:15: sinks.out.encoding: encoding \"ecs\" is not "
                          "available for sink type syslog in this build (available: ocsf, raw)"));
  // The default (ocsf) is checked too, at the sink when the key is absent.
  EXPECT_THAT(errorsOf(replaced(minimal(), "type: stdout\n", "type: \"null\"\n")),
              ElementsAre("agent.yaml:6:3: sinks.out.encoding: encoding \"ocsf\" is not "
                          "available for sink type null in this build (available: raw)"));
  EXPECT_THAT(errorsOf(replaced(minimal(), "type: stdout\n", "type: stdout\n    encoding: json\n")),
              ElementsAre("agent.yaml:8:15: sinks.out.encoding: must be one of ocsf, ecs, raw "
                          "(got \"json\")"));
}

TEST(LoaderTest, TypeWithoutOwnKeysHasNoOptions) {
  const ConfigResult r =
      load(replaced(minimal(), "type: stdout\n", "type: \"null\"\n    encoding: raw\n"));
  ASSERT_TRUE(r.has_value()) << ::testing::PrintToString(r.error());
  EXPECT_EQ(r->sinks[0].options, nullptr);
  EXPECT_THAT(errorsOf(replaced(minimal(), "type: stdout\n",
                                "type: \"null\"\n    encoding: raw\n    path: /x\n")),
              ElementsAre("agent.yaml:9:5: sinks.out: unknown key \"path\""));
}

TEST(LoaderTest, CommonSinkKeyErrors) {
  const std::string yaml =
      replaced(minimal(), "type: stdout\n",
               "type: stdout\n"
               "    batch: {max_events: 0, max_bytes: 1kb, timeout_ms: 10, size: 3}\n"
               "    retry: {initial_backoff_ms: 120000, max_backoff_secs: 60}\n"
               "    buffer: {max_events: 100, when_full: drop_oldest}\n"
               "    unhealthy_after_secs: 0\n");
  EXPECT_THAT(
      errorsOf(yaml),
      ElementsAre(
          "agent.yaml:8:25: sinks.out.batch.max_events: must be between 1 and 100000 (got 0)",
          "agent.yaml:8:39: sinks.out.batch.max_bytes: expected an integer, got \"1kb\"",
          "agent.yaml:8:60: sinks.out.batch: unknown key \"size\"",
          "agent.yaml:9:33: sinks.out.retry.initial_backoff_ms: must not exceed "
          "max_backoff_secs (60 s)",
          "agent.yaml:10:26: sinks.out.buffer.max_events: must be at least batch.max_events "
          "(500)",
          "agent.yaml:10:42: sinks.out.buffer.when_full: must be one of block, drop_newest (got "
          "\"drop_oldest\") (did you mean \"drop_newest\"?)",
          "agent.yaml:11:27: sinks.out.unhealthy_after_secs: must be between 1 and 604800 (got "
          "0)"));
}

TEST(LoaderTest, InvalidIdsAreErrors) {
  EXPECT_THAT(errorsOf(replaced(minimal(), "  openai:\n", "  \"../evil\":\n")),
              ElementsAre("agent.yaml:2:3: sources: invalid source id \"../evil\": use 1 to 64 "
                          "letters, digits, \"_\", \"-\" or \".\", starting with a letter, digit "
                          "or \"_\" (ids name files under data_dir)"));
}

TEST(LoaderTest, InterpolationInTheLoader) {
  const std::string yaml =
      "data_dir: ${STATE_DIR:-/var/lib/x}\n"
      "api: {address: \"${API_HOST}:9598\"}\n"
      "shutdown_timeout_secs: ${GRACE}\n" +
      minimal();
  EXPECT_THAT(errorsOf(yaml, {{"GRACE", "7"}}),
              ElementsAre("agent.yaml:2:16: api.address: environment variable API_HOST is not "
                          "set (write ${API_HOST:-default} to give a default)"));
  const ConfigResult r = load(yaml, {{"GRACE", "7"}, {"API_HOST", "127.0.0.1"}});
  ASSERT_TRUE(r.has_value()) << ::testing::PrintToString(r.error());
  EXPECT_EQ(r->data_dir, "/var/lib/x");
  EXPECT_EQ(r->api_address, "127.0.0.1:9598");
  EXPECT_EQ(r->shutdown_timeout_secs, 7u);
  EXPECT_THAT(r->secrets, ElementsAre("sk-1"));  // interpolated values are not secrets
}

TEST(LoaderTest, SecretsFromFilesAreRecorded) {
  siem::testing::TempDir dir;
  const std::string key_file = dir.write("admin-key", "sk-from-file\n");
  const ConfigResult r = load(replaced(minimal(), "api_key: sk-1", "api_key_file: " + key_file));
  ASSERT_TRUE(r.has_value()) << ::testing::PrintToString(r.error());
  const auto& o = dynamic_cast<const OpenAiSourceOptions&>(*r->sources[0].options);
  EXPECT_EQ(o.api_key, "sk-from-file");
  EXPECT_EQ(o.api_key_file, key_file);
  EXPECT_THAT(r->secrets, ElementsAre("sk-from-file"));
}

TEST(LoaderTest, ApiAddressForms) {
  for (const char* good : {"0.0.0.0:9598", "localhost:1", "[::]:9598", "[::1]:65535", "h:0"}) {
    EXPECT_THAT(errorsOf("api: {address: \"" + std::string(good) + "\"}\n" + minimal()), IsEmpty())
        << good;
  }
  for (const char* bad : {"9598", ":9598", "host:", "host:65536", "host:80x", "[::1:80", "a b:1",
                          "[zz]:1", "::1:80"}) {
    EXPECT_THAT(errorsOf("api: {address: \"" + std::string(bad) + "\"}\n" + minimal()),
                ElementsAre("agent.yaml:1:16: api.address: expected HOST:PORT (e.g. "
                            "0.0.0.0:9598 or [::1]:9598), got \"" +
                            std::string(bad) + "\""))
        << bad;
  }
}

}  // namespace
}  // namespace siem
