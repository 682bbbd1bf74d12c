#include "agent/config/loader.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <map>
#include <set>

#include "agent/config/reader.h"

namespace siem {
namespace {

constexpr std::size_t kMaxConfigFileBytes = 16u << 20;
constexpr std::size_t kMaxIdLength = 64;
constexpr int kMaxNesting = 64;

std::string quote(std::string_view text) {
  std::string out = "\"";
  out.append(text);
  out += '"';
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool contains(const std::vector<std::string>& items, const std::string& item) {
  return std::find(items.begin(), items.end(), item) != items.end();
}

std::string childPath(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

// Reports duplicate keys (yaml-cpp 0.7 keeps both entries of a duplicated key and lookups return
// the first, so a repeated sink id would otherwise silently hide one definition) and keys that
// are not plain strings.
void checkStructure(ConfigContext& context, const YAML::Node& node, const std::string& path,
                    int depth) {
  if (depth > kMaxNesting) return;
  if (node.IsMap()) {
    std::map<std::string, int> first_line;
    for (const auto& kv : node) {
      const Mark key_mark = context.mark(kv.first.Mark());
      if (!kv.first.IsScalar()) {
        context.error(key_mark, (path.empty() ? std::string() : path + ": ") +
                                    "keys must be plain strings, not a list or a map");
        continue;
      }
      const std::string& key = kv.first.Scalar();
      const auto [it, inserted] = first_line.emplace(key, key_mark.line);
      if (!inserted) {
        std::string what = "duplicate key ";
        if (path == "sources") what = "duplicate source id ";
        if (path == "sinks") what = "duplicate sink id ";
        std::string message = path.empty() ? std::string() : path + ": ";
        message += what;
        message += quote(key);
        message += " (first defined on line " + std::to_string(it->second) + ")";
        context.error(key_mark, message);
      }
      checkStructure(context, kv.second, childPath(path, key), depth + 1);
    }
  } else if (node.IsSequence()) {
    std::size_t index = 0;
    for (const auto& item : node)
      checkStructure(context, item, path + "[" + std::to_string(index++) + "]", depth + 1);
  }
}

// Ids name files under data_dir (cursors, dead letters) and appear as metric labels.
void checkId(ConfigContext& context, const MapEntry& entry, const std::string& section,
             std::string_view kind) {
  const std::string& id = entry.key;
  bool ok = !id.empty() && id.size() <= kMaxIdLength;
  for (std::size_t i = 0; ok && i < id.size(); ++i) {
    const char c = id[i];
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    ok = alnum || c == '_' || (i > 0 && (c == '-' || c == '.'));
  }
  if (!ok) {
    context.error(entry.key_mark,
                  section + ": invalid " + std::string(kind) + " id " + quote(id) +
                      ": use 1 to 64 letters, digits, \"_\", \"-\" or \".\", starting with a "
                      "letter, digit or \"_\" (ids name files under data_dir)");
  }
}

// HOST:PORT where HOST is a name, an IPv4 address or a bracketed IPv6 address and PORT 0..65535.
bool isHostPort(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5) return false;
  unsigned value = 0;
  for (const char c : port) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535) return false;
  if (host.empty()) return false;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    for (const char c : host.substr(1, host.size() - 2)) {
      const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                      c == ':' || c == '.';
      if (!ok) return false;
    }
    return true;
  }
  for (const char c : host) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

// A component map whose type is unknown cannot have its keys judged: accept them all so the only
// error is the one about the type.
void acceptAllKeys(ConfigMap& map) { (void)map.entries(); }

bool isEmptyOrAbsentMap(const YAML::Node& root, const std::string& key) {
  const YAML::Node node = root[key];
  return !node.IsDefined() || node.IsNull() || (node.IsMap() && node.size() == 0);
}

bool isEmptyOrAbsentList(const YAML::Node& root, const std::string& key) {
  const YAML::Node node = root[key];
  return !node.IsDefined() || node.IsNull() || (node.IsSequence() && node.size() == 0);
}

void readTopLevel(ConfigMap& top, Config& config) {
  config.data_dir = top.string("data_dir", config.data_dir);
  if (config.data_dir.empty()) top.error("data_dir", "must not be empty");

  ConfigMap api = top.map("api");
  config.api_address = api.string("address", config.api_address);
  if (!isHostPort(config.api_address)) {
    api.error("address", "expected HOST:PORT (e.g. 0.0.0.0:9598 or [::1]:9598), got " +
                             quote(config.api_address));
  }

  ConfigMap log = top.map("log");
  config.log.level =
      log.choice("level", config.log.level, {"trace", "debug", "info", "warn", "error"});
  config.log.format = log.choice("format", config.log.format, {"json", "text"});

  config.shutdown_timeout_secs =
      top.unsignedInt("shutdown_timeout_secs", config.shutdown_timeout_secs, 0, 3600);
}

void readSources(ConfigContext& context, ConfigMap& top, const YAML::Node& root,
                 const ComponentRegistry& registry, Config& config,
                 std::vector<std::string>& declared) {
  ConfigMap sources = top.map("sources");
  std::vector<std::string> type_names;
  for (const auto& t : registry.sources) type_names.push_back(t.name);

  for (const MapEntry& entry : sources.entries()) {
    if (contains(declared, entry.key)) continue;  // duplicate, already reported
    declared.push_back(entry.key);
    checkId(context, entry, "sources", "source");
    ConfigMap map = sources.entryMap(entry);
    SourceConfig source;
    source.id = entry.key;
    source.mark = entry.key_mark;
    source.type = map.requiredString("type");
    source.organization_id = map.string("organization_id");
    const SourceType* type = source.type.empty() ? nullptr : registry.source(source.type);
    if (type == nullptr) {
      if (!source.type.empty()) {
        map.error("type", "unknown source type " + quote(source.type) +
                              didYouMean(source.type, type_names) +
                              "; available: " + joined(type_names));
      }
      acceptAllKeys(map);
      continue;
    }
    if (type->parse) source.options = type->parse(map);
    map.finish();
    config.sources.push_back(std::move(source));
  }
  if (isEmptyOrAbsentMap(root, "sources")) top.error("sources", "at least one source is required");
}

void readSinkCommon(ConfigMap& map, const SinkType* type, SinkConfig& sink) {
  sink.encoding = map.choice<Encoding>(
      "encoding", sink.encoding,
      {{"ocsf", Encoding::kOcsf}, {"ecs", Encoding::kEcs}, {"raw", Encoding::kRaw}});
  if (type != nullptr && std::find(type->encodings.begin(), type->encodings.end(), sink.encoding) ==
                             type->encodings.end()) {
    std::vector<std::string> available;
    for (const Encoding e : type->encodings) available.emplace_back(toString(e));
    map.error("encoding", "encoding " + quote(toString(sink.encoding)) +
                              " is not available for sink type " + type->name +
                              " in this build (available: " + joined(available) + ")");
  }

  ConfigMap batch = map.map("batch");
  sink.batch.max_events =
      batch.unsignedInt<std::size_t>("max_events", sink.batch.max_events, 1, 100'000);
  sink.batch.max_bytes =
      batch.unsignedInt<std::size_t>("max_bytes", sink.batch.max_bytes, 1, 256u << 20);
  sink.batch.timeout_ms =
      batch.unsignedInt<std::uint32_t>("timeout_ms", sink.batch.timeout_ms, 1, 3'600'000);

  ConfigMap retry = map.map("retry");
  sink.retry.initial_backoff_ms = retry.unsignedInt<std::uint32_t>(
      "initial_backoff_ms", sink.retry.initial_backoff_ms, 1, 3'600'000);
  sink.retry.max_backoff_secs =
      retry.unsignedInt<std::uint32_t>("max_backoff_secs", sink.retry.max_backoff_secs, 1, 86'400);
  sink.retry.max_retry_duration_secs = retry.unsignedInt<std::uint32_t>(
      "max_retry_duration_secs", sink.retry.max_retry_duration_secs, 0, 0xFFFF'FFFFu);
  if (std::uint64_t{sink.retry.initial_backoff_ms} >
      std::uint64_t{sink.retry.max_backoff_secs} * 1000) {
    retry.error("initial_backoff_ms", "must not exceed max_backoff_secs (" +
                                          std::to_string(sink.retry.max_backoff_secs) + " s)");
  }

  ConfigMap buffer = map.map("buffer");
  sink.buffer.max_events =
      buffer.unsignedInt<std::size_t>("max_events", sink.buffer.max_events, 1, 10'000'000);
  sink.buffer.max_bytes =
      buffer.unsignedInt<std::size_t>("max_bytes", sink.buffer.max_bytes, 1, 16ull << 30);
  sink.buffer.when_full = buffer.choice<WhenFull>(
      "when_full", sink.buffer.when_full,
      {{"block", WhenFull::kBlock}, {"drop_newest", WhenFull::kDropNewest}});
  // A batch is assembled from queued events, so a queue smaller than a batch could never fill it.
  if (sink.buffer.max_events < sink.batch.max_events) {
    buffer.error("max_events", "must be at least batch.max_events (" +
                                   std::to_string(sink.batch.max_events) + ")");
  }
  if (sink.buffer.max_bytes < sink.batch.max_bytes) {
    buffer.error("max_bytes",
                 "must be at least batch.max_bytes (" + std::to_string(sink.batch.max_bytes) + ")");
  }

  sink.concurrency = map.unsignedInt<std::uint32_t>("concurrency", sink.concurrency, 1, 64);
  sink.unhealthy_after_secs =
      map.unsignedInt<std::uint32_t>("unhealthy_after_secs", sink.unhealthy_after_secs, 1, 604'800);
}

void readSinks(ConfigContext& context, ConfigMap& top, const YAML::Node& root,
               const ComponentRegistry& registry, Config& config, std::vector<MapEntry>& declared) {
  ConfigMap sinks = top.map("sinks");
  std::vector<std::string> type_names;
  for (const auto& t : registry.sinks) type_names.push_back(t.name);

  for (const MapEntry& entry : sinks.entries()) {
    if (std::any_of(declared.begin(), declared.end(),
                    [&](const MapEntry& e) { return e.key == entry.key; }))
      continue;  // duplicate, already reported
    declared.push_back(entry);
    checkId(context, entry, "sinks", "sink");
    ConfigMap map = sinks.entryMap(entry);
    SinkConfig sink;
    sink.id = entry.key;
    sink.mark = entry.key_mark;
    sink.type = map.requiredString("type");
    const SinkType* type = sink.type.empty() ? nullptr : registry.sink(sink.type);
    if (type == nullptr && !sink.type.empty()) {
      map.error("type", "unknown sink type " + quote(sink.type) +
                            didYouMean(sink.type, type_names) +
                            "; available: " + joined(type_names));
    }
    readSinkCommon(map, type, sink);
    if (type == nullptr) {
      acceptAllKeys(map);
      continue;
    }
    if (type->parse) sink.options = type->parse(map);
    map.finish();
    config.sinks.push_back(std::move(sink));
  }
  if (isEmptyOrAbsentMap(root, "sinks")) top.error("sinks", "at least one sink is required");
}

// Checks that every item names a declared component (or "*" where allowed) and none is repeated.
std::vector<std::string> resolveRefs(ConfigContext& context, const std::vector<ListItem>& items,
                                     const std::vector<std::string>& declared,
                                     std::string_view kind, bool allow_star) {
  std::vector<std::string> out;
  for (const ListItem& item : items) {
    if (contains(out, item.value)) {
      context.error(item.mark, item.path + ": " + quote(item.value) + " is listed twice");
      continue;
    }
    if (!(allow_star && item.value == "*") && !contains(declared, item.value)) {
      std::string message = item.path + ": unknown " + std::string(kind) + " " + quote(item.value) +
                            didYouMean(item.value, declared);
      if (allow_star) message += " (use \"*\" for every source)";
      context.error(item.mark, message);
    }
    out.push_back(item.value);
  }
  return out;
}

// A list that must name at least one thing.
std::vector<ListItem> requiredList(ConfigContext& context, ConfigMap& map, const std::string& key,
                                   std::string_view what) {
  if (!map.has(key)) {
    map.error("missing required key " + quote(key));
    return {};
  }
  const std::size_t errors_before = context.errorCount();
  std::vector<ListItem> items = map.stringItems(key);
  if (items.empty() && context.errorCount() == errors_before)
    map.error(key, "must name at least one " + std::string(what));
  return items;
}

void readRoutes(ConfigContext& context, ConfigMap& top, const YAML::Node& root, Config& config,
                const std::vector<std::string>& source_ids, const std::vector<MapEntry>& sinks) {
  std::vector<std::string> sink_ids;
  sink_ids.reserve(sinks.size());
  for (const auto& s : sinks) sink_ids.push_back(s.key);
  std::map<std::string, int> name_line;
  std::vector<ConfigMap> routes = top.mapList("routes");
  for (ConfigMap& map : routes) {
    RouteConfig route;
    route.mark = map.mark();
    route.name = map.requiredString("name");
    if (!route.name.empty()) {
      const auto [it, inserted] = name_line.emplace(route.name, route.mark.line);
      if (!inserted) {
        map.error("name", "duplicate route name " + quote(route.name) + " (first used on line " +
                              std::to_string(it->second) + ")");
      }
    }

    route.from = resolveRefs(context, requiredList(context, map, "from", "source (or \"*\")"),
                             source_ids, "source", true);

    ConfigMap when = map.map("when");
    route.when.type_globs = when.stringList("type");
    route.when.outcome = when.choice("outcome", "", {"success", "failure"});
    route.when.actor_types = when.stringList("actor_type");
    route.when.actor_email_globs = when.stringList("actor_email");
    route.when.project_ids = when.stringList("project_id");

    route.to =
        resolveRefs(context, requiredList(context, map, "to", "sink"), sink_ids, "sink", false);
    config.routes.push_back(std::move(route));
  }
  if (isEmptyOrAbsentList(root, "routes")) {
    top.error("routes", "at least one route is required");
    return;
  }

  // A sink no route feeds, or a source no route reads, is a mistake: its events would go nowhere.
  std::set<std::string> used_sinks;
  std::set<std::string> used_sources;
  for (const auto& route : config.routes) {
    used_sinks.insert(route.to.begin(), route.to.end());
    used_sources.insert(route.from.begin(), route.from.end());
  }
  for (const auto& sink : sinks) {
    if (!used_sinks.count(sink.key))
      context.error(sink.key_mark, "sinks." + sink.key + ": sink " + quote(sink.key) +
                                       " is not used by any route");
  }
  if (!used_sources.count("*")) {
    for (const auto& source : config.sources) {
      if (!used_sources.count(source.id))
        context.error(source.mark, "sources." + source.id + ": source " + quote(source.id) +
                                       " is not read by any route (its events would all be "
                                       "discarded)");
    }
  }
}

std::vector<std::string> oneError(const std::string& file, const Mark& at,
                                  const std::string& message, const LoadOptions& options) {
  ConfigContext context(file, options.env);
  context.error(at, message);
  return context.errors();
}

}  // namespace

ConfigResult loadConfigString(std::string_view yaml, const std::string& file_name,
                              const ComponentRegistry& registry, const LoadOptions& options) {
  const Mark start{file_name, 1, 1};
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    ConfigContext context(file_name, options.env);
    return tl::unexpected(
        oneError(file_name, context.mark(e.mark, start), "invalid YAML: " + e.msg, options));
  } catch (const std::exception& e) {
    return tl::unexpected(
        oneError(file_name, start, std::string("invalid YAML: ") + e.what(), options));
  }
  if (documents.empty() || documents.front().IsNull())
    return tl::unexpected(oneError(file_name, start, "the configuration is empty", options));

  ConfigContext context(file_name, options.env);
  if (documents.size() > 1) {
    context.error(context.mark(documents[1].Mark(), start),
                  "expected one YAML document, found " + std::to_string(documents.size()));
  }
  const YAML::Node& root = documents.front();
  if (!root.IsMap()) {
    context.error(
        context.mark(root.Mark(), start),
        "the configuration must be a map of keys (data_dir, sources, sinks, routes, ...)");
    return tl::unexpected(context.errors());
  }
  checkStructure(context, root, "", 0);

  Config config;
  config.path = file_name;
  ConfigMap top(context, root, "", start);
  readTopLevel(top, config);
  std::vector<std::string> source_ids;
  readSources(context, top, root, registry, config, source_ids);
  std::vector<MapEntry> sink_entries;
  readSinks(context, top, root, registry, config, sink_entries);
  readRoutes(context, top, root, config, source_ids, sink_entries);
  top.finish();

  if (context.hasErrors()) return tl::unexpected(context.errors());
  config.secrets = context.secrets();
  return config;
}

ConfigResult loadConfigFile(const std::string& path, const ComponentRegistry& registry,
                            const LoadOptions& options) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec)
    return tl::unexpected(oneError(path, Mark{path}, "configuration file not found", options));
  auto content = readTextFile(path, kMaxConfigFileBytes);
  if (!content) return tl::unexpected(oneError(path, Mark{path}, content.error().message, options));
  return loadConfigString(*content, path, registry, options);
}

}  // namespace siem
