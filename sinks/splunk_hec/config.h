// Options of `type: splunk_hec` (documented in config/README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "agent/config/config.h"

namespace siem {

class ConfigMap;

enum class HecCompression : std::uint8_t { kGzip, kNone };

struct SplunkHecSinkOptions : ComponentOptions {
  // scheme://host[:port][/prefix], without a trailing slash or the /services/collector path.
  std::string endpoint;
  std::string token;       // from `token`, or read from `token_file` at load time
  std::string token_file;  // re-read after 401/403 so a rotated secret is picked up
  // Metadata templates (see sinks/splunk_hec/encoder.h); validated by the parser. An empty
  // sourcetype means the encoding's default.
  std::string host;
  std::string source = "siem-agent:{source_id}";
  std::string sourcetype;
  std::string index;
  std::vector<std::pair<std::string, std::string>> fields;  // indexed field name -> template
  HecCompression compression = HecCompression::kGzip;
  // zlib level. 1 compresses audit JSON about 8:1 at a fraction of the CPU of 6 (about 10:1),
  // which would cap a 2-core host well below 100,000 events/s.
  int compression_level = 1;
  // An event whose envelope is larger is dead-lettered without being sent (HEC's default
  // maxEventSize is 5 MiB).
  std::size_t max_event_bytes = 5u << 20;
  bool indexer_ack = false;
  std::uint32_t ack_timeout_secs = 300;
  std::uint32_t ack_poll_interval_ms = 1000;
  std::uint32_t timeout_secs = 30;
  bool healthcheck = true;
  TlsConfig tls;
};

std::shared_ptr<const ComponentOptions> parseSplunkHecSinkOptions(ConfigMap& map);

}  // namespace siem
