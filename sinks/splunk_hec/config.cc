#include "sinks/splunk_hec/config.h"

#include <cctype>
#include <string_view>

#include "agent/config/reader.h"
#include "sinks/splunk_hec/encoder.h"

namespace siem {
namespace {

// Splunk field names: a letter or underscore, then letters, digits and underscores.
bool isFieldName(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  if (!std::isalpha(static_cast<unsigned char>(name[0])) && name[0] != '_') return false;
  for (const char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

std::string readTemplate(ConfigMap& map, const std::string& key, const std::string& fallback) {
  std::string text = map.string(key, fallback);
  if (auto parsed = HecTemplate::parse(text); !parsed) map.error(key, parsed.error().message);
  return text;
}

}  // namespace

std::shared_ptr<const ComponentOptions> parseSplunkHecSinkOptions(ConfigMap& map) {
  auto options = std::make_shared<SplunkHecSinkOptions>();
  SplunkHecSinkOptions& o = *options;

  o.endpoint = map.requiredString("endpoint");
  if (!o.endpoint.empty()) {
    if (o.endpoint.rfind("https://", 0) != 0 && o.endpoint.rfind("http://", 0) != 0) {
      map.error("endpoint", "must start with https:// or http:// (got \"" + o.endpoint + "\")");
    } else {
      const std::size_t host = o.endpoint.find("://") + 3;
      if (host >= o.endpoint.size() || o.endpoint[host] == '/') {
        map.error("endpoint", "has no host (got \"" + o.endpoint + "\")");
      }
      // Accept the collector URL as copied from Splunk's docs; the sink adds the paths itself.
      while (!o.endpoint.empty() && o.endpoint.back() == '/') o.endpoint.pop_back();
      for (const std::string_view suffix : {"/services/collector/event", "/services/collector"}) {
        if (o.endpoint.ends_with(suffix)) {
          o.endpoint.resize(o.endpoint.size() - suffix.size());
          break;
        }
      }
    }
  }

  const Secret token = map.secret("token", /*required=*/true);
  o.token = token.value;
  o.token_file = token.file;

  o.host = readTemplate(map, "host", o.host);
  o.source = readTemplate(map, "source", o.source);
  o.sourcetype = readTemplate(map, "sourcetype", o.sourcetype);
  o.index = readTemplate(map, "index", o.index);
  for (auto& [name, value] : map.stringMap("fields")) {
    if (!isFieldName(name)) {
      map.error("fields",
                "\"" + name + "\" is not a field name (a letter or _, then letters, digits, _)");
    } else if (auto parsed = HecTemplate::parse(value); !parsed) {
      map.error("fields", name + ": " + parsed.error().message);
    }
    o.fields.emplace_back(std::move(name), std::move(value));
  }

  o.compression = map.choice<HecCompression>(
      "compression", o.compression,
      {{"gzip", HecCompression::kGzip}, {"none", HecCompression::kNone}});
  // 1 (the default) compresses with ISA-L; 2-9 with zlib at that level, more CPU for a smaller
  // wire (see gzip.h). zlib's 0 (stored, no compression) has no use here: `compression: none`.
  o.compression_level =
      static_cast<int>(map.integer("compression_level", o.compression_level, 1, 9));
  o.max_event_bytes =
      map.unsignedInt<std::size_t>("max_event_bytes", o.max_event_bytes, 64, std::size_t{1} << 30);
  o.indexer_ack = map.boolean("indexer_ack", o.indexer_ack);
  o.ack_timeout_secs = map.unsignedInt("ack_timeout_secs", o.ack_timeout_secs, 1, 86'400);
  o.ack_poll_interval_ms =
      map.unsignedInt("ack_poll_interval_ms", o.ack_poll_interval_ms, 10, 600'000);
  o.timeout_secs = map.unsignedInt("timeout_secs", o.timeout_secs, 1, 3600);
  o.healthcheck = map.boolean("healthcheck", o.healthcheck);
  o.tls = map.tls("tls");
  return options;
}

}  // namespace siem
