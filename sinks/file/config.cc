#include "sinks/file/config.h"

#include "agent/config/reader.h"

namespace siem {

std::shared_ptr<const ComponentOptions> parseFileSinkOptions(ConfigMap& map) {
  auto options = std::make_shared<FileSinkOptions>();
  options->path = map.requiredString("path");
  if (!options->path.empty() && options->path.back() == '/')
    map.error("path", "names a directory; give a file name (e.g. archive/openai-%Y-%m-%d.ndjson)");
  options->fsync = map.boolean("fsync", options->fsync);
  return options;
}

}  // namespace siem
