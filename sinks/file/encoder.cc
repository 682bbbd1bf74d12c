#include "sinks/file/encoder.h"

#include <ctime>

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

void appendNdjsonLine(std::string& out, const Event& event, Encoding encoding) {
  out += event.encoded(encoding);
  out += '\n';
}

}  // namespace siem
