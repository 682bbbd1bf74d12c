#include "agent/core/backoff.h"

#include <gtest/gtest.h>

namespace siem {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, CeilingDoublesUpToTheCap) {
  BackoffPolicy p{milliseconds(500), milliseconds(60'000)};
  // With the random draw at its top, the delay is the ceiling itself.
  EXPECT_EQ(backoffDelay(p, 1, 1.0, std::nullopt), milliseconds(500));
  EXPECT_EQ(backoffDelay(p, 2, 1.0, std::nullopt), milliseconds(1000));
  EXPECT_EQ(backoffDelay(p, 4, 1.0, std::nullopt), milliseconds(4000));
  EXPECT_EQ(backoffDelay(p, 8, 1.0, std::nullopt), milliseconds(60'000));
  EXPECT_EQ(backoffDelay(p, 1000, 1.0, std::nullopt), milliseconds(60'000));
}

TEST(BackoffTest, FullJitterSpansZeroToCeiling) {
  BackoffPolicy p{milliseconds(500), milliseconds(60'000)};
  EXPECT_EQ(backoffDelay(p, 3, 0.0, std::nullopt), milliseconds(0));
  EXPECT_EQ(backoffDelay(p, 3, 0.5, std::nullopt), milliseconds(1000));
}

TEST(BackoffTest, RetryAfterIsAFloor) {
  BackoffPolicy p{milliseconds(500), milliseconds(2'000)};
  EXPECT_EQ(backoffDelay(p, 1, 0.1, milliseconds(7'000)), milliseconds(7'000));
  EXPECT_EQ(backoffDelay(p, 2, 1.0, milliseconds(10)), milliseconds(1000));
}

}  // namespace
}  // namespace siem
