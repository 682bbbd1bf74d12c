// Pure parts of the file sink: path patterns and NDJSON lines.
#pragma once

#include <cstdint>
#include <string>

#include "agent/api/event.h"

namespace siem {

// Expands strftime conversions in `pattern` for `unix_secs` in UTC. Events are filed by their own
// time, so a replay lands in the same file as the first delivery.
std::string expandPathPattern(const std::string& pattern, std::int64_t unix_secs);

// Appends the event in `encoding` followed by '\n'.
void appendNdjsonLine(std::string& out, const Event& event, Encoding encoding);

}  // namespace siem
