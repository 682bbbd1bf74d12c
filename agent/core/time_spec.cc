#include "agent/core/time_spec.h"

#include <chrono>
#include <cstdio>
#include <limits>
#include <optional>

namespace siem {
namespace {

constexpr std::string_view kAcceptedForms =
    "expected RFC 3339 (2026-11-01T00:00:00Z), a duration back from now (90m, 24h, 30d) or unix "
    "seconds";

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `width` digits at `pos`; advances `pos` on success.
std::optional<int> fixedDigits(std::string_view s, std::size_t& pos, std::size_t width) {
  if (pos + width > s.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    const char c = s[pos + i];
    if (!isDigit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += width;
  return value;
}

bool expectChar(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

bool expectCharOf(std::string_view s, std::size_t& pos, std::string_view choices) {
  if (pos >= s.size() || choices.find(s[pos]) == std::string_view::npos) return false;
  ++pos;
  return true;
}

std::optional<std::int64_t> unixDays(int y, int m, int d) {
  using namespace std::chrono;
  const year_month_day date{year{y}, month{static_cast<unsigned>(m)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  return sys_days{date}.time_since_epoch().count();
}

std::optional<std::int64_t> parseRfc3339(std::string_view s) {
  std::size_t pos = 0;
  const auto year = fixedDigits(s, pos, 4);
  if (!year || !expectChar(s, pos, '-')) return std::nullopt;
  const auto month = fixedDigits(s, pos, 2);
  if (!month || !expectChar(s, pos, '-')) return std::nullopt;
  const auto mday = fixedDigits(s, pos, 2);
  if (!mday) return std::nullopt;
  const auto days = unixDays(*year, *month, *mday);
  if (!days) return std::nullopt;
  if (pos == s.size()) return *days * 86400;  // bare date: midnight UTC

  if (!expectCharOf(s, pos, "Tt ")) return std::nullopt;
  const auto hour = fixedDigits(s, pos, 2);
  if (!hour || !expectChar(s, pos, ':')) return std::nullopt;
  const auto minute = fixedDigits(s, pos, 2);
  if (!minute || !expectChar(s, pos, ':')) return std::nullopt;
  const auto second = fixedDigits(s, pos, 2);
  // RFC 3339 allows second 60 (leap second); it counts as the first second of the next minute.
  if (!second || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    const std::size_t start = pos;
    while (pos < s.size() && isDigit(s[pos])) ++pos;
    if (pos == start) return std::nullopt;
  }
  std::int64_t offset_secs = 0;
  if (expectCharOf(s, pos, "Zz")) {
    offset_secs = 0;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    const int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    const auto off_hour = fixedDigits(s, pos, 2);
    if (!off_hour || !expectChar(s, pos, ':')) return std::nullopt;
    const auto off_minute = fixedDigits(s, pos, 2);
    if (!off_minute || *off_hour > 23 || *off_minute > 59) return std::nullopt;
    offset_secs = sign * (std::int64_t{*off_hour} * 3600 + std::int64_t{*off_minute} * 60);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  // Local time = UTC + offset, so UTC = local time - offset.
  return *days * 86400 + std::int64_t{*hour} * 3600 + std::int64_t{*minute} * 60 + *second -
         offset_secs;
}

std::optional<std::int64_t> parseUnsigned(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t value = 0;
  for (const char c : s) {
    if (!isDigit(c)) return std::nullopt;
    if (__builtin_mul_overflow(value, 10, &value) || __builtin_add_overflow(value, c - '0', &value))
      return std::nullopt;
  }
  return value;
}

std::optional<std::int64_t> unitSecs(char unit) {
  switch (unit) {
    case 's':
      return 1;
    case 'm':
      return 60;
    case 'h':
      return 3600;
    case 'd':
      return 86400;
    case 'w':
      return 7 * 86400;
    default:
      return std::nullopt;
  }
}

std::optional<std::int64_t> parseDuration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t pos = 0;
  while (pos < s.size()) {
    const std::size_t start = pos;
    while (pos < s.size() && isDigit(s[pos])) ++pos;
    if (pos == start || pos == s.size()) return std::nullopt;
    const auto count = parseUnsigned(s.substr(start, pos - start));
    const auto unit = unitSecs(s[pos]);
    ++pos;
    if (!count || !unit) return std::nullopt;
    std::int64_t secs = 0;
    if (__builtin_mul_overflow(*count, *unit, &secs) || __builtin_add_overflow(total, secs, &total))
      return std::nullopt;
  }
  return total;
}

std::string quoted(std::string_view text) {
  std::string out = "\"";
  out.append(text);
  out += '"';
  return out;
}

}  // namespace

Result<std::int64_t> parseTimeSpec(std::string_view text, std::int64_t now_unix) {
  if (text.empty()) return fail("empty time: " + std::string(kAcceptedForms));
  if (const auto secs = parseUnsigned(text)) return *secs;
  if (const auto t = parseRfc3339(text)) return *t;
  if (const auto d = parseDuration(text)) {
    std::int64_t t = 0;
    if (!__builtin_sub_overflow(now_unix, *d, &t)) return t;
  }
  return fail("invalid time " + quoted(text) + ": " + std::string(kAcceptedForms));
}

Result<std::int64_t> parseDurationSecs(std::string_view text) {
  if (const auto d = parseDuration(text)) return *d;
  return fail("invalid duration " + quoted(text) +
              ": expected <number><unit>[...] with units s, m, h, d, w (e.g. 90s, 24h, 1h30m)");
}

std::string formatRfc3339(std::int64_t unix_secs) {
  using namespace std::chrono;
  const sys_seconds tp{seconds{unix_secs}};
  const auto day_point = floor<days>(tp);
  const year_month_day date{day_point};
  const hh_mm_ss time{tp - day_point};
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return buf;
}

}  // namespace siem
