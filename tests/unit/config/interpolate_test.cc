#include "agent/config/interpolate.h"

#include <gtest/gtest.h>

#include <map>

namespace siem {
namespace {

EnvLookup fakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(InterpolateTest, ReplacesSetVariables) {
  const auto env = fakeEnv({{"HOST", "splunk.example"}, {"PORT", "8088"}});
  EXPECT_EQ(interpolate("https://${HOST}:${PORT}/x", env).value(), "https://splunk.example:8088/x");
  EXPECT_EQ(interpolate("${HOST}", env).value(), "splunk.example");
}

TEST(InterpolateTest, LeavesPlainTextAlone) {
  const auto env = fakeEnv({});
  EXPECT_EQ(interpolate("", env).value(), "");
  EXPECT_EQ(interpolate("no variables here", env).value(), "no variables here");
  EXPECT_EQ(interpolate("cost $5 and $", env).value(), "cost $5 and $");
  EXPECT_EQ(interpolate("{HOST}", env).value(), "{HOST}");
}

TEST(InterpolateTest, DoubleDollarIsALiteralDollar) {
  const auto env = fakeEnv({{"A", "x"}});
  EXPECT_EQ(interpolate("$$", env).value(), "$");
  EXPECT_EQ(interpolate("$${A}", env).value(), "${A}");
  EXPECT_EQ(interpolate("$$$${A}", env).value(), "$${A}");
  EXPECT_EQ(interpolate("$$${A}", env).value(), "$x");
}

TEST(InterpolateTest, DefaultsApplyWhenUnsetOrEmpty) {
  const auto env = fakeEnv({{"EMPTY", ""}, {"SET", "v"}});
  EXPECT_EQ(interpolate("${MISSING:-fallback}", env).value(), "fallback");
  EXPECT_EQ(interpolate("${EMPTY:-fallback}", env).value(), "fallback");
  EXPECT_EQ(interpolate("${SET:-fallback}", env).value(), "v");
  EXPECT_EQ(interpolate("${MISSING:-}", env).value(), "");
  EXPECT_EQ(interpolate("${MISSING:-a:-b $x}", env).value(), "a:-b $x");
}

TEST(InterpolateTest, EmptyValueWithoutDefaultIsKept) {
  EXPECT_EQ(interpolate("<${EMPTY}>", fakeEnv({{"EMPTY", ""}})).value(), "<>");
}

TEST(InterpolateTest, UnsetVariableIsAnErrorNamingIt) {
  const auto r = interpolate("Bearer ${SECRET_TOKEN}", fakeEnv({}));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "environment variable SECRET_TOKEN is not set (write ${SECRET_TOKEN:-default} to give "
            "a default)");
}

TEST(InterpolateTest, MalformedReferencesAreErrors) {
  const auto env = fakeEnv({{"A", "x"}});
  const auto unterminated = interpolate("${A", env);
  ASSERT_FALSE(unterminated.has_value());
  EXPECT_EQ(unterminated.error().message, "unterminated \"${\" (write \"$$\" for a literal \"$\")");
  for (const char* bad : {"${}", "${1A}", "${A-B}", "${ A}", "${:-x}"}) {
    const auto r = interpolate(bad, env);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find("invalid variable name"), std::string::npos) << bad;
  }
}

TEST(InterpolateTest, ProcessEnvironmentReadsRealVariables) {
  // PATH is set in every environment the tests run in; a name this odd never is.
  const EnvLookup env = processEnvironment();
  EXPECT_TRUE(env("PATH").has_value());
  EXPECT_FALSE(env("SIEM_AGENT_TEST_SURELY_UNSET_0xdeadbeef").has_value());
}

}  // namespace
}  // namespace siem
