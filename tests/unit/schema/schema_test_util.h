// Helpers shared by the schema tests: reading the golden NDJSON files and building Events the
// way a source does (id, type and effective_at extracted from the raw object).
#pragma once

#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "agent/api/event.h"

namespace siem::schema_test {

inline std::string dataPath(std::string_view name) {
  return std::string(SIEM_TEST_DATA_DIR) + "/schema/" + std::string(name);
}

inline std::vector<std::string> readLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

inline bool writeLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const auto& l : lines) out << l << '\n';
  return static_cast<bool>(out);
}

// The source organization every golden event is rendered with.
inline const SourceInfo& goldenSource() {
  static const SourceInfo kSource{"openai_prod", "openai_audit_logs", "org-EXAMPLE", 0};
  return kSource;
}

// Builds the Event a source would emit for `raw`: id, type (or the seed shape's `event`) and
// effective_at are extracted when present.
inline Event eventFromRaw(std::string raw, const SourceInfo* source = &goldenSource()) {
  Event e;
  e.raw = std::move(raw);
  e.source = source;
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(e.raw).get_object().get(obj)) return e;
  std::string_view s;
  if (!obj["id"].get_string().get(s)) e.id = std::string(s);
  if (!obj["type"].get_string().get(s) || !obj["event"].get_string().get(s))
    e.type = std::string(s);
  std::int64_t t = 0;
  if (!obj["effective_at"].get_int64().get(t)) e.effective_at = t;
  return e;
}

// Parses `json`; returns false (and leaves `doc` unusable) when it is not valid JSON.
inline bool parses(simdjson::dom::parser& parser, std::string_view json,
                   simdjson::dom::element* doc) {
  return !parser.parse(json.data(), json.size()).get(*doc);
}

}  // namespace siem::schema_test
