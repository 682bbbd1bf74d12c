// Options of `type: stdout`.
#pragma once

#include <cstdint>

#include "agent/config/config.h"

namespace siem {

class ConfigMap;

enum class StdoutFormat : std::uint8_t {
  kNdjson,  // one encoded event per line
  kText,    // one human-readable summary line per event (time, type, actor, outcome, project, id)
};

struct StdoutSinkOptions : ComponentOptions {
  StdoutFormat format = StdoutFormat::kNdjson;
};

std::shared_ptr<const ComponentOptions> parseStdoutSinkOptions(ConfigMap& map);

}  // namespace siem
