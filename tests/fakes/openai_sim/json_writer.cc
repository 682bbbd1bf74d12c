#include "tests/fakes/openai_sim/json_writer.h"

#include <charconv>

namespace siem::sim {

void appendJsonString(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of characters that need no escaping
  for (std::size_t i = 0; i < value.size(); ++i) {
    const auto u = static_cast<unsigned char>(value[i]);
    if (u >= 0x20 && u != '"' && u != '\\') continue;
    out.append(value.data() + run, i - run);
    run = i + 1;
    switch (u) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += "\\u00";
        out.push_back(kHex[u >> 4]);
        out.push_back(kHex[u & 0xF]);
    }
  }
  out.append(value.data() + run, value.size() - run);
  out.push_back('"');
}

void appendJsonKey(std::string& out, std::string_view key) {
  appendJsonString(out, key);
  out.push_back(':');
}

void appendJsonInt(std::string& out, std::int64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  (void)ec;  // 24 bytes always hold an int64
  out.append(buf, end);
}

void appendJsonStringOrNull(std::string& out, std::string_view value) {
  if (value.empty()) {
    out += "null";
  } else {
    appendJsonString(out, value);
  }
}

}  // namespace siem::sim
