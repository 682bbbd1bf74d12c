#include "agent/sources/openai/config.h"

#include "agent/config/reader.h"
#include "agent/core/time_spec.h"

namespace siem {

std::shared_ptr<const ComponentOptions> parseOpenAiSourceOptions(ConfigMap& map) {
  auto options = std::make_shared<OpenAiSourceOptions>();
  OpenAiSourceOptions& o = *options;
  o.api =
      map.choice<OpenAiApiVariant>("api", o.api,
                                   {{"audit_logs", OpenAiApiVariant::kAuditLogs},
                                    {"organization_logs", OpenAiApiVariant::kOrganizationLogs}});

  const Secret key = map.secret("api_key", /*required=*/true);
  o.api_key = key.value;
  o.api_key_file = key.file;

  o.base_url = map.string("base_url", o.base_url);
  if (o.base_url.rfind("https://", 0) != 0 && o.base_url.rfind("http://", 0) != 0) {
    map.error("base_url", "must start with https:// or http:// (got \"" + o.base_url + "\")");
  } else {
    const std::size_t host = o.base_url.find("://") + 3;
    if (host >= o.base_url.size() || o.base_url[host] == '/') {
      map.error("base_url", "has no host (got \"" + o.base_url + "\")");
    } else {
      // Paths are appended as "/organization/...", so keep the base without a trailing slash.
      while (o.base_url.back() == '/') o.base_url.pop_back();
    }
  }

  o.poll_interval_secs = map.unsignedInt("poll_interval_secs", o.poll_interval_secs, 1, 86'400);
  o.start_at = map.string("start_at", o.start_at);
  if (const auto t = parseTimeSpec(o.start_at, 0); !t) map.error("start_at", t.error().message);
  o.lookback_secs = map.unsignedInt("lookback_secs", o.lookback_secs, 0, 604'800);
  o.page_size = map.unsignedInt("page_size", o.page_size, 1, 100);
  o.max_requests_per_sec =
      map.number("max_requests_per_sec", o.max_requests_per_sec, 0, 10000, /*min_exclusive=*/true);
  o.timeout_secs = map.unsignedInt("timeout_secs", o.timeout_secs, 1, 3600);
  o.max_window_events = map.unsignedInt("max_window_events", o.max_window_events, 100, 10'000'000);
  o.event_types = map.stringList("event_types");
  o.project_ids = map.stringList("project_ids");
  o.actor_ids = map.stringList("actor_ids");
  o.actor_emails = map.stringList("actor_emails");
  o.resource_ids = map.stringList("resource_ids");
  o.tenant_only = map.boolean("tenant_only", o.tenant_only);
  if (o.api == OpenAiApiVariant::kOrganizationLogs) {
    // The variant's list has no server-side filters; dropping events here instead would be a
    // silent, surprising discard.
    const std::pair<const char*, bool> filters[] = {
        {"event_types", !o.event_types.empty()},   {"project_ids", !o.project_ids.empty()},
        {"actor_ids", !o.actor_ids.empty()},       {"actor_emails", !o.actor_emails.empty()},
        {"resource_ids", !o.resource_ids.empty()}, {"tenant_only", o.tenant_only}};
    for (const auto& [key, set] : filters) {
      if (set) map.error(key, "is not supported with api: organization_logs (it has no filters)");
    }
  }
  o.tls = map.tls("tls");
  return options;
}

}  // namespace siem
