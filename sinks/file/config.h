// Options of `type: file`.
#pragma once

#include <string>

#include "agent/config/config.h"

namespace siem {

class ConfigMap;

struct FileSinkOptions : ComponentOptions {
  // strftime pattern (UTC), e.g. /var/lib/siem-agent/archive/openai-%Y-%m-%d.ndjson. Relative
  // paths are relative to data_dir.
  std::string path;
  bool fsync = true;  // fsync after every batch so "delivered" means "on disk"
};

std::shared_ptr<const ComponentOptions> parseFileSinkOptions(ConfigMap& map);

}  // namespace siem
