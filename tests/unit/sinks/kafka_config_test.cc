// The options of `type: kafka`: defaults, every key, and the librdkafka passthrough checked
// against librdkafka itself.
#include "sinks/kafka/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/config/reader.h"
#include "tests/unit/config/test_util.h"

namespace siem {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

class KafkaConfigTest : public ::testing::Test {
 protected:
  std::shared_ptr<const KafkaSinkOptions> parse(const std::string& yaml,
                                                std::map<std::string, std::string> env = {}) {
    context_ = std::make_unique<ConfigContext>("t.yaml", siem::testing::fakeEnv(std::move(env)));
    node_ = YAML::Load(yaml);
    ConfigMap map(*context_, node_, "sinks.k", Mark{"t.yaml", 1, 1});
    map.string("type");      // common keys, read by the loader in the agent
    map.string("encoding");  //
    auto options = std::dynamic_pointer_cast<const KafkaSinkOptions>(parseKafkaSinkOptions(map));
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

TEST_F(KafkaConfigTest, Defaults) {
  const auto o = parse("type: kafka\nbrokers: [\"k:9092\"]\ntopic: security.openai.audit\n");
  ASSERT_NE(o, nullptr);
  EXPECT_THAT(errors(), IsEmpty());
  EXPECT_THAT(o->brokers, ElementsAre("k:9092"));
  EXPECT_EQ(o->topic, "security.openai.audit");
  EXPECT_EQ(o->key, "{id}");
  EXPECT_TRUE(o->headers);
  EXPECT_EQ(o->compression, "none");
  EXPECT_EQ(o->acks, "all");
  EXPECT_TRUE(o->enable_idempotence);
  EXPECT_EQ(o->linger_ms, 5u);
  EXPECT_EQ(o->batch_num_messages, 10'000u);
  EXPECT_EQ(o->message_timeout_ms, 300'000u);
  EXPECT_EQ(o->statistics_interval_ms, 30'000u);
  EXPECT_THAT(o->librdkafka, IsEmpty());

  const auto props = kafkaProperties(*o, "siem-agent-k");
  EXPECT_THAT(props, Contains(Pair("bootstrap.servers", "k:9092")));
  EXPECT_THAT(props, Contains(Pair("acks", "all")));
  EXPECT_THAT(props, Contains(Pair("enable.idempotence", "true")));
  EXPECT_THAT(props, Contains(Pair("client.id", "siem-agent-k")));
}

TEST_F(KafkaConfigTest, EveryKey) {
  const auto o = parse(
      "type: kafka\n"
      "encoding: ocsf\n"
      "brokers: [\"a:9092\", \"b:9093\"]\n"
      "topic: \"ocsf.{class_uid}\"\n"
      "key: \"{source_id}:{id}\"\n"
      "headers: false\n"
      "compression: zstd\n"
      "acks: 1\n"
      "enable_idempotence: false\n"
      "linger_ms: 20\n"
      "batch_num_messages: 5000\n"
      "message_timeout_ms: 60000\n"
      "statistics_interval_ms: 0\n"
      "librdkafka:\n"
      "  security.protocol: SASL_SSL\n"
      "  sasl.mechanisms: PLAIN\n"
      "  sasl.username: agent\n"
      "  sasl.password: ${KAFKA_PASSWORD}\n"
      "  partitioner: murmur2_random\n",
      {{"KAFKA_PASSWORD", "hunter2-secret"}});
  ASSERT_NE(o, nullptr);
  EXPECT_THAT(errors(), IsEmpty());
  EXPECT_THAT(o->brokers, ElementsAre("a:9092", "b:9093"));
  EXPECT_EQ(o->topic, "ocsf.{class_uid}");
  EXPECT_EQ(o->key, "{source_id}:{id}");
  EXPECT_FALSE(o->headers);
  EXPECT_EQ(o->compression, "zstd");
  EXPECT_EQ(o->acks, "1");
  EXPECT_FALSE(o->enable_idempotence);
  EXPECT_EQ(o->linger_ms, 20u);
  EXPECT_EQ(o->batch_num_messages, 5000u);
  EXPECT_EQ(o->message_timeout_ms, 60000u);
  EXPECT_EQ(o->statistics_interval_ms, 0u);
  EXPECT_THAT(o->librdkafka,
              ElementsAre(Pair("security.protocol", "SASL_SSL"), Pair("sasl.mechanisms", "PLAIN"),
                          Pair("sasl.username", "agent"), Pair("sasl.password", "hunter2-secret"),
                          Pair("partitioner", "murmur2_random")));
  // The password is registered as a secret, so the logger redacts it.
  EXPECT_THAT(context_->secrets(), Contains("hunter2-secret"));
  const auto props = kafkaProperties(*o, "id");
  EXPECT_THAT(props, Contains(Pair("bootstrap.servers", "a:9092,b:9093")));
  EXPECT_THAT(props, Contains(Pair("compression.codec", "zstd")));
}

TEST_F(KafkaConfigTest, SecretFromFile) {
  siem::testing::TempDir dir;
  const std::string file = dir.write("pw", "from-file-secret\n");
  const auto o =
      parse("brokers: [k:1]\ntopic: t\nlibrdkafka:\n  sasl.password_file: " + file + "\n");
  EXPECT_THAT(errors(), IsEmpty());
  EXPECT_THAT(o->librdkafka, ElementsAre(Pair("sasl.password", "from-file-secret")));
  EXPECT_THAT(context_->secrets(), Contains("from-file-secret"));
}

TEST_F(KafkaConfigTest, UnknownLibrdkafkaPropertyIsAnErrorWithItsName) {
  parse("brokers: [k:1]\ntopic: t\nlibrdkafka:\n  socket.keepalive.enabel: true\n");
  EXPECT_THAT(allErrors(),
              AllOf(HasSubstr("t.yaml:4:"),
                    HasSubstr("sinks.k.librdkafka.socket.keepalive.enabel: unknown librdkafka "
                              "property \"socket.keepalive.enabel\""),
                    HasSubstr("did you mean \"socket.keepalive.enable\"")));
}

TEST_F(KafkaConfigTest, SuggestsPropertiesWithoutDefaults) {
  parse("brokers: [k:1]\ntopic: t\nlibrdkafka:\n  sasl.usernme: agent\n  partitionr: murmur2\n");
  EXPECT_THAT(allErrors(), HasSubstr("did you mean \"sasl.username\""));
  EXPECT_THAT(allErrors(), HasSubstr("did you mean \"partitioner\""));
}

TEST_F(KafkaConfigTest, InvalidValuesAreReportedButSecretsAreNotEchoed) {
  parse(
      "brokers: [k:1]\ntopic: t\nlibrdkafka:\n"
      "  security.protocol: carrier_pigeon\n"
      "  ssl.key.password: [not, a, scalar]\n"
      "  sasl.mechanisms: PLAIN\n");
  const std::string all = allErrors();
  EXPECT_THAT(all, HasSubstr("sinks.k.librdkafka.security.protocol: invalid value"));
  EXPECT_THAT(all, HasSubstr("carrier_pigeon"));  // not a secret: the value helps
  EXPECT_THAT(all, HasSubstr("sinks.k.librdkafka.ssl.key.password: expected a string"));
  EXPECT_THAT(all, Not(HasSubstr("not, a")));
}

TEST_F(KafkaConfigTest, ReservedAndUnsupportedProperties) {
  parse(
      "brokers: [k:1]\ntopic: t\nlibrdkafka:\n"
      "  bootstrap.servers: other:9092\n"
      "  linger.ms: 7\n"
      "  transactional.id: x\n");
  const std::string all = allErrors();
  EXPECT_THAT(all,
              HasSubstr("librdkafka.bootstrap.servers: set by the sink's own key \"brokers\""));
  EXPECT_THAT(all, HasSubstr("librdkafka.linger.ms: set by the sink's own key \"linger_ms\""));
  EXPECT_THAT(all, HasSubstr("librdkafka.transactional.id: transactions are not supported"));
}

TEST_F(KafkaConfigTest, RequiredKeysAndChecks) {
  parse("compression: brotli\nacks: 1\n");
  const std::string all = allErrors();
  EXPECT_THAT(all, HasSubstr("sinks.k.brokers: at least one broker"));
  EXPECT_THAT(all, HasSubstr("sinks.k: missing required key \"topic\""));
  EXPECT_THAT(all, HasSubstr("sinks.k.compression"));
  EXPECT_THAT(all, HasSubstr("sinks.k.acks: must be all while enable_idempotence is true"));
}

TEST_F(KafkaConfigTest, TemplateErrors) {
  parse("encoding: raw\nbrokers: [\"a:1,b:2\"]\ntopic: \"t.{clas_uid}\"\nkey: \"{class_uid}\"\n");
  const std::string all = allErrors();
  EXPECT_THAT(all, HasSubstr("brokers[0]: one broker (host:port) per list item"));
  EXPECT_THAT(all, HasSubstr("sinks.k.topic: unknown field \"clas_uid\""));
  EXPECT_THAT(all, HasSubstr("sinks.k.key: {class_uid} needs encoding: ocsf"));
  parse("encoding: raw\nbrokers: [a:1]\ntopic: \"bad topic/{type}\"\n");
  EXPECT_THAT(allErrors(), HasSubstr("sinks.k.topic: renders an invalid topic name"));
}

TEST_F(KafkaConfigTest, EmptyKeyMeansNoKey) {
  const auto o = parse("brokers: [a:1]\ntopic: t\nkey: \"\"\n");
  EXPECT_THAT(errors(), IsEmpty());
  EXPECT_TRUE(o->key.empty());
}

TEST(KafkaSecretPropertyTest, KnowsCredentialProperties) {
  EXPECT_TRUE(isSecretKafkaProperty("sasl.password"));
  EXPECT_TRUE(isSecretKafkaProperty("ssl.key.password"));
  EXPECT_TRUE(isSecretKafkaProperty("ssl.keystore.password"));
  EXPECT_TRUE(isSecretKafkaProperty("sasl.oauthbearer.client.secret"));
  EXPECT_TRUE(isSecretKafkaProperty("ssl.key.pem"));
  EXPECT_TRUE(isSecretKafkaProperty("sasl.oauthbearer.config"));
  EXPECT_FALSE(isSecretKafkaProperty("sasl.username"));
  EXPECT_FALSE(isSecretKafkaProperty("ssl.ca.location"));
}

}  // namespace
}  // namespace siem
