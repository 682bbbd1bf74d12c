#include "agent/core/time_spec.h"

#include <gtest/gtest.h>

namespace siem {
namespace {

constexpr std::int64_t kNow = 1'793'491'200;  // 2026-11-01T00:00:00Z

TEST(TimeSpecTest, DurationsCountBackFromNow) {
  EXPECT_EQ(parseTimeSpec("24h", kNow).value(), kNow - 86'400);
  EXPECT_EQ(parseTimeSpec("90m", kNow).value(), kNow - 5'400);
  EXPECT_EQ(parseTimeSpec("30d", kNow).value(), kNow - 30 * 86'400);
  EXPECT_EQ(parseTimeSpec("45s", kNow).value(), kNow - 45);
  EXPECT_EQ(parseTimeSpec("1h30m", kNow).value(), kNow - 5'400);
  EXPECT_EQ(parseTimeSpec(" 720h ", kNow).value(), kNow - 720 * 3600);
}

TEST(TimeSpecTest, Rfc3339InUtcAndWithOffsets) {
  EXPECT_EQ(parseTimeSpec("2026-11-01T00:00:00Z", 0).value(), kNow);
  EXPECT_EQ(parseTimeSpec("2026-11-01T02:00:00+02:00", 0).value(), kNow);
  EXPECT_EQ(parseTimeSpec("2026-10-31T19:30:00-04:30", 0).value(), kNow);
  EXPECT_EQ(parseTimeSpec("2026-11-01T00:00:00.999Z", 0).value(), kNow);
  EXPECT_EQ(parseTimeSpec("1970-01-01T00:00:00Z", 0).value(), 0);
  EXPECT_EQ(parseTimeSpec("2024-02-29T12:00:00Z", 0).value(), 1'709'208'000);
}

TEST(TimeSpecTest, UnixSeconds) {
  EXPECT_EQ(parseTimeSpec("1761955200", kNow).value(), 1761955200);
}

TEST(TimeSpecTest, RejectsEverythingElseWithTheAcceptedForms) {
  for (const char* bad :
       {"", "yesterday", "h", "-5m", "24x", "2026-02-30T00:00:00Z", "2026-11-01T00:00:00",
        "2026-11-01 00:00", "2026-11-01T25:00:00Z", "2026-11-01T00:00:00+0200"}) {
    auto r = parseTimeSpec(bad, kNow);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_NE(r.error().message.find("RFC 3339"), std::string::npos) << r.error().message;
  }
}

TEST(TimeSpecTest, FormatsRfc3339) {
  EXPECT_EQ(formatRfc3339(kNow), "2026-11-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339(kNow + 3661), "2026-11-01T01:01:01Z");
  EXPECT_EQ(formatRfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(parseTimeSpec(formatRfc3339(1'234'567'890), 0).value(), 1'234'567'890);
}

}  // namespace
}  // namespace siem
