#include "agent/cli/log_reader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace siem::cli {
namespace {

Event makeEvent(std::string id, std::int64_t at) {
  Event e;
  e.id = std::move(id);
  e.effective_at = at;
  e.type = "login.succeeded";
  e.raw = "{}";
  return e;
}

bool before(const Event& a, const Event& b) {
  return a.effective_at != b.effective_at ? a.effective_at < b.effective_at : a.id < b.id;
}

// An in-memory API: newest first by (effective_at, id), `page_size` per page, optionally
// repeating the previous page's last event at the top of the next page (a list that moved while
// it was paged).
class FakeReader final : public LogReader {
 public:
  FakeReader(std::vector<Event> events, std::size_t page_size, std::uint32_t max_window_events)
      : events_(std::move(events)), page_size_(page_size), max_window_events_(max_window_events) {}

  Result<void> newestFirst(const TimeRange& range, const PageCallback& on_page) override {
    ++calls;
    if (fail_after_calls > 0 && calls > fail_after_calls) return fail("boom");
    std::vector<Event> matching;
    matching.reserve(events_.size());
    for (const auto& e : events_) {
      if (e.effective_at >= range.since && e.effective_at < range.until) matching.push_back(e);
    }
    std::sort(matching.begin(), matching.end(),
              [](const Event& a, const Event& b) { return before(b, a); });
    std::size_t handed = 0;
    for (std::size_t at = 0; at < matching.size() || at == 0; at += page_size_) {
      std::vector<Event> page;
      if (repeat_across_pages && at > 0) page.push_back(matching[at - 1]);
      for (std::size_t i = at; i < std::min(matching.size(), at + page_size_); ++i) {
        page.push_back(matching[i]);
      }
      handed += page.size();
      max_handed_in_one_call = std::max(max_handed_in_one_call, handed);
      ++pages;
      if (!on_page(page)) return {};
      if (matching.empty()) break;
    }
    return {};
  }
  Result<void> ascending(const TimeRange& range, const EventCallback& on_event) override {
    return readAscendingInWindows(*this, range, max_window_events_, on_event, stats_);
  }
  bool hasLookup() const override { return false; }
  Result<std::optional<Event>> lookup(std::string_view) override { return fail("no"); }
  ReaderStats stats() const override { return stats_; }

  bool repeat_across_pages = false;
  int fail_after_calls = 0;
  int calls = 0;
  std::size_t pages = 0;
  std::size_t max_handed_in_one_call = 0;

 private:
  std::vector<Event> events_;
  std::size_t page_size_;
  std::uint32_t max_window_events_;
  ReaderStats stats_;
};

// Bursts of events sharing a second (some of them large), like the simulator's backlog.
std::vector<Event> burstyEvents(std::size_t count, std::int64_t start, std::int64_t span,
                                std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::int64_t> when(start, start + span - 1);
  std::uniform_int_distribution<int> burst(1, 4);
  std::vector<Event> events;
  std::size_t n = 0;
  while (events.size() < count) {
    const std::int64_t t = when(rng);
    const int size = (n % 50 == 0) ? 120 : burst(rng);
    for (int i = 0; i < size && events.size() < count; ++i) {
      events.push_back(makeEvent("audit_log-" + std::to_string(rng()), t));
    }
    ++n;
  }
  return events;
}

std::vector<Event> exportAll(FakeReader& reader, const TimeRange& range) {
  std::vector<Event> out;
  auto result = reader.ascending(range, [&out](Event& e) {
    out.push_back(e);
    return true;
  });
  EXPECT_TRUE(result) << (result ? "" : result.error().message);
  return out;
}

std::vector<std::string> idsOf(const std::vector<Event>& events) {
  std::vector<std::string> ids;
  ids.reserve(events.size());
  for (const auto& e : events) ids.push_back(e.id);
  return ids;
}

TEST(ReadAscendingTest, ExportsTheWholeRangeOnceInOrderWithinTheMemoryBound) {
  const std::int64_t start = 1'700'000'000;
  auto events = burstyEvents(3000, start, 20'000, 11);
  FakeReader reader(events, 50, 200);
  const TimeRange range{start + 1000, start + 19'000};

  const auto got = exportAll(reader, range);

  std::vector<Event> expected;
  for (const auto& e : events) {
    if (e.effective_at >= range.since && e.effective_at < range.until) expected.push_back(e);
  }
  std::sort(expected.begin(), expected.end(), before);
  EXPECT_EQ(idsOf(got), idsOf(expected));
  EXPECT_GT(reader.stats().windows_halved, 0u);
  // A window is abandoned as soon as it holds more than max_window_events: at most one more page.
  EXPECT_LE(reader.max_handed_in_one_call, 200u + 50u);
  EXPECT_EQ(reader.stats().duplicates, 0u);
}

TEST(ReadAscendingTest, DropsAndCountsIdsRepeatedAcrossPages) {
  const std::int64_t start = 1'700'000'000;
  auto events = burstyEvents(500, start, 1000, 5);
  FakeReader reader(events, 40, 100'000);
  reader.repeat_across_pages = true;

  const auto got = exportAll(reader, TimeRange{start, start + 1000});

  EXPECT_EQ(got.size(), events.size());
  const auto ids = idsOf(got);
  const std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), got.size());
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end(), before));
  // One repeat per page after the first of the single window.
  EXPECT_EQ(reader.stats().duplicates, (events.size() + 39) / 40 - 1);
}

TEST(ReadAscendingTest, ReadsASingleDenseSecondWhole) {
  const std::int64_t t = 1'700'000'000;
  std::vector<Event> events;
  events.reserve(452);
  for (int i = 0; i < 450; ++i) events.push_back(makeEvent("id-" + std::to_string(1000 + i), t));
  events.push_back(makeEvent("early", t - 5));
  events.push_back(makeEvent("late", t + 5));
  FakeReader reader(events, 100, 100);

  const auto got = exportAll(reader, TimeRange{t - 10, t + 10});

  ASSERT_EQ(got.size(), events.size());
  EXPECT_EQ(got.front().id, "early");
  EXPECT_EQ(got.back().id, "late");
  EXPECT_TRUE(std::is_sorted(got.begin(), got.end(), before));
  EXPECT_GT(reader.stats().windows_halved, 0u);
}

TEST(ReadAscendingTest, EmptyRangeAndEmptyWindows) {
  FakeReader reader({}, 10, 100);
  EXPECT_TRUE(exportAll(reader, TimeRange{100, 100}).empty());
  EXPECT_EQ(reader.calls, 0);
  EXPECT_TRUE(exportAll(reader, TimeRange{100, 200}).empty());
  EXPECT_EQ(reader.calls, 1);
}

TEST(ReadAscendingTest, StopsWhenTheConsumerSaysSo) {
  const std::int64_t start = 1'700'000'000;
  FakeReader reader(burstyEvents(300, start, 1000, 2), 50, 1000);
  int taken = 0;
  auto result =
      reader.ascending(TimeRange{start, start + 1000}, [&taken](Event&) { return ++taken < 7; });
  EXPECT_TRUE(result);
  EXPECT_EQ(taken, 7);
}

TEST(ReadAscendingTest, PropagatesReaderErrors) {
  const std::int64_t start = 1'700'000'000;
  FakeReader reader(burstyEvents(1000, start, 10'000, 3), 50, 100);
  reader.fail_after_calls = 3;
  std::size_t taken = 0;
  auto result = reader.ascending(TimeRange{start, start + 10'000}, [&taken](Event&) {
    ++taken;
    return true;
  });
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "boom");
  EXPECT_LT(taken, 1000u);
}

}  // namespace
}  // namespace siem::cli
