// Loads and validates the YAML configuration (config/README.md) into a Config. All problems are
// reported at once, each as `FILE:LINE:COL: message` (what `siem-agent validate` prints).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "agent/config/config.h"
#include "agent/config/interpolate.h"
#include "agent/core/registry.h"

namespace siem {

struct LoadOptions {
  // Where ${NAME} values come from; the process environment by default.
  EnvLookup env = processEnvironment();
};

using ConfigResult = tl::expected<Config, std::vector<std::string>>;

// Reads the file at `path` (errors name `path` as written).
ConfigResult loadConfigFile(const std::string& path, const ComponentRegistry& registry,
                            const LoadOptions& options = {});

// Parses `yaml`; `file_name` is used in error messages and as Config::path.
ConfigResult loadConfigString(std::string_view yaml, const std::string& file_name,
                              const ComponentRegistry& registry, const LoadOptions& options = {});

}  // namespace siem
