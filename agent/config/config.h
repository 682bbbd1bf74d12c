// Typed configuration, as documented in config/README.md (DESIGN §7). Produced by loadConfig()
// (agent/config/loader.h) after interpolation and validation; immutable afterwards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/api/event.h"

namespace siem {

// Where a value came from, for error messages (1-based line and column).
struct Mark {
  std::string file;
  int line = 0;
  int column = 0;
};

struct TlsConfig {
  bool verify = true;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
};

struct BatchConfig {
  std::size_t max_events = 500;
  std::size_t max_bytes = 1'000'000;
  std::uint32_t timeout_ms = 1000;
};

struct RetryConfig {
  std::uint32_t initial_backoff_ms = 500;
  std::uint32_t max_backoff_secs = 60;
  std::uint32_t max_retry_duration_secs = 0;  // 0 = retry forever
};

enum class WhenFull : std::uint8_t { kBlock, kDropNewest };

struct BufferConfig {
  std::size_t max_events = 10'000;
  std::size_t max_bytes = 64ull << 20;
  WhenFull when_full = WhenFull::kBlock;
};

// Type-specific options of a sink or source; each type derives its own (e.g. FileSinkOptions).
struct ComponentOptions {
  virtual ~ComponentOptions() = default;
};

struct SinkConfig {
  std::string id;
  std::string type;
  Encoding encoding = Encoding::kOcsf;
  BatchConfig batch;
  RetryConfig retry;
  BufferConfig buffer;
  std::uint32_t concurrency = 1;
  std::uint32_t unhealthy_after_secs = 300;
  std::shared_ptr<const ComponentOptions> options;  // the type's own keys
  Mark mark;
};

struct SourceConfig {
  std::string id;
  std::string type;
  std::string organization_id;
  std::shared_ptr<const ComponentOptions> options;  // the type's own keys
  Mark mark;
};

// A route's `when`: every given key must match. Empty lists mean "any".
struct RouteCondition {
  std::vector<std::string> type_globs;
  std::string outcome;  // "", "success" or "failure"
  std::vector<std::string> actor_types;
  std::vector<std::string> actor_email_globs;
  std::vector<std::string> project_ids;
};

struct RouteConfig {
  std::string name;
  std::vector<std::string> from;  // source ids, or "*"
  RouteCondition when;
  std::vector<std::string> to;  // sink ids
  Mark mark;
};

struct LogConfig {
  std::string level = "info";   // trace|debug|info|warn|error
  std::string format = "json";  // json|text
};

struct Config {
  std::string path;
  std::string data_dir = "/var/lib/siem-agent";
  std::string api_address = "0.0.0.0:9598";
  LogConfig log;
  std::uint32_t shutdown_timeout_secs = 30;
  std::vector<SourceConfig> sources;  // in file order
  std::vector<SinkConfig> sinks;      // in file order
  std::vector<RouteConfig> routes;    // in file order
  // Every secret value that came out of the file or a *_file reference, so logging can redact it.
  std::vector<std::string> secrets;
};

}  // namespace siem
