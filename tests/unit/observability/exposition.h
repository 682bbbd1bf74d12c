// Test helper: reads samples back out of a Prometheus text exposition.
#pragma once

#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace siem::testing {

using LabelSet = std::map<std::string, std::string>;

struct Sample {
  std::string name;
  LabelSet labels;
  double value = 0;
};

// Parses one sample line `name{a="x",b="y"} value` (label values without escapes).
inline std::optional<Sample> parseSampleLine(std::string_view line) {
  if (line.empty() || line.front() == '#') return std::nullopt;
  Sample sample;
  const auto name_end = line.find_first_of("{ ");
  if (name_end == std::string_view::npos) return std::nullopt;
  sample.name = std::string(line.substr(0, name_end));
  std::size_t pos = name_end;
  if (line[pos] == '{') {
    const auto close = line.find('}', pos);
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view labels = line.substr(pos + 1, close - pos - 1);
    while (!labels.empty()) {
      const auto eq = labels.find("=\"");
      const auto quote = labels.find('"', eq + 2);
      if (eq == std::string_view::npos || quote == std::string_view::npos) return std::nullopt;
      sample.labels[std::string(labels.substr(0, eq))] =
          std::string(labels.substr(eq + 2, quote - eq - 2));
      labels.remove_prefix(quote + 1);
      if (!labels.empty() && labels.front() == ',') labels.remove_prefix(1);
    }
    pos = close + 1;
  }
  std::istringstream value(std::string(line.substr(pos)));
  if (!(value >> sample.value)) return std::nullopt;
  return sample;
}

// The value of the sample named `name` whose labels are exactly `labels`.
inline std::optional<double> sampleValue(const std::string& exposition, std::string_view name,
                                         const LabelSet& labels = {}) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    const auto sample = parseSampleLine(line);
    if (sample && sample->name == name && sample->labels == labels) return sample->value;
  }
  return std::nullopt;
}

// Number of samples named `name` (any labels).
inline int sampleCount(const std::string& exposition, std::string_view name) {
  std::istringstream in(exposition);
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    const auto sample = parseSampleLine(line);
    if (sample && sample->name == name) ++count;
  }
  return count;
}

// The declared type of a family ("counter", "gauge", "histogram"), or "" if not declared.
inline std::string familyType(const std::string& exposition, std::string_view family) {
  const std::string prefix = "# TYPE " + std::string(family) + " ";
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  }
  return "";
}

inline bool hasHelp(const std::string& exposition, std::string_view family) {
  const std::string prefix = "# HELP " + std::string(family) + " ";
  return exposition.find("\n" + prefix) != std::string::npos || exposition.rfind(prefix, 0) == 0;
}

}  // namespace siem::testing
