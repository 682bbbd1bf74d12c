// `${NAME}` / `${NAME:-default}` / `$$` interpolation of configuration values.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "agent/api/result.h"

namespace siem {

// Looks up an environment variable; nullopt when it is not set. Injected so tests need no setenv.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// The process environment (getenv). Only read while the configuration is loaded, at startup.
EnvLookup processEnvironment();

// Expands `text`:
//   ${NAME}           the variable's value; an error when NAME is not set (an empty value is kept)
//   ${NAME:-default}  the variable's value, or `default` when it is unset or empty
//   $$                a literal '$'
// A '$' followed by anything else is kept as is. NAME is [A-Za-z_][A-Za-z0-9_]*; `default` runs
// to the first '}' and is not expanded itself. Error messages name the variable, never a value.
Result<std::string> interpolate(std::string_view text, const EnvLookup& env);

}  // namespace siem
