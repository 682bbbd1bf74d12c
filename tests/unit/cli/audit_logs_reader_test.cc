#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include "agent/cli/log_reader.h"
#include "tests/unit/sources/openai/fake_audit_server.h"

namespace siem::cli {
namespace {

constexpr char kKey[] = "sk-admin-good";

class AuditLogsReaderTest : public ::testing::Test {
 protected:
  void SetUp() override { server_.start(); }

  OpenAiSourceOptions options() const {
    OpenAiSourceOptions o;
    o.base_url = server_.baseUrl();
    o.api_key = kKey;
    o.max_requests_per_sec = 0;  // no client-side pacing in tests
    o.timeout_secs = 5;
    return o;
  }
  static ReaderLimits fastLimits(std::uint32_t attempts) {
    ReaderLimits limits;
    limits.max_attempts = attempts;
    limits.backoff.initial = std::chrono::milliseconds(1);
    limits.backoff.max = std::chrono::milliseconds(5);
    limits.backoff.max_retry_after = std::chrono::milliseconds(5);
    return limits;
  }

  static std::vector<std::string> newestIds(LogReader& reader, const TimeRange& range) {
    std::vector<std::string> ids;
    auto read = reader.newestFirst(range, [&ids](std::vector<Event>& page) {
      for (const auto& e : page) ids.push_back(e.id);
      return true;
    });
    EXPECT_TRUE(read) << (read ? "" : read.error().message);
    return ids;
  }

  testing::FakeAuditServer server_;
  SystemClock clock_;
};

TEST_F(AuditLogsReaderTest, PagesNewestFirstWithinTheRangeWithTheSourceQuery) {
  for (int i = 0; i < 10; ++i) {
    server_.addEvent("audit_log-" + std::to_string(10 + i), 1000 + i, "login.failed");
  }
  server_.addEvent("audit_log-other", 1005, "user.added");
  auto o = options();
  o.page_size = 3;
  o.event_types = {"login.failed"};
  AuditLogsReader reader(o, "src", "", clock_, std::stop_token{}, fastLimits(3));

  const auto ids = newestIds(reader, TimeRange{1002, 1008});

  EXPECT_EQ(ids, (std::vector<std::string>{"audit_log-17", "audit_log-16", "audit_log-15",
                                           "audit_log-14", "audit_log-13", "audit_log-12"}));
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_NE(requests[0].find("limit=3"), std::string::npos) << requests[0];
  EXPECT_NE(requests[0].find("event_types%5B%5D=login.failed"), std::string::npos);
  EXPECT_NE(requests[1].find("after=audit_log-15"), std::string::npos) << requests[1];
  EXPECT_EQ(reader.stats().pages, 2u);
  EXPECT_EQ(reader.stats().requests, 2u);
}

TEST_F(AuditLogsReaderTest, AscendingExportOverHttpIsCompleteAndOrdered) {
  std::vector<std::pair<std::int64_t, std::string>> expected;
  for (int i = 0; i < 60; ++i) {
    const std::int64_t t = 5000 + (i % 7 == 0 ? 3 : i);  // a dense second and a spread
    const std::string id = "audit_log-" + std::to_string(100 + (i * 37) % 60);
    server_.addEvent(id, t);
    expected.emplace_back(t, id);
  }
  std::sort(expected.begin(), expected.end());
  auto o = options();
  o.page_size = 4;
  o.max_window_events = 6;
  AuditLogsReader reader(o, "src", "", clock_, std::stop_token{}, fastLimits(3));

  std::vector<std::pair<std::int64_t, std::string>> got;
  auto read = reader.ascending(TimeRange{4000, 6000}, [&got](Event& e) {
    got.emplace_back(e.effective_at, e.id);
    return true;
  });

  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(got, expected);
  EXPECT_GT(reader.stats().windows_halved, 0u);
}

TEST_F(AuditLogsReaderTest, RetriesTransientFailuresLikeTheDaemon) {
  server_.addEvent("audit_log-1", 1000);
  server_.pushFault({429, R"({"error":{"message":"slow down"}})", {{"retry-after-ms", "1"}}});
  server_.pushFault({500, R"({"error":{"message":"oops"}})", {}});
  AuditLogsReader reader(options(), "src", "", clock_, std::stop_token{}, fastLimits(3));

  EXPECT_EQ(newestIds(reader, TimeRange{0, 2000}), std::vector<std::string>{"audit_log-1"});
  EXPECT_EQ(reader.stats().retries, 2u);
  EXPECT_EQ(reader.stats().requests, 3u);
}

TEST_F(AuditLogsReaderTest, GivesUpAfterMaxAttemptsInARow) {
  for (int i = 0; i < 10; ++i) server_.pushFault({503, "{}", {}});
  AuditLogsReader reader(options(), "src", "", clock_, std::stop_token{}, fastLimits(3));

  auto read = reader.newestFirst(TimeRange{0, 2000}, [](std::vector<Event>&) { return true; });

  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("3 failed attempts"), std::string::npos)
      << read.error().message;
  EXPECT_NE(read.error().message.find("server_error"), std::string::npos);
  EXPECT_EQ(server_.requests().size(), 3u);
  EXPECT_EQ(reader.stats().retries, 2u);
}

TEST_F(AuditLogsReaderTest, UnauthorizedFailsAtOnceWithoutTheKey) {
  auto o = options();
  o.api_key = "sk-admin-wrong-key-123456";
  AuditLogsReader reader(o, "src", "", clock_, std::stop_token{}, fastLimits(5));

  auto read = reader.newestFirst(TimeRange{0, 2000}, [](std::vector<Event>&) { return true; });

  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("Admin API key"), std::string::npos);
  EXPECT_EQ(read.error().message.find("sk-admin-wrong-key-123456"), std::string::npos);
  EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(AuditLogsReaderTest, AStopRequestInterruptsWithoutARequest) {
  std::stop_source stop;
  stop.request_stop();
  AuditLogsReader reader(options(), "src", "", clock_, stop.get_token(), fastLimits(3));

  auto read = reader.newestFirst(TimeRange{0, 2000}, [](std::vector<Event>&) { return true; });

  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().message, "interrupted");
  EXPECT_TRUE(server_.requests().empty());
}

}  // namespace
}  // namespace siem::cli
