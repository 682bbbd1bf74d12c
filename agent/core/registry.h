// The table of component types the agent knows. Built explicitly by builtinComponents()
// (agent/core/builtin_components.cc): no static self-registration.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/api/event.h"
#include "agent/api/result.h"
#include "agent/api/sink.h"
#include "agent/api/source.h"
#include "agent/config/config.h"

namespace siem {

class ConfigMap;  // agent/config/reader.h
class Metrics;
class ComponentMetrics;

// What a sink gets from the agent when it is built.
struct SinkEnv {
  const Config& config;
  ComponentMetrics& metrics;
};

// What a source gets from the agent when it is built.
struct SourceEnv {
  const Config& config;
  ComponentMetrics& metrics;
  const SourceInfo& info;
  bool dry_run = false;  // never persist a cursor
};

// Reads the type's own keys from the component's mapping (the common keys were already read by
// the loader). Errors are recorded in the ConfigMap; the returned options may then be partial.
using OptionsParser = std::function<std::shared_ptr<const ComponentOptions>(ConfigMap&)>;
using SinkFactory = std::function<Result<std::unique_ptr<Sink>>(const SinkConfig&, SinkEnv&)>;
using SourceFactory =
    std::function<Result<std::unique_ptr<Source>>(const SourceConfig&, SourceEnv&)>;

struct SinkType {
  std::string name;
  std::vector<Encoding> encodings;  // the encodings this build can render for it
  OptionsParser parse;
  SinkFactory create;
};

struct SourceType {
  std::string name;
  OptionsParser parse;
  SourceFactory create;
};

struct ComponentRegistry {
  std::vector<SinkType> sinks;
  std::vector<SourceType> sources;

  const SinkType* sink(const std::string& name) const {
    for (const auto& t : sinks)
      if (t.name == name) return &t;
    return nullptr;
  }
  const SourceType* source(const std::string& name) const {
    for (const auto& t : sources)
      if (t.name == name) return &t;
    return nullptr;
  }
};

ComponentRegistry builtinComponents();

}  // namespace siem
