#include "agent/config/interpolate.h"

#include <cstdlib>

namespace siem {
namespace {

bool isNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool isNameChar(char c) { return isNameStart(c) || (c >= '0' && c <= '9'); }

bool isValidName(std::string_view name) {
  if (name.empty() || !isNameStart(name.front())) return false;
  for (const char c : name)
    if (!isNameChar(c)) return false;
  return true;
}

}  // namespace

EnvLookup processEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    // getenv is only unsafe against concurrent setenv; nothing in the agent calls setenv.
    const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe)
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

Result<std::string> interpolate(std::string_view text, const EnvLookup& env) {
  std::string out;
  out.reserve(text.size());
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t dollar = text.find('$', pos);
    if (dollar == std::string_view::npos || dollar + 1 == text.size()) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, dollar - pos));
    const char next = text[dollar + 1];
    if (next == '$') {
      out += '$';
      pos = dollar + 2;
      continue;
    }
    if (next != '{') {
      out += '$';
      pos = dollar + 1;
      continue;
    }
    const std::size_t close = text.find('}', dollar + 2);
    if (close == std::string_view::npos)
      return fail("unterminated \"${\" (write \"$$\" for a literal \"$\")");
    const std::string_view body = text.substr(dollar + 2, close - dollar - 2);
    const std::size_t sep = body.find(":-");
    const std::string_view name = body.substr(0, sep);
    if (!isValidName(name))
      return fail("invalid variable name \"" + std::string(name) +
                  "\" in \"${...}\" (expected letters, digits and \"_\", not starting with a "
                  "digit)");
    const std::optional<std::string> value = env(std::string(name));
    if (sep != std::string_view::npos) {
      if (value && !value->empty())
        out += *value;
      else
        out.append(body.substr(sep + 2));
    } else if (value) {
      out += *value;
    } else {
      return fail("environment variable " + std::string(name) + " is not set (write ${" +
                  std::string(name) + ":-default} to give a default)");
    }
    pos = close + 1;
  }
  return out;
}

}  // namespace siem
