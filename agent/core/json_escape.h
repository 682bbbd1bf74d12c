// JSON string escaping shared by every writer in the agent (logs, /readyz, dead letters). Pure.
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
