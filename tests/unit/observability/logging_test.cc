#include "agent/observability/logging.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

namespace siem {
namespace {

using std::chrono::milliseconds;

// 2026-11-25T19:50:45.123Z
std::chrono::system_clock::time_point fixedTime() {
  using namespace std::chrono;
  return sys_days{year{2026} / November / 25} + hours{19} + minutes{50} + seconds{45} +
         milliseconds{123};
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

// Matches the shape of "2026-11-25T19:50:45.123Z" (digits where digits belong).
bool isTimestamp(std::string_view ts) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd.dddZ";
  if (ts.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    const bool ok = kShape[i] == 'd' ? (ts[i] >= '0' && ts[i] <= '9') : ts[i] == kShape[i];
    if (!ok) return false;
  }
  return true;
}

struct ParsedLine {
  std::string ts, level, msg, logger;
};

// Parses one JSON log line strictly; fails the test if it is not a JSON object with the 4 keys.
ParsedLine parseJsonLine(const std::string& line) {
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  ParsedLine parsed;
  EXPECT_EQ(parser.parse(line).get(object), simdjson::SUCCESS) << line;
  if (object.size() != 4) ADD_FAILURE() << "expected 4 keys: " << line;
  for (auto [key, value] : object) {
    std::string_view text;
    EXPECT_EQ(value.get(text), simdjson::SUCCESS) << line;
    if (key == "ts") parsed.ts = text;
    if (key == "level") parsed.level = text;
    if (key == "msg") parsed.msg = text;
    if (key == "logger") parsed.logger = text;
  }
  return parsed;
}

TEST(LogLineTest, JsonLineHasTheDocumentedShape) {
  EXPECT_EQ(
      formatLogLine(LogFormat::kJson, spdlog::level::info, fixedTime(), "siem-agent", "started"),
      R"({"ts":"2026-11-25T19:50:45.123Z","level":"info","msg":"started","logger":"siem-agent"})"
      "\n");
  EXPECT_EQ(parseJsonLine(formatLogLine(LogFormat::kJson, spdlog::level::warn, fixedTime(),
                                        "siem-agent", "x"))
                .level,
            "warn");
  EXPECT_EQ(parseJsonLine(
                formatLogLine(LogFormat::kJson, spdlog::level::err, fixedTime(), "siem-agent", "x"))
                .level,
            "error");
}

TEST(LogLineTest, JsonEscapesEverythingThatWouldBreakTheLine) {
  const std::string message = std::string("say \"hi\"\\ \n next line\r\t\b\f \x01\x1f\x7f é ✓ 😀") +
                              std::string(1, '\0') + "end";
  const std::string line =
      formatLogLine(LogFormat::kJson, spdlog::level::info, fixedTime(), "siem-agent", message);
  ASSERT_EQ(lines(line).size(), 1u) << line;
  EXPECT_EQ(line.back(), '\n');
  const ParsedLine parsed = parseJsonLine(line);
  EXPECT_EQ(parsed.msg, message);
  EXPECT_EQ(parsed.ts, "2026-11-25T19:50:45.123Z");
  EXPECT_EQ(parsed.logger, "siem-agent");
}

TEST(LogLineTest, JsonReplacesInvalidUtf8) {
  const std::string message = "bad \xC3 \xFF \xED\xA0\x80 \xF0\x82\x82\xAC ok";
  const std::string line =
      formatLogLine(LogFormat::kJson, spdlog::level::info, fixedTime(), "siem-agent", message);
  EXPECT_EQ(parseJsonLine(line).msg,
            "bad \xEF\xBF\xBD \xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD "
            "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD ok");
}

TEST(LogLineTest, TextLineIsOneLine) {
  EXPECT_EQ(
      formatLogLine(LogFormat::kText, spdlog::level::info, fixedTime(), "siem-agent", "started"),
      "2026-11-25T19:50:45.123Z INFO started\n");
  EXPECT_EQ(
      formatLogLine(LogFormat::kText, spdlog::level::err, fixedTime(), "siem-agent", "a\nb\tc\x01"),
      "2026-11-25T19:50:45.123Z ERROR a\\nb\\tc\\x01\n");
}

TEST(LogLineTest, TimestampHasMillisecondsInUtc) {
  const auto epoch = std::chrono::system_clock::time_point{} + milliseconds(7);
  EXPECT_EQ(formatLogLine(LogFormat::kText, spdlog::level::debug, epoch, "siem-agent", "x"),
            "1970-01-01T00:00:00.007Z DEBUG x\n");
}

TEST(SecretRedactorTest, ReplacesEveryOccurrence) {
  const SecretRedactor redactor({"sk-admin-ABCDEF", "tok3n"});
  EXPECT_EQ(redactor.redact("key=sk-admin-ABCDEF and again sk-admin-ABCDEF, tok3n!"),
            "key=[REDACTED] and again [REDACTED], [REDACTED]!");
  EXPECT_EQ(redactor.redact("nothing secret here"), "nothing secret here");
}

TEST(SecretRedactorTest, IgnoresShortSecretsAndCollapsesOverlaps) {
  const SecretRedactor redactor({"", "abc", "abcdef", "defghi", "hunter22"});
  EXPECT_EQ(redactor.redact("abc is short"), "abc is short");
  // "abcdef" and "defghi" overlap: one marker, nothing of either left.
  EXPECT_EQ(redactor.redact("x abcdefghi y"), "x [REDACTED] y");
  EXPECT_EQ(redactor.redact("hunter22hunter22"), "[REDACTED]");
  EXPECT_EQ(redactor.redact("hunter2hunter22"), "hunter2[REDACTED]");
}

// Installs a logger on a test stream and restores the previous default logger afterwards.
class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override { previous_ = spdlog::default_logger(); }
  void TearDown() override { spdlog::set_default_logger(previous_); }

  std::ostringstream out_;

 private:
  std::shared_ptr<spdlog::logger> previous_;
};

TEST_F(LoggingTest, JsonOutputRedactsSecrets) {
  const std::string secret = "sk-admin-0123456789abcdef";
  setupLogging(LogConfig{.level = "info", .format = "json"}, {secret, "xy"}, out_);
  spdlog::info("calling with Authorization: Bearer {} (\"{}\")", secret, secret);
  spdlog::warn("no secret, xy stays");
  const auto got = lines(out_.str());
  ASSERT_EQ(got.size(), 2u) << out_.str();
  EXPECT_EQ(out_.str().find(secret), std::string::npos) << out_.str();
  const ParsedLine first = parseJsonLine(got[0]);
  EXPECT_EQ(first.msg, R"(calling with Authorization: Bearer [REDACTED] ("[REDACTED]"))");
  EXPECT_EQ(first.level, "info");
  EXPECT_EQ(first.logger, "siem-agent");
  EXPECT_TRUE(isTimestamp(first.ts)) << first.ts;
  EXPECT_EQ(parseJsonLine(got[1]).msg, "no secret, xy stays");
}

TEST_F(LoggingTest, TextOutputRedactsSecrets) {
  const std::string secret = "hec-token-5e1f";
  setupLogging(LogConfig{.level = "info", .format = "text"}, {secret}, out_);
  spdlog::error("splunk rejected token {}", secret);
  const auto got = lines(out_.str());
  ASSERT_EQ(got.size(), 1u) << out_.str();
  constexpr std::string_view kRest = " ERROR splunk rejected token [REDACTED]";
  ASSERT_EQ(got[0].size(), 24 + kRest.size()) << got[0];
  EXPECT_TRUE(isTimestamp(std::string_view(got[0]).substr(0, 24))) << got[0];
  EXPECT_EQ(std::string_view(got[0]).substr(24), kRest);
}

TEST_F(LoggingTest, RedactionSurvivesAChangedPattern) {
  const std::string secret = "sk-admin-XYZW";
  setupLogging(LogConfig{.level = "info", .format = "json"}, {secret}, out_);
  spdlog::set_pattern("%v");
  spdlog::default_logger()->set_formatter(std::make_unique<spdlog::pattern_formatter>("%v"));
  spdlog::info("{}", secret);
  const auto got = lines(out_.str());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(parseJsonLine(got[0]).msg, "[REDACTED]");
}

TEST_F(LoggingTest, LevelFiltersMessages) {
  setupLogging(LogConfig{.level = "warn", .format = "text"}, {}, out_);
  spdlog::debug("hidden");
  spdlog::info("hidden");
  spdlog::warn("shown");
  spdlog::error("shown too");
  const auto got = lines(out_.str());
  ASSERT_EQ(got.size(), 2u) << out_.str();
  EXPECT_NE(got[0].find(" WARN shown"), std::string::npos);
  EXPECT_NE(got[1].find(" ERROR shown too"), std::string::npos);

  out_.str("");
  setupLogging(LogConfig{.level = "trace", .format = "text"}, {}, out_);
  spdlog::trace("t");
  EXPECT_NE(out_.str().find(" TRACE t"), std::string::npos);
}

TEST(LogConfigParseTest, LevelsAndFormats) {
  EXPECT_EQ(parseLogLevel("trace"), spdlog::level::trace);
  EXPECT_EQ(parseLogLevel("debug"), spdlog::level::debug);
  EXPECT_EQ(parseLogLevel("info"), spdlog::level::info);
  EXPECT_EQ(parseLogLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(parseLogLevel("error"), spdlog::level::err);
  EXPECT_EQ(parseLogLevel("verbose"), spdlog::level::info);
  EXPECT_EQ(parseLogFormat("text"), LogFormat::kText);
  EXPECT_EQ(parseLogFormat("json"), LogFormat::kJson);
}

TEST(LogLimiterTest, HoldsBackRepeatsAndReportsThem) {
  LogLimiter limiter(std::chrono::seconds(10));
  const LogLimiter::Clock::time_point t0{};
  auto verdict = limiter.shouldLog("sink.splunk.down", t0);
  EXPECT_TRUE(verdict);
  EXPECT_EQ(verdict.suppressed, 0u);
  EXPECT_EQ(verdict.suffix(), "");
  for (int i = 1; i <= 5; ++i) {
    verdict = limiter.shouldLog("sink.splunk.down", t0 + std::chrono::seconds(i));
    EXPECT_FALSE(verdict) << i;
  }
  // Another key is independent.
  EXPECT_TRUE(limiter.shouldLog("sink.kafka.down", t0 + std::chrono::seconds(3)));
  // Just before the interval ends: still held back.
  EXPECT_FALSE(limiter.shouldLog("sink.splunk.down", t0 + milliseconds(9999)));
  verdict = limiter.shouldLog("sink.splunk.down", t0 + std::chrono::seconds(10));
  EXPECT_TRUE(verdict);
  EXPECT_EQ(verdict.suppressed, 6u);
  EXPECT_EQ(verdict.suffix(), " (6 similar messages suppressed)");
  // The count restarts, and the interval now runs from the last emitted message.
  EXPECT_FALSE(limiter.shouldLog("sink.splunk.down", t0 + std::chrono::seconds(19)));
  verdict = limiter.shouldLog("sink.splunk.down", t0 + std::chrono::seconds(20));
  EXPECT_TRUE(verdict);
  EXPECT_EQ(verdict.suppressed, 1u);
  verdict = limiter.shouldLog("sink.splunk.down", t0 + std::chrono::seconds(60));
  EXPECT_TRUE(verdict);
  EXPECT_EQ(verdict.suppressed, 0u);
}

TEST(LogLimiterTest, KeyTableIsBoundedWithoutLosingHeldBackCounts) {
  LogLimiter limiter(std::chrono::seconds(10), 2);
  const LogLimiter::Clock::time_point t0{};
  EXPECT_TRUE(limiter.shouldLog("a", t0));
  EXPECT_TRUE(limiter.shouldLog("b", t0));
  EXPECT_FALSE(limiter.shouldLog("a", t0 + std::chrono::seconds(1)));
  // Table full and nothing expired: a new key is let through untracked, so it is not limited.
  EXPECT_TRUE(limiter.shouldLog("c", t0 + std::chrono::seconds(2)));
  EXPECT_TRUE(limiter.shouldLog("c", t0 + std::chrono::seconds(3)));
  // "b" expired with nothing held back and makes room; "a" keeps its held-back count.
  EXPECT_TRUE(limiter.shouldLog("d", t0 + std::chrono::seconds(15)));
  EXPECT_FALSE(limiter.shouldLog("d", t0 + std::chrono::seconds(16)));
  const auto verdict = limiter.shouldLog("a", t0 + std::chrono::seconds(17));
  EXPECT_TRUE(verdict);
  EXPECT_EQ(verdict.suppressed, 1u);
}

}  // namespace
}  // namespace siem
