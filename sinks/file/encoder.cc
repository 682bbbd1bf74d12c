#include "sinks/file/encoder.h"

#include <ctime>
#include <string_view>

namespace siem {

std::string expandPathPattern(const std::string& pattern, std::int64_t unix_secs) {
  if (pattern.find('%') == std::string::npos) return pattern;
  const std::time_t t = static_cast<std::time_t>(unix_secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::string out(pattern.size() + 64, '\0');
  for (int tries = 0; tries < 4; ++tries) {
    const std::size_t n = std::strftime(out.data(), out.size(), pattern.c_str(), &tm);
    if (n > 0) {
      out.resize(n);
      return out;
    }
    out.resize(out.size() * 4);
  }
  return pattern;
}

namespace {

// The seconds a pattern's expansion stays the same for: a day when every conversion is a date.
std::int64_t patternPeriod(const std::string& pattern) {
  constexpr std::string_view kDateOnly = "YmdFjyCeGgVUWuwaAbBhDx%";
  for (std::size_t i = pattern.find('%'); i != std::string::npos; i = pattern.find('%', i + 2)) {
    if (i + 1 >= pattern.size() || kDateOnly.find(pattern[i + 1]) == std::string_view::npos) {
      return 1;
    }
  }
  return 86'400;
}

// Floor division, so that times before 1970 fall in the right day.
std::int64_t floorDiv(std::int64_t a, std::int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }

}  // namespace

PathExpander::PathExpander(const std::string& pattern)
    : pattern_(pattern), period_(patternPeriod(pattern)) {}

const std::string& PathExpander::expand(std::int64_t unix_secs) {
  const std::int64_t bucket = floorDiv(unix_secs, period_);
  if (!valid_ || bucket != bucket_) {
    last_ = expandPathPattern(pattern_, unix_secs);
    bucket_ = bucket;
    valid_ = true;
  }
  return last_;
}

void appendNdjsonLine(std::string& out, const Event& event, Encoding encoding) {
  out += event.encoded(encoding);
  out += '\n';
}

}  // namespace siem
