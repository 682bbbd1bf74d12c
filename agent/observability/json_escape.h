// JSON string escaping for the agent's own output (log lines, /readyz bodies). Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace siem {

// Appends `text` to `out` as a quoted JSON string. Quotes, backslashes and every control character
// are escaped; bytes that are not valid UTF-8 become U+FFFD so the result is always valid JSON.
void appendJsonString(std::string& out, std::string_view text);

// `text` as a quoted JSON string.
std::string jsonString(std::string_view text);

}  // namespace siem
