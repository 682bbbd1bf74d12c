#include "agent/core/time_spec.h"

#include <cctype>
#include <chrono>
#include <optional>

#include <fmt/format.h>

namespace siem {
namespace {

constexpr std::string_view kForms =
    "expected a duration back from now (e.g. 90m, 24h, 30d), an RFC 3339 time (e.g. "
    "2026-11-01T00:00:00Z) or unix seconds";

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Reads exactly `n` digits at `pos`.
std::optional<int> digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!isDigit(s[i])) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

std::optional<std::int64_t> parseUnsigned(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  std::int64_t v = 0;
  for (char c : s) {
    if (!isDigit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::optional<std::int64_t> parseDuration(std::string_view s) {
  std::int64_t total = 0;
  std::size_t i = 0;
  bool any = false;
  while (i < s.size()) {
    std::size_t start = i;
    while (i < s.size() && isDigit(s[i])) ++i;
    if (i == start || i == s.size() || i - start > 12) return std::nullopt;
    auto n = parseUnsigned(s.substr(start, i - start));
    if (!n) return std::nullopt;
    std::int64_t unit = 0;
    switch (s[i]) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      default:
        return std::nullopt;
    }
    ++i;
    total += *n * unit;
    any = true;
  }
  if (!any) return std::nullopt;
  return total;
}

std::optional<std::int64_t> parseRfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  auto year = digits(s, 0, 4);
  auto month = digits(s, 5, 2);
  auto day = digits(s, 8, 2);
  auto hour = digits(s, 11, 2);
  auto minute = digits(s, 14, 2);
  auto second = digits(s, 17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':') {
    return std::nullopt;
  }
  if (*hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::size_t start = i;
    while (i < s.size() && isDigit(s[i])) ++i;
    if (i == start) return std::nullopt;
  }
  if (i >= s.size()) return std::nullopt;
  std::int64_t offset = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    ++i;
  } else if (s[i] == '+' || s[i] == '-') {
    auto oh = digits(s, i + 1, 2);
    auto om = digits(s, i + 4, 2);
    if (!oh || !om || s[i + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset = (std::int64_t{*oh} * 3600 + std::int64_t{*om} * 60) * (s[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year{*year}, std::chrono::month{static_cast<unsigned>(*month)},
                     std::chrono::day{static_cast<unsigned>(*day)}};
  if (!ymd.ok()) return std::nullopt;
  std::int64_t days = sys_days{ymd}.time_since_epoch().count();
  // A leap second (":60") is folded onto the next second.
  return days * 86400 + std::int64_t{*hour} * 3600 + std::int64_t{*minute} * 60 + *second - offset;
}

}  // namespace

Result<std::int64_t> parseTimeSpec(std::string_view spec, std::int64_t now_unix) {
  while (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.front()))) {
    spec.remove_prefix(1);
  }
  while (!spec.empty() && std::isspace(static_cast<unsigned char>(spec.back()))) {
    spec.remove_suffix(1);
  }
  if (spec.empty()) return fail(fmt::format("empty time: {}", kForms));
  if (auto unix = parseUnsigned(spec)) return *unix;
  if (auto back = parseDuration(spec)) return now_unix - *back;
  if (auto t = parseRfc3339(spec)) return *t;
  return fail(fmt::format("invalid time \"{}\": {}", spec, kForms));
}

std::string formatRfc3339(std::int64_t unix_seconds) {
  using namespace std::chrono;
  std::int64_t days = unix_seconds / 86400;
  std::int64_t rem = unix_seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     rem / 3600, (rem / 60) % 60, rem % 60);
}

}  // namespace siem
