#include "agent/config/reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/config/test_util.h"

namespace siem {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// Parses `yaml` and reads it through a ConfigMap; errors() are what the loader would report.
class ReaderTest : public ::testing::Test {
 protected:
  ConfigMap load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
    context_ = std::make_unique<ConfigContext>("t.yaml", siem::testing::fakeEnv(std::move(env)));
    node_ = YAML::Load(yaml);
    return ConfigMap(*context_, node_, "", Mark{"t.yaml", 1, 1});
  }
  std::vector<std::string> errors() const { return context_->errors(); }
  const std::vector<std::string>& secrets() const { return context_->secrets(); }

  std::unique_ptr<ConfigContext> context_;
  YAML::Node node_;
  siem::testing::TempDir dir_;
};

TEST_F(ReaderTest, ReadsTypedValues) {
  ConfigMap m = load(
      "name: agent\n"
      "enabled: TRUE\n"
      "count: 42\n"
      "offset: -7\n"
      "rate: 2.5\n"
      "mode: drop_newest\n"
      "items: [a, b]\n"
      "single: c\n"
      "quoted: \"17\"\n");
  EXPECT_EQ(m.string("name"), "agent");
  EXPECT_TRUE(m.boolean("enabled", false));
  EXPECT_EQ(m.unsignedInt<std::uint32_t>("count", 1, 0, 100), 42u);
  EXPECT_EQ(m.integer("offset", 0, -10, 10), -7);
  EXPECT_DOUBLE_EQ(m.number("rate", 1, 0, 10), 2.5);
  EXPECT_EQ(m.choice("mode", "block", {"block", "drop_newest"}), "drop_newest");
  EXPECT_THAT(m.stringList("items"), ElementsAre("a", "b"));
  EXPECT_THAT(m.stringList("single"), ElementsAre("c"));
  EXPECT_EQ(m.unsignedInt<std::uint32_t>("quoted", 1, 0, 100), 17u);
  m.finish();
  EXPECT_THAT(errors(), IsEmpty());
}

TEST_F(ReaderTest, AbsentAndNullKeysGiveTheFallback) {
  ConfigMap m = load("nothing:\nlist: ~\n");
  EXPECT_EQ(m.string("nothing", "dflt"), "dflt");
  EXPECT_EQ(m.string("absent", "dflt"), "dflt");
  EXPECT_FALSE(m.has("nothing"));
  EXPECT_FALSE(m.has("absent"));
  EXPECT_EQ(m.unsignedInt<std::uint32_t>("absent", 9, 1, 10), 9u);
  EXPECT_THAT(m.stringList("list"), IsEmpty());
  m.finish();
  EXPECT_THAT(errors(), IsEmpty());
}

TEST_F(ReaderTest, WrongTypesAreReportedAtTheValue) {
  ConfigMap m = load(
      "name: {a: 1}\n"
      "count: abc\n"
      "flag: yes\n"
      "rate: fast\n"
      "items: {x: 1}\n"
      "list:\n"
      "  - ok\n"
      "  - [nested]\n"
      "  -\n"
      "sub: [1]\n");
  m.string("name");
  m.unsignedInt<std::uint32_t>("count", 1, 0, 10);
  m.boolean("flag", false);
  m.number("rate", 1, 0, 10);
  m.stringList("items");
  m.stringList("list");
  m.map("sub");
  EXPECT_THAT(errors(), ElementsAre("t.yaml:1:7: name: expected a string, got a map",
                                    "t.yaml:2:8: count: expected an integer, got \"abc\"",
                                    "t.yaml:3:7: flag: expected true or false, got \"yes\"",
                                    "t.yaml:4:7: rate: expected a number, got \"fast\"",
                                    "t.yaml:5:8: items: expected a list of strings, got a map",
                                    "t.yaml:7:3: list[2]: must not be empty",
                                    "t.yaml:8:5: list[1]: expected a string, got a list",
                                    "t.yaml:10:1: sub: expected a map, got a list"));
}

TEST_F(ReaderTest, OutOfRangeValuesAreReported) {
  ConfigMap m = load(
      "a: 0\n"
      "b: 65\n"
      "c: -1\n"
      "d: 99999999999999999999999\n"
      "e: 0\n"
      "f: -11\n"
      "g: 1001\n");
  EXPECT_EQ(m.unsignedInt<std::uint32_t>("a", 5, 1, 64), 5u);
  EXPECT_EQ(m.unsignedInt<std::uint32_t>("b", 5, 1, 64), 5u);
  m.unsignedInt<std::uint32_t>("c", 5, 0, 64);
  m.unsignedInt64("d", 5, 1, std::numeric_limits<std::uint64_t>::max());
  m.number("e", 5, 0, 1000, /*min_exclusive=*/true);
  m.integer("f", 0, -10, 10);
  m.number("g", 5, 0, 1000);
  EXPECT_THAT(errors(),
              ElementsAre("t.yaml:1:4: a: must be between 1 and 64 (got 0)",
                          "t.yaml:2:4: b: must be between 1 and 64 (got 65)",
                          "t.yaml:3:4: c: must be between 0 and 64 (got -1)",
                          "t.yaml:4:4: d: must be at least 1 (got 99999999999999999999999)",
                          "t.yaml:5:4: e: must be greater than 0 and at most 1000 (got 0)",
                          "t.yaml:6:4: f: must be between -10 and 10 (got -11)",
                          "t.yaml:7:4: g: must be between 0 and 1000 (got 1001)"));
}

TEST_F(ReaderTest, ChoiceListsTheAllowedValues) {
  enum class Mode { kBlock, kDrop };
  ConfigMap m = load("a: blok\nb: sideways\nc: drop\n");
  EXPECT_EQ(m.choice("a", "block", {"block", "drop_newest"}), "block");
  EXPECT_EQ(m.choice<Mode>("b", Mode::kBlock, {{"block", Mode::kBlock}, {"drop", Mode::kDrop}}),
            Mode::kBlock);
  EXPECT_EQ(m.choice<Mode>("c", Mode::kBlock, {{"block", Mode::kBlock}, {"drop", Mode::kDrop}}),
            Mode::kDrop);
  EXPECT_THAT(errors(),
              ElementsAre("t.yaml:1:4: a: must be one of block, drop_newest (got "
                          "\"blok\") (did you mean \"block\"?)",
                          "t.yaml:2:4: b: must be one of block, drop (got \"sideways\")"));
}

TEST_F(ReaderTest, RequiredStringReportsMissingAndEmpty) {
  ConfigMap m = load("sub:\n  empty: \"\"\n  null_value:\n");
  ConfigMap sub = m.map("sub");
  sub.requiredString("empty");
  sub.requiredString("null_value");
  sub.requiredString("absent");
  EXPECT_THAT(errors(), ElementsAre("t.yaml:1:1: sub: missing required key \"absent\"",
                                    "t.yaml:2:10: sub.empty: must not be empty",
                                    "t.yaml:3:3: sub.null_value: must not be empty"));
}

TEST_F(ReaderTest, UnknownKeysAreReportedWithHints) {
  ConfigMap m = load(
      "sinks: 1\n"
      "tls:\n"
      "  verfy: false\n"
      "  ca_file: x\n"
      "zzz: 2\n");
  m.string("sink");
  m.tls("tls");
  m.finish();
  m.finish();  // idempotent
  EXPECT_THAT(errors(),
              ElementsAre("t.yaml:1:1: unknown key \"sinks\" (did you mean \"sink\"?)",
                          "t.yaml:3:3: tls: unknown key \"verfy\" (did you mean \"verify\"?)",
                          "t.yaml:5:1: unknown key \"zzz\""));
}

TEST_F(ReaderTest, NestedMapsAreFinishedWithTheirParent) {
  ConfigMap m = load("outer:\n  inner:\n    known: 1\n    extra: 2\n");
  ConfigMap inner = m.map("outer").map("inner");
  EXPECT_EQ(inner.path(), "outer.inner");
  inner.string("known");
  // Asking again for the same map shares what was read.
  EXPECT_EQ(m.map("outer").map("inner").string("known"), "1");
  m.finish();
  EXPECT_THAT(errors(), ElementsAre("t.yaml:4:5: outer.inner: unknown key \"extra\""));
}

TEST_F(ReaderTest, ClosestMatchOnlyOffersCloseNames) {
  const std::vector<std::string> keys = {"api_key", "base_url", "page_size", "type"};
  EXPECT_EQ(closestMatch("api_kye", keys), "api_key");
  EXPECT_EQ(closestMatch("Base_URL", keys), "base_url");
  EXPECT_EQ(closestMatch("pagesize", keys), "page_size");
  EXPECT_EQ(closestMatch("typ", keys), "type");
  EXPECT_EQ(closestMatch("colour", keys), std::nullopt);
  EXPECT_EQ(closestMatch("x", keys), std::nullopt);
  EXPECT_EQ(closestMatch("anything", {}), std::nullopt);
  EXPECT_EQ(didYouMean("typo", {"type"}), " (did you mean \"type\"?)");
  EXPECT_EQ(didYouMean("zebra", {"type"}), "");
}

TEST_F(ReaderTest, InterpolatesScalarsWhenRead) {
  ConfigMap m = load(
      "url: https://${HOST}:${PORT:-8088}\n"
      "count: ${COUNT}\n"
      "flag: ${FLAG:-true}\n"
      "items: [\"${A}\", b]\n"
      "literal: $${HOST}\n",
      {{"HOST", "splunk"}, {"COUNT", "12"}, {"A", "first"}});
  EXPECT_EQ(m.string("url"), "https://splunk:8088");
  EXPECT_EQ(m.unsignedInt<std::uint32_t>("count", 1, 1, 100), 12u);
  EXPECT_TRUE(m.boolean("flag", false));
  EXPECT_THAT(m.stringList("items"), ElementsAre("first", "b"));
  EXPECT_EQ(m.string("literal"), "${HOST}");
  m.finish();
  EXPECT_THAT(errors(), IsEmpty());
  EXPECT_THAT(secrets(), IsEmpty());  // interpolated values are not secrets by themselves
}

TEST_F(ReaderTest, UnsetVariableIsReportedAtItsValue) {
  ConfigMap m = load("a: 1\nendpoint:   \"https://${MISSING_HOST}\"\nlist: [x, \"${NOPE}\"]\n");
  EXPECT_EQ(m.string("endpoint", "dflt"), "dflt");
  EXPECT_THAT(m.stringList("list"), ElementsAre("x"));
  m.string("a");
  EXPECT_THAT(errors(),
              ElementsAre("t.yaml:2:13: endpoint: environment variable MISSING_HOST is not set "
                          "(write ${MISSING_HOST:-default} to give a default)",
                          "t.yaml:3:11: list[1]: environment variable NOPE is not set (write "
                          "${NOPE:-default} to give a default)"));
}

TEST_F(ReaderTest, InterpolatedValuesAreTypeChecked) {
  ConfigMap m = load("count: ${COUNT}\n", {{"COUNT", "many"}});
  m.unsignedInt<std::uint32_t>("count", 1, 1, 100);
  EXPECT_THAT(errors(), ElementsAre("t.yaml:1:8: count: expected an integer, got \"many\""));
}

TEST_F(ReaderTest, SecretFromValueIsRecorded) {
  ConfigMap m = load("token: ${TOKEN}\n", {{"TOKEN", "s3cr3t"}});
  const Secret s = m.secret("token", true);
  EXPECT_EQ(s.value, "s3cr3t");
  EXPECT_EQ(s.file, "");
  EXPECT_THAT(secrets(), ElementsAre("s3cr3t"));
  m.finish();
  EXPECT_THAT(errors(), IsEmpty());
}

TEST_F(ReaderTest, SecretFromFileIsTrimmedAndRecorded) {
  const std::string path = dir_.write("key", "sk-admin-123\r\n\n");
  ConfigMap m = load("api_key_file: " + path + "\n");
  const Secret s = m.secret("api_key", true);
  EXPECT_EQ(s.value, "sk-admin-123");
  EXPECT_EQ(s.file, path);
  EXPECT_THAT(secrets(), ElementsAre("sk-admin-123"));
  m.finish();
  EXPECT_THAT(errors(), IsEmpty());
}

TEST_F(ReaderTest, SecretErrors) {
  const std::string empty = dir_.write("empty", "\n");
  const std::string missing = dir_.path("missing");
  ConfigMap m = load(
      "both:\n"
      "  token: abc\n"
      "  token_file: /x\n"
      "neither: {}\n"
      "gone:\n"
      "  token_file: " +
      missing +
      "\n"
      "blank:\n"
      "  token_file: " +
      empty +
      "\n"
      "wrong:\n"
      "  token: [hunter2]\n"
      "unset:\n"
      "  token: ${UNSET_TOKEN}\n");
  for (const char* name : {"both", "neither", "gone", "blank", "wrong", "unset"})
    m.map(name).secret("token", true);
  m.finish();
  EXPECT_THAT(errors(),
              ElementsAre("t.yaml:3:15: both.token_file: give either token or token_file, not both",
                          "t.yaml:4:1: neither: token or token_file is required",
                          "t.yaml:6:15: gone.token_file: cannot read \"" + missing +
                              "\": No such file or directory",
                          "t.yaml:8:15: blank.token_file: file \"" + empty + "\" is empty",
                          "t.yaml:10:10: wrong.token: expected a string, got a list",
                          "t.yaml:12:10: unset.token: environment variable UNSET_TOKEN is not "
                          "set (write ${UNSET_TOKEN:-default} to give a default)"));
  for (const auto& e : errors()) EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  EXPECT_THAT(secrets(), IsEmpty());
}

TEST_F(ReaderTest, OptionalSecretMayBeAbsent) {
  ConfigMap m = load("other: 1\n");
  EXPECT_EQ(m.secret("password", false).value, "");
  m.string("other");
  m.finish();
  EXPECT_THAT(errors(), IsEmpty());
}

TEST_F(ReaderTest, ReadsTls) {
  ConfigMap m = load(
      "tls:\n"
      "  verify: false\n"
      "  ca_file: /ca.pem\n"
      "  cert_file: /c.pem\n"
      "  key_file: /k.pem\n"
      "  server_name: siem.example\n"
      "half:\n"
      "  cert_file: /c.pem\n");
  const TlsConfig tls = m.tls("tls");
  EXPECT_FALSE(tls.verify);
  EXPECT_EQ(tls.ca_file, "/ca.pem");
  EXPECT_EQ(tls.cert_file, "/c.pem");
  EXPECT_EQ(tls.key_file, "/k.pem");
  EXPECT_EQ(tls.server_name, "siem.example");
  const TlsConfig defaults = m.tls("absent");
  EXPECT_TRUE(defaults.verify);
  EXPECT_EQ(defaults.ca_file, "");
  m.tls("half");
  m.finish();
  EXPECT_THAT(errors(),
              ElementsAre("t.yaml:8:14: half.cert_file: cert_file and key_file must be given "
                          "together"));
}

TEST_F(ReaderTest, StringMapKeepsFileOrder) {
  ConfigMap m = load("props:\n  security.protocol: SASL_SSL\n  acks: all\n  bad: [1]\n");
  const auto props = m.stringMap("props");
  ASSERT_EQ(props.size(), 2u);
  EXPECT_EQ(props[0], (std::pair<std::string, std::string>{"security.protocol", "SASL_SSL"}));
  EXPECT_EQ(props[1], (std::pair<std::string, std::string>{"acks", "all"}));
  m.finish();
  EXPECT_THAT(errors(), ElementsAre("t.yaml:4:8: props.bad: expected a single value, got a list"));
}

TEST_F(ReaderTest, ErrorsAreSortedByPositionAndDeduplicated) {
  ConfigMap m = load("a: x\nb: y\n");
  m.unsignedInt<std::uint32_t>("b", 1, 1, 2);
  m.unsignedInt<std::uint32_t>("a", 1, 1, 2);
  m.unsignedInt<std::uint32_t>("b", 1, 1, 2);
  EXPECT_THAT(errors(), ElementsAre("t.yaml:1:4: a: expected an integer, got \"x\"",
                                    "t.yaml:2:4: b: expected an integer, got \"y\""));
}

TEST_F(ReaderTest, ReadSecretFileFollowsContent) {
  const std::string path = dir_.write("rotating", "first\n");
  EXPECT_EQ(readSecretFile(path).value(), "first");
  dir_.write("rotating", "second");
  EXPECT_EQ(readSecretFile(path).value(), "second");
  const auto dir_error = readSecretFile(dir_.path(""));
  ASSERT_FALSE(dir_error.has_value());
  EXPECT_NE(dir_error.error().message.find("directory"), std::string::npos);
}

}  // namespace
}  // namespace siem
