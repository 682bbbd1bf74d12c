#include "agent/sources/openai/read_ahead.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "tests/unit/sources/openai/fake_audit_server.h"
#include "tests/unit/sources/openai/fake_clock.h"

namespace siem {
namespace {

using namespace std::chrono_literals;
using siem::testing::FakeAuditServer;
using siem::testing::FakeClock;

constexpr std::int64_t kNow = 1'793'491'200;

class NullObserver : public PullObserver {
 public:
  void onHttpRequest(int, double) override {}
  void onError(std::string_view) override {}
  void onRetry(std::chrono::milliseconds) override {}
  void onUtf8Repaired() override {}
};

std::vector<std::string> ids(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.id);
  return out;
}

TimeWindow window(std::int64_t start, std::int64_t end) { return TimeWindow{start, end, kNow}; }

class WindowReadAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.start();
    options_.base_url = server_.baseUrl();
    options_.api_key = "sk-admin-good";
    options_.max_requests_per_sec = 0;
    options_.page_size = 2;
  }
  std::unique_ptr<WindowReadAhead> make(std::size_t readers, std::size_t max_events) {
    return std::make_unique<WindowReadAhead>(
        readers, max_events,
        [this] {
          return std::make_unique<OpenAiClient>(options_, "test", "", clock_, observer_,
                                                [] { return 0.5; });
        },
        [this](std::uint64_t outside, std::uint64_t repeated) {
          pages_ += 1;
          outside_ += outside;
          repeated_ += repeated;
        });
  }

  FakeAuditServer server_;
  FakeClock clock_{kNow};
  NullObserver observer_;
  OpenAiSourceOptions options_;
  std::stop_source stop_;
  std::atomic<std::uint64_t> pages_{0};
  std::atomic<std::uint64_t> outside_{0};
  std::atomic<std::uint64_t> repeated_{0};
};

TEST_F(WindowReadAheadTest, WindowsComeBackInTheOrderScheduledWithAllTheirPages) {
  // Five events in each of three 100 s windows; pages of two.
  for (int w = 0; w < 3; ++w) {
    for (int i = 0; i < 5; ++i) {
      server_.addEvent(fmt::format("w{}e{}", w, i), 1000 + w * 100 + i * 10);
    }
  }
  auto ahead = make(2, 100);
  EXPECT_EQ(ahead->readers(), 2u);
  for (int w = 0; w < 3; ++w) ahead->schedule(window(1000 + w * 100, 1100 + w * 100));
  EXPECT_EQ(ahead->scheduled(), 3u);
  EXPECT_EQ(ahead->front()->start, 1000);
  EXPECT_EQ(ahead->back()->start, 1200);
  for (int w = 0; w < 3; ++w) {
    auto read = ahead->take(stop_.get_token());
    ASSERT_TRUE(read);
    EXPECT_EQ(read->status, WindowReadAhead::Status::kDone);
    EXPECT_EQ(read->window.start, 1000 + w * 100);
    std::vector<std::string> expected;
    for (int i = 4; i >= 0; --i) expected.push_back(fmt::format("w{}e{}", w, i));
    EXPECT_EQ(ids(read->events), expected);
  }
  EXPECT_EQ(ahead->scheduled(), 0u);
  EXPECT_EQ(pages_, 9u);  // three pages per window
  EXPECT_EQ(outside_, 0u);
  EXPECT_FALSE(ahead->take(stop_.get_token()));  // nothing scheduled
}

TEST_F(WindowReadAheadTest, OverflowStopsAfterThePageThatExceedsTheLimit) {
  for (int i = 0; i < 7; ++i) server_.addEvent(fmt::format("e{}", i), 1000 + i);
  auto ahead = make(1, 3);
  ahead->schedule(window(1000, 1100));
  auto read = ahead->take(stop_.get_token());
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, WindowReadAhead::Status::kOverflow);
  EXPECT_EQ(ids(read->events), (std::vector<std::string>{"e6", "e5", "e4", "e3"}));
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(WindowReadAheadTest, ADenseSecondIsLeftToTheSource) {
  for (int i = 0; i < 7; ++i) server_.addEvent(fmt::format("e{}", i), 1000);
  auto ahead = make(1, 3);
  ahead->schedule(window(1000, 1001));
  auto read = ahead->take(stop_.get_token());
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, WindowReadAhead::Status::kGaveUp);
}

TEST_F(WindowReadAheadTest, ARefusedRequestGivesUpThatWindowOnly) {
  server_.addEvent("a", 1010);
  server_.addEvent("b", 1110);
  server_.pushFault({403, R"({"error":{"message":"no"}})", {}});
  auto ahead = make(1, 100);
  ahead->schedule(window(1000, 1100));
  ahead->schedule(window(1100, 1200));
  auto first = ahead->take(stop_.get_token());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, WindowReadAhead::Status::kGaveUp);
  auto second = ahead->take(stop_.get_token());
  ASSERT_TRUE(second);
  EXPECT_EQ(second->status, WindowReadAhead::Status::kDone);
  EXPECT_EQ(ids(second->events), (std::vector<std::string>{"b"}));
}

TEST_F(WindowReadAheadTest, RepeatsAndOutsidersAreDroppedAndALoopIsGivenUp) {
  const std::string e1 = siem::testing::auditEventJson("x1", 1010, "user.added", 0);
  const std::string e2 = siem::testing::auditEventJson("x2", 1020, "user.added", 1);
  const std::string far = siem::testing::auditEventJson("far", 5000, "user.added", 2);
  // Pages that keep coming back to the cursor "c1".
  server_.pushFault(
      {200, R"({"data":[)" + e2 + "," + far + R"(],"has_more":true,"last_id":"c1"})", {}});
  server_.pushFault(
      {200, R"({"data":[)" + e1 + "," + e2 + R"(],"has_more":true,"last_id":"c2"})", {}});
  server_.pushFault({200, R"({"data":[)" + e1 + R"(],"has_more":true,"last_id":"c1"})", {}});
  auto ahead = make(1, 100);
  ahead->schedule(window(1000, 1100));
  auto read = ahead->take(stop_.get_token());
  ASSERT_TRUE(read);
  EXPECT_EQ(read->status, WindowReadAhead::Status::kGaveUp);
  EXPECT_EQ(outside_, 1u);
  EXPECT_EQ(repeated_, 2u);
}

TEST_F(WindowReadAheadTest, CancelAbandonsEverythingScheduled) {
  server_.addEvent("a", 1010);
  auto ahead = make(2, 100);
  ahead->schedule(window(1000, 1100));
  ahead->schedule(window(1100, 1200));
  ahead->cancel();
  EXPECT_EQ(ahead->scheduled(), 0u);
  EXPECT_FALSE(ahead->front());
  EXPECT_FALSE(ahead->take(stop_.get_token()));
  ahead->schedule(window(1000, 1100));
  auto read = ahead->take(stop_.get_token());
  ASSERT_TRUE(read);
  EXPECT_EQ(ids(read->events), (std::vector<std::string>{"a"}));
}

TEST_F(WindowReadAheadTest, TakeReturnsWhenStopped) {
  server_.pushFault({500, R"({"error":{"message":"down"}})", {}});  // the reader retries
  for (int i = 0; i < 50; ++i) server_.pushFault({500, R"({"error":{"message":"down"}})", {}});
  auto ahead = make(1, 100);
  ahead->schedule(window(1000, 1100));
  std::stop_source stop;
  stop.request_stop();
  EXPECT_FALSE(ahead->take(stop.get_token()));
  EXPECT_EQ(ahead->scheduled(), 1u);  // still scheduled; the destructor abandons it
}

}  // namespace
}  // namespace siem
