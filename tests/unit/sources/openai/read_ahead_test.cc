#include "agent/sources/openai/read_ahead.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
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
  std::unique_ptr<WindowReadAhead> make(std::size_t readers, std::size_t max_events,
                                        WindowReadAhead::PrepareFn prepare = {}) {
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
        },
        std::move(prepare));
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

// Records what the prepare hook was given, and marks it as a renderer would.
struct PrepareLog {
  std::mutex mutex;
  std::vector<std::thread::id> threads;
  std::vector<std::size_t> slice_sizes;
  std::map<std::string, int> prepared;  // id -> times prepared

  WindowReadAhead::PrepareFn fn() {
    return [this](std::span<Event> events) {
      std::lock_guard lock(mutex);
      threads.push_back(std::this_thread::get_id());
      slice_sizes.push_back(events.size());
      for (Event& e : events) {
        ++prepared[e.id];
        e.rendered[static_cast<std::size_t>(Encoding::kOcsf)] = "prepared:" + e.id;
      }
    };
  }
};

TEST_F(WindowReadAheadTest, AWindowReadWholeIsPreparedOnAReaderThreadBeforeItIsTaken) {
  for (int i = 0; i < 3; ++i) server_.addEvent(fmt::format("a{}", i), 1000 + i);
  for (int i = 0; i < 7; ++i) server_.addEvent(fmt::format("b{}", i), 1100 + i);
  PrepareLog log;
  auto ahead = make(2, 4, log.fn());
  ahead->schedule(window(1000, 1100));
  ahead->schedule(window(1100, 1200));  // overflows: its events are never emitted as read
  auto first = ahead->take(stop_.get_token());
  auto second = ahead->take(stop_.get_token());
  ASSERT_TRUE(first);
  ASSERT_TRUE(second);
  ASSERT_EQ(first->status, WindowReadAhead::Status::kDone);
  ASSERT_EQ(second->status, WindowReadAhead::Status::kOverflow);
  ASSERT_EQ(first->events.size(), 3u);
  for (const Event& e : first->events) EXPECT_EQ(e.encoded(Encoding::kOcsf), "prepared:" + e.id);
  for (const Event& e : second->events) EXPECT_EQ(e.encoded(Encoding::kOcsf), "");

  std::lock_guard lock(log.mutex);
  EXPECT_EQ(log.prepared, (std::map<std::string, int>{{"a0", 1}, {"a1", 1}, {"a2", 1}}));
  ASSERT_FALSE(log.threads.empty());
  for (const auto& id : log.threads) EXPECT_NE(id, std::this_thread::get_id());
}

TEST_F(WindowReadAheadTest, ALargeWindowIsPreparedInSlicesEachEventOnce) {
  options_.page_size = 100;
  for (int i = 0; i < 700; ++i) server_.addEvent(fmt::format("e{}", i), 1000 + i / 10);
  PrepareLog log;
  auto ahead = make(1, 1000, log.fn());
  ahead->schedule(window(1000, 1100));
  auto read = ahead->take(stop_.get_token());
  ASSERT_TRUE(read);
  ASSERT_EQ(read->status, WindowReadAhead::Status::kDone);
  ASSERT_EQ(read->events.size(), 700u);
  for (const Event& e : read->events) EXPECT_EQ(e.encoded(Encoding::kOcsf), "prepared:" + e.id);
  std::lock_guard lock(log.mutex);
  EXPECT_EQ(log.prepared.size(), 700u);
  for (const auto& [id, times] : log.prepared) EXPECT_EQ(times, 1) << id;
  EXPECT_GT(log.slice_sizes.size(), 1u);  // an abandoned window can stop between slices
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
