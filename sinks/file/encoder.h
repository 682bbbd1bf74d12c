// Pure parts of the file sink: path patterns and NDJSON lines.
#pragma once

#include <cstdint>
#include <string>

#include "agent/api/event.h"

namespace siem {

// Expands strftime conversions in `pattern` for `unix_secs` in UTC. Events are filed by their own
// time, so a replay lands in the same file as the first delivery.
std::string expandPathPattern(const std::string& pattern, std::int64_t unix_secs);

// expandPathPattern for a run of events, remembering the last expansion for as long as the
// pattern cannot change: a UTC day when it uses only date conversions (%Y %m %d %F ...), a second
// otherwise. Not thread-safe.
class PathExpander {
 public:
  explicit PathExpander(const std::string& pattern);
  const std::string& expand(std::int64_t unix_secs);

 private:
  const std::string pattern_;
  std::int64_t period_;  // seconds for which one expansion holds
  bool valid_ = false;
  std::int64_t bucket_ = 0;
  std::string last_;
};

// Appends the event in `encoding` followed by '\n'.
void appendNdjsonLine(std::string& out, const Event& event, Encoding encoding);

}  // namespace siem
