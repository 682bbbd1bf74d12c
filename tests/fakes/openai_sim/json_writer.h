// Minimal JSON text helpers for the simulator: it renders every event once, by hand, so the hot
// path is string appends only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace siem::sim {

// Appends `value` as a quoted JSON string, escaping what RFC 8259 requires.
void appendJsonString(std::string& out, std::string_view value);

// Appends `"key":` (key is escaped too).
void appendJsonKey(std::string& out, std::string_view key);

void appendJsonInt(std::string& out, std::int64_t value);

// Appends the quoted string, or `null` when `value` is empty.
void appendJsonStringOrNull(std::string& out, std::string_view value);

}  // namespace siem::sim
