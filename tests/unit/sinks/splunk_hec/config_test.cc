#include "sinks/splunk_hec/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/config/reader.h"
#include "tests/unit/config/test_util.h"

namespace siem {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class SplunkHecOptionsTest : public ::testing::Test {
 protected:
  std::shared_ptr<const SplunkHecSinkOptions> parse(const std::string& yaml) {
    context_ = std::make_unique<ConfigContext>("t.yaml", siem::testing::fakeEnv({}));
    node_ = YAML::Load(yaml);
    ConfigMap map(*context_, node_, "sinks.hec", Mark{"t.yaml", 1, 1});
    auto options =
        std::dynamic_pointer_cast<const SplunkHecSinkOptions>(parseSplunkHecSinkOptions(map));
    map.finish();
    return options;
  }
  std::vector<std::string> errors() const { return context_->errors(); }
  std::string allErrors() const {
    std::string out;
    for (const auto& e : errors()) out += e + "\n";
    return out;
  }

  std::unique_ptr<ConfigContext> context_;
  YAML::Node node_;
};

TEST_F(SplunkHecOptionsTest, Defaults) {
  const auto o = parse("endpoint: https://splunk.example:8088\ntoken: abc\n");
  ASSERT_NE(o, nullptr);
  EXPECT_THAT(errors(), IsEmpty());
  EXPECT_EQ(o->endpoint, "https://splunk.example:8088");
  EXPECT_EQ(o->token, "abc");
  EXPECT_EQ(o->token_file, "");
  EXPECT_EQ(o->host, "");
  EXPECT_EQ(o->source, "siem-agent:{source_id}");
  EXPECT_EQ(o->sourcetype, "");
  EXPECT_EQ(o->index, "");
  EXPECT_THAT(o->fields, IsEmpty());
  EXPECT_EQ(o->compression, HecCompression::kGzip);
  EXPECT_EQ(o->compression_level, 1);
  EXPECT_EQ(o->max_event_bytes, 5u << 20);
  EXPECT_FALSE(o->indexer_ack);
  EXPECT_EQ(o->ack_timeout_secs, 300u);
  EXPECT_EQ(o->ack_poll_interval_ms, 1000u);
  EXPECT_EQ(o->timeout_secs, 30u);
  EXPECT_TRUE(o->healthcheck);
  EXPECT_TRUE(o->tls.verify);
  EXPECT_THAT(context_->secrets(), ElementsAre("abc"));
}

TEST_F(SplunkHecOptionsTest, EveryKey) {
  siem::testing::TempDir dir;
  const std::string token = dir.write("token", "from-file\n");
  const auto o = parse(
      "endpoint: http://127.0.0.1:8088/services/collector/event/\n"
      "token_file: " +
      token +
      "\n"
      "host: collector-{source_id}\n"
      "source: openai\n"
      "sourcetype: ocsf:{family}\n"
      "index: oai_{ocsf_class}\n"
      "fields: { env: prod, outcome: '{outcome}' }\n"
      "compression: none\n"
      "compression_level: 9\n"
      "max_event_bytes: 100000\n"
      "indexer_ack: true\n"
      "ack_timeout_secs: 60\n"
      "ack_poll_interval_ms: 250\n"
      "timeout_secs: 5\n"
      "healthcheck: false\n"
      "tls: { verify: false, ca_file: /ca.pem, server_name: splunk.internal }\n");
  ASSERT_NE(o, nullptr);
  EXPECT_THAT(errors(), IsEmpty()) << allErrors();
  EXPECT_EQ(o->endpoint, "http://127.0.0.1:8088");
  EXPECT_EQ(o->token, "from-file");
  EXPECT_EQ(o->token_file, token);
  EXPECT_EQ(o->host, "collector-{source_id}");
  EXPECT_EQ(o->source, "openai");
  EXPECT_EQ(o->sourcetype, "ocsf:{family}");
  EXPECT_EQ(o->index, "oai_{ocsf_class}");
  using Field = std::pair<std::string, std::string>;
  EXPECT_THAT(o->fields, ElementsAre(Field{"env", "prod"}, Field{"outcome", "{outcome}"}));
  EXPECT_EQ(o->compression, HecCompression::kNone);
  EXPECT_EQ(o->compression_level, 9);
  EXPECT_EQ(o->max_event_bytes, 100000u);
  EXPECT_TRUE(o->indexer_ack);
  EXPECT_EQ(o->ack_timeout_secs, 60u);
  EXPECT_EQ(o->ack_poll_interval_ms, 250u);
  EXPECT_EQ(o->timeout_secs, 5u);
  EXPECT_FALSE(o->healthcheck);
  EXPECT_FALSE(o->tls.verify);
  EXPECT_EQ(o->tls.ca_file, "/ca.pem");
  EXPECT_EQ(o->tls.server_name, "splunk.internal");
}

TEST_F(SplunkHecOptionsTest, EndpointWithTheCollectorPathIsAccepted) {
  EXPECT_EQ(parse("endpoint: https://h:8088/services/collector\ntoken: t\n")->endpoint,
            "https://h:8088");
  EXPECT_EQ(parse("endpoint: https://h/prefix/\ntoken: t\n")->endpoint, "https://h/prefix");
}

TEST_F(SplunkHecOptionsTest, ReportsEveryProblemWithItsKey) {
  parse(
      "endpoint: splunk:8088\n"
      "host: '{hostname}'\n"
      "index: 'oai_{type'\n"
      "fields: { '1bad': x, good: '{nope}' }\n"
      "compression: zstd\n"
      "compression_level: 0\n"
      "max_event_bytes: 10\n"
      "ack_timeout_secs: 0\n"
      "ack_poll_interval_ms: 1\n"
      "timeout_secs: 0\n"
      "tls: { cert_file: /c.pem }\n"
      "batch_size: 3\n");
  const std::string all = allErrors();
  EXPECT_THAT(all, HasSubstr("sinks.hec.endpoint: must start with https:// or http://"));
  EXPECT_THAT(all, HasSubstr("sinks.hec: token or token_file is required"));
  EXPECT_THAT(all, HasSubstr("sinks.hec.host: unknown placeholder {hostname}"));
  EXPECT_THAT(all, HasSubstr("sinks.hec.index: unclosed '{'"));
  EXPECT_THAT(all, HasSubstr("\"1bad\" is not a field name"));
  EXPECT_THAT(all, HasSubstr("good: unknown placeholder {nope}"));
  EXPECT_THAT(all, HasSubstr("sinks.hec.compression"));
  EXPECT_THAT(all, HasSubstr("sinks.hec.compression_level"));
  EXPECT_THAT(all, HasSubstr("sinks.hec.max_event_bytes"));
  EXPECT_THAT(all, HasSubstr("sinks.hec.ack_timeout_secs"));
  EXPECT_THAT(all, HasSubstr("sinks.hec.ack_poll_interval_ms"));
  EXPECT_THAT(all, HasSubstr("sinks.hec.timeout_secs"));
  EXPECT_THAT(all, HasSubstr("cert_file and key_file must be given together"));
  EXPECT_THAT(all, HasSubstr("unknown key \"batch_size\""));
}

TEST_F(SplunkHecOptionsTest, TokenAndTokenFileTogetherIsAnErrorThatHidesTheValue) {
  parse("endpoint: https://h\ntoken: s3cret-value\ntoken_file: /x\n");
  const std::string all = allErrors();
  EXPECT_THAT(all, HasSubstr("give either token or token_file"));
  EXPECT_EQ(all.find("s3cret-value"), std::string::npos);
}

}  // namespace
}  // namespace siem
