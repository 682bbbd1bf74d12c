// Options of `type: openai_audit_logs` (config/README.md documents every key and default).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/config/config.h"

namespace siem {

class ConfigMap;

enum class OpenAiApiVariant : std::uint8_t {
  kAuditLogs,         // GET {base_url}/organization/audit_logs (the real API)
  kOrganizationLogs,  // GET {base_url}/organization_logs (the seed document's variant)
};

struct OpenAiSourceOptions : ComponentOptions {
  OpenAiApiVariant api = OpenAiApiVariant::kAuditLogs;
  std::string api_key;       // resolved secret (from api_key, or read from api_key_file)
  std::string api_key_file;  // when set, re-read on 401/403 (and SIGHUP) to follow rotation
  std::string base_url = "https://api.openai.com/v1";
  std::uint32_t poll_interval_secs = 30;
  std::string start_at =
      "24h";  // as written; resolved at first run (duration back, RFC 3339, unix)
  std::uint32_t lookback_secs = 300;
  std::uint32_t page_size = 100;  // 1..100
  double max_requests_per_sec = 5;
  std::uint32_t timeout_secs = 30;
  std::uint32_t max_window_events = 20'000;
  std::vector<std::string> event_types;
  std::vector<std::string> project_ids;
  std::vector<std::string> actor_ids;
  std::vector<std::string> actor_emails;
  std::vector<std::string> resource_ids;
  bool tenant_only = false;
  TlsConfig tls;
};

// Reads the keys above from a source mapping; errors go to the ConfigMap.
std::shared_ptr<const ComponentOptions> parseOpenAiSourceOptions(ConfigMap& map);

}  // namespace siem
