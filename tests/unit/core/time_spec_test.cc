#include "agent/core/time_spec.h"

#include <gtest/gtest.h>

namespace siem {
namespace {

// Reference values computed with `date -u -d <time> +%s`.
constexpr std::int64_t kNov1st2026 = 1793491200;
constexpr std::int64_t kNow = 1800000000;
constexpr std::int64_t kMinute = 60;
constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 86400;

TEST(TimeSpecTest, ParsesRfc3339InUtc) {
  EXPECT_EQ(parseTimeSpec("2026-11-01T00:00:00Z", kNow).value(), kNov1st2026);
  EXPECT_EQ(parseTimeSpec("2024-02-29T23:59:59Z", kNow).value(), 1709251199);
  EXPECT_EQ(parseTimeSpec("1970-01-01T00:00:00Z", kNow).value(), 0);
  EXPECT_EQ(parseTimeSpec("1969-12-31T23:59:59Z", kNow).value(), -1);
}

TEST(TimeSpecTest, ParsesRfc3339Offsets) {
  EXPECT_EQ(parseTimeSpec("2026-11-01T02:00:00+02:00", kNow).value(), kNov1st2026);
  EXPECT_EQ(parseTimeSpec("2026-10-31T22:00:00-02:00", kNow).value(), kNov1st2026);
  EXPECT_EQ(parseTimeSpec("2000-03-01T12:34:56-05:30", kNow).value(), 951933896);
}

TEST(TimeSpecTest, ParsesRfc3339Variants) {
  EXPECT_EQ(parseTimeSpec("2026-11-01T00:00:00.999Z", kNow).value(), kNov1st2026);
  EXPECT_EQ(parseTimeSpec("2026-11-01t00:00:01.5z", kNow).value(), kNov1st2026 + 1);
  EXPECT_EQ(parseTimeSpec("2026-11-01 00:00:02Z", kNow).value(), kNov1st2026 + 2);
  EXPECT_EQ(parseTimeSpec("2026-11-01", kNow).value(), kNov1st2026);
  // A leap second counts as the first second of the next minute.
  EXPECT_EQ(parseTimeSpec("2026-10-31T23:59:60Z", kNow).value(), kNov1st2026);
}

TEST(TimeSpecTest, ParsesDurationsBackFromNow) {
  EXPECT_EQ(parseTimeSpec("90s", kNow).value(), kNow - 90);
  EXPECT_EQ(parseTimeSpec("90m", kNow).value(), kNow - 90 * kMinute);
  EXPECT_EQ(parseTimeSpec("24h", kNow).value(), kNow - 24 * kHour);
  EXPECT_EQ(parseTimeSpec("30d", kNow).value(), kNow - 30 * kDay);
  EXPECT_EQ(parseTimeSpec("2160h", kNow).value(), kNow - 2160 * kHour);
  EXPECT_EQ(parseTimeSpec("2w", kNow).value(), kNow - 14 * kDay);
  EXPECT_EQ(parseTimeSpec("1h30m", kNow).value(), kNow - 5400);
  EXPECT_EQ(parseTimeSpec("0s", kNow).value(), kNow);
}

TEST(TimeSpecTest, ParsesUnixSeconds) {
  EXPECT_EQ(parseTimeSpec("1793491200", kNow).value(), kNov1st2026);
  EXPECT_EQ(parseTimeSpec("0", kNow).value(), 0);
}

TEST(TimeSpecTest, RejectsMalformedTimes) {
  for (const char* bad :
       {"", "yesterday", "24x", "h", "1.5h", "-24h", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-11-31", "2026-11-01T24:00:00Z", "2026-11-01T00:60:00Z", "2026-11-01T00:00:00",
        "2026-11-01T00:00:00+0200", "2026-11-01T00:00:00.Z", "2026-11-01T00:00Z",
        "2026-11-01T00:00:00Zjunk", "99999999999999999999", "99999999999999999999d", " 24h"}) {
    const auto r = parseTimeSpec(bad, kNow);
    EXPECT_FALSE(r.has_value()) << bad;
    if (!r) {
      EXPECT_NE(r.error().message.find("RFC 3339"), std::string::npos) << r.error().message;
    }
  }
}

TEST(TimeSpecTest, ErrorQuotesTheInput) {
  const auto r = parseTimeSpec("tomorrow", kNow);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "invalid time \"tomorrow\": expected RFC 3339 (2026-11-01T00:00:00Z), a duration back "
            "from now (90m, 24h, 30d) or unix seconds");
}

TEST(TimeSpecTest, ParsesDurations) {
  EXPECT_EQ(parseDurationSecs("90s").value(), 90);
  EXPECT_EQ(parseDurationSecs("1d2h").value(), 86400 + 7200);
  EXPECT_FALSE(parseDurationSecs("90").has_value());
  EXPECT_FALSE(parseDurationSecs("").has_value());
  EXPECT_FALSE(parseDurationSecs("5y").has_value());
}

TEST(TimeSpecTest, FormatsRfc3339InUtc) {
  EXPECT_EQ(formatRfc3339(kNov1st2026), "2026-11-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(formatRfc3339(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(formatRfc3339(951933896), "2000-03-01T18:04:56Z");
  EXPECT_EQ(formatRfc3339(1709251199), "2024-02-29T23:59:59Z");
}

TEST(TimeSpecTest, FormatAndParseRoundTrip) {
  for (std::int64_t t = -kDay * 400; t < kDay * 365 * 60; t += kDay * 13 + 3607) {
    EXPECT_EQ(parseTimeSpec(formatRfc3339(t), kNow).value(), t) << t;
  }
}

}  // namespace
}  // namespace siem
