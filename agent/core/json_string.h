// JSON string escaping shared by every writer in the agent.
#pragma once

#include <string>
#include <string_view>

namespace siem {

// Appends `text` as a JSON string literal (quotes included). Invalid UTF-8 sequences become
// U+FFFD and control characters are escaped, so the result is always valid JSON.
void appendJsonString(std::string& out, std::string_view text);

}  // namespace siem
