#include "agent/core/ack_tracker.h"

#include <gtest/gtest.h>

#include <vector>

namespace siem {
namespace {

struct Recorder {
  std::vector<std::uint64_t> advances;
  AckTracker tracker{[this](std::uint64_t upto) { advances.push_back(upto); }};
};

TEST(AckTrackerTest, AdvancesOnlyOverTheTerminalPrefix) {
  Recorder r;
  for (std::uint64_t s = 1; s <= 5; ++s) r.tracker.add(s, 1);
  r.tracker.complete(3);
  r.tracker.complete(2);
  EXPECT_EQ(r.tracker.acknowledged(), 0u);
  EXPECT_TRUE(r.advances.empty());
  r.tracker.complete(1);
  EXPECT_EQ(r.tracker.acknowledged(), 3u);
  ASSERT_EQ(r.advances.size(), 1u);
  EXPECT_EQ(r.advances.back(), 3u);
  r.tracker.complete(5);
  EXPECT_EQ(r.tracker.acknowledged(), 3u);
  r.tracker.complete(4);
  EXPECT_EQ(r.tracker.acknowledged(), 5u);
  EXPECT_EQ(r.advances, (std::vector<std::uint64_t>{3, 5}));
  EXPECT_EQ(r.tracker.outstanding(), 0u);
}

TEST(AckTrackerTest, FanOutNeedsEverySink) {
  Recorder r;
  r.tracker.add(1, 3);
  r.tracker.complete(1);
  r.tracker.complete(1);
  EXPECT_EQ(r.tracker.acknowledged(), 0u);
  r.tracker.complete(1);
  EXPECT_EQ(r.tracker.acknowledged(), 1u);
}

TEST(AckTrackerTest, UnroutedEventsAreTerminalAtOnceButWaitForTheirPredecessors) {
  Recorder r;
  r.tracker.add(1, 1);
  r.tracker.add(2, 0);
  EXPECT_EQ(r.tracker.acknowledged(), 0u);
  r.tracker.complete(1);
  EXPECT_EQ(r.tracker.acknowledged(), 2u);
  r.tracker.add(3, 0);
  EXPECT_EQ(r.tracker.acknowledged(), 3u);
}

TEST(AckTrackerTest, OutOfOrderBatchCompletionsInAnyOrder) {
  Recorder r;
  for (std::uint64_t s = 1; s <= 100; ++s) r.tracker.add(s, 2);
  std::vector<std::uint64_t> a, b;
  for (std::uint64_t s = 1; s <= 100; ++s) (s % 2 ? a : b).push_back(s);
  // Sink 1 completes odd then even; sink 2 completes in reverse.
  r.tracker.complete(a);
  r.tracker.complete(b);
  EXPECT_EQ(r.tracker.acknowledged(), 0u);
  for (std::uint64_t s = 100; s >= 2; --s) r.tracker.complete(s);
  EXPECT_EQ(r.tracker.acknowledged(), 0u);
  r.tracker.complete(1);
  EXPECT_EQ(r.tracker.acknowledged(), 100u);
  for (std::size_t i = 1; i < r.advances.size(); ++i) EXPECT_GT(r.advances[i], r.advances[i - 1]);
}

TEST(AckTrackerTest, DuplicateAndUnknownCompletionsAreIgnoredAndCounted) {
  Recorder r;
  r.tracker.add(1, 1);
  r.tracker.complete(1);
  r.tracker.complete(1);
  r.tracker.complete(42);
  r.tracker.add(7, 1);  // not contiguous
  EXPECT_EQ(r.tracker.ignored(), 3u);
  EXPECT_EQ(r.tracker.acknowledged(), 1u);
}

}  // namespace
}  // namespace siem
