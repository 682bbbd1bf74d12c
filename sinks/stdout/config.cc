#include "sinks/stdout/config.h"

#include "agent/config/reader.h"

namespace siem {

std::shared_ptr<const ComponentOptions> parseStdoutSinkOptions(ConfigMap& map) {
  auto options = std::make_shared<StdoutSinkOptions>();
  options->format =
      map.choice<StdoutFormat>("format", options->format,
                               {{"ndjson", StdoutFormat::kNdjson}, {"text", StdoutFormat::kText}});
  return options;
}

}  // namespace siem
