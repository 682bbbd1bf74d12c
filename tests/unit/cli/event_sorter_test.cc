#include "agent/cli/event_sorter.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace siem::cli {
namespace {

namespace fs = std::filesystem;

Event makeEvent(std::string id, std::int64_t at, int variant) {
  Event e;
  e.id = std::move(id);
  e.effective_at = at;
  e.type = variant % 2 == 0 ? "login.succeeded" : "api_key.created";
  e.outcome = variant % 3 == 0 ? Outcome::kFailure : Outcome::kSuccess;
  e.actor_type = variant % 4 == 0 ? "" : "user";
  e.actor_id = "user-" + std::to_string(variant % 7);
  e.actor_email = variant % 5 == 0 ? "" : "ann@example.com";
  e.project_id = variant % 6 == 0 ? "proj_x" : "";
  // Bytes a text format would trip on: a NUL, a newline, a quote.
  e.raw = std::string("{\"id\":\"") + e.id + "\",\"x\":\"a\nb\"}" + std::string(1, '\0');
  return e;
}

// Events in random order with many shared seconds (ties broken by id).
std::vector<Event> shuffledEvents(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<Event> events;
  for (std::size_t i = 0; i < n; ++i) {
    events.push_back(makeEvent("log-" + std::to_string(rng() % 1'000'000) + "-" + std::to_string(i),
                               1000 + static_cast<std::int64_t>(rng() % 50), static_cast<int>(i)));
  }
  return events;
}

struct Sorted {
  std::vector<Event> events;
  Result<void> result;
};

Sorted sortAll(EventSorter& sorter, const std::vector<Event>& input) {
  Sorted out;
  for (const Event& e : input) {
    out.result = sorter.add(e);
    if (!out.result) return out;
  }
  out.result = sorter.finish([&out](Event& e) {
    out.events.push_back(std::move(e));
    return true;
  });
  return out;
}

void expectSameEvents(const std::vector<Event>& got, const std::vector<Event>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, want[i].id) << i;
    EXPECT_EQ(got[i].effective_at, want[i].effective_at) << i;
    EXPECT_EQ(got[i].type, want[i].type) << i;
    EXPECT_EQ(got[i].outcome, want[i].outcome) << i;
    EXPECT_EQ(got[i].actor_type, want[i].actor_type) << i;
    EXPECT_EQ(got[i].actor_id, want[i].actor_id) << i;
    EXPECT_EQ(got[i].actor_email, want[i].actor_email) << i;
    EXPECT_EQ(got[i].project_id, want[i].project_id) << i;
    EXPECT_EQ(got[i].raw, want[i].raw) << i;
  }
}

class EventSorterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "event-sorter-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::size_t entries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir_), {}));
  }

  fs::path dir_;
};

TEST_F(EventSorterTest, SortsInMemoryWhenEverythingFits) {
  const auto input = shuffledEvents(200, 1);
  auto want = input;
  std::sort(want.begin(), want.end(), eventBefore);
  EventSorter sorter(200, dir_);

  const Sorted got = sortAll(sorter, input);

  ASSERT_TRUE(got.result) << got.result.error().message;
  expectSameEvents(got.events, want);
  EXPECT_EQ(sorter.runsWritten(), 0u);
  EXPECT_TRUE(sorter.tempDir().empty());
  EXPECT_EQ(entries(), 0u);
}

TEST_F(EventSorterTest, SpillsRunsAndMergesThemInSeveralPassesLosingNothing) {
  const auto input = shuffledEvents(1000, 2);
  auto want = input;
  std::sort(want.begin(), want.end(), eventBefore);
  fs::path temp;
  {
    // 1000 / 37 = 28 runs, merged 3 at a time: several passes.
    EventSorter sorter(37, dir_, 3);
    const Sorted got = sortAll(sorter, input);
    ASSERT_TRUE(got.result) << got.result.error().message;
    expectSameEvents(got.events, want);
    EXPECT_GT(sorter.runsWritten(), 28u);
    EXPECT_EQ(sorter.duplicates(), 0u);
    temp = sorter.tempDir();
    ASSERT_FALSE(temp.empty());
    EXPECT_EQ(temp.parent_path(), dir_);
  }
  EXPECT_FALSE(fs::exists(temp));
  EXPECT_EQ(entries(), 0u);
}

TEST_F(EventSorterTest, DropsCopiesOfTheSameLogWhereverTheyWereAdded) {
  auto input = shuffledEvents(300, 3);
  const std::size_t unique = input.size();
  // Copies far apart (different runs) and right next to each other (the same run).
  input.push_back(input[5]);
  input.push_back(input[250]);
  input.push_back(input.back());
  auto want =
      std::vector<Event>(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(unique));
  std::sort(want.begin(), want.end(), eventBefore);
  EventSorter sorter(10, dir_, 4);

  const Sorted got = sortAll(sorter, input);

  ASSERT_TRUE(got.result) << got.result.error().message;
  expectSameEvents(got.events, want);
  EXPECT_EQ(sorter.duplicates(), 3u);
}

TEST_F(EventSorterTest, StopsWhenTheConsumerSaysSo) {
  EventSorter sorter(8, dir_);
  for (const Event& e : shuffledEvents(100, 4)) ASSERT_TRUE(sorter.add(e));
  std::size_t taken = 0;
  auto done = sorter.finish([&taken](Event&) { return ++taken < 5; });
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(taken, 5u);
}

TEST_F(EventSorterTest, AnUnusableSpillDirectoryIsAnErrorNamingIt) {
  const fs::path missing = dir_ / "missing";
  EventSorter sorter(2, missing);
  ASSERT_TRUE(sorter.add(makeEvent("a", 1, 0)));
  ASSERT_TRUE(sorter.add(makeEvent("b", 2, 1)));
  auto added = sorter.add(makeEvent("c", 3, 2));  // the chunk is full: it goes to disk
  ASSERT_FALSE(added);
  EXPECT_NE(added.error().message.find(missing.string()), std::string::npos)
      << added.error().message;
}

TEST_F(EventSorterTest, EmptyInputGivesNothing) {
  EventSorter sorter(4, dir_);
  std::size_t taken = 0;
  ASSERT_TRUE(sorter.finish([&taken](Event&) { return ++taken > 0; }));
  EXPECT_EQ(taken, 0u);
}

}  // namespace
}  // namespace siem::cli
