// Typed, error-collecting access to the YAML configuration. Every problem is recorded (never
// thrown) as `FILE:LINE:COL: path: message`, so one run of `siem-agent validate` reports all of
// them. Scalars are interpolated (agent/config/interpolate.h) when they are read, after parsing,
// so positions point into the file as written.
//
// Not thread-safe: used by one thread while the configuration is loaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "agent/api/result.h"
#include "agent/config/config.h"
#include "agent/config/interpolate.h"

namespace siem {

// State shared by every ConfigMap of one load: the file name, the environment, the errors and the
// secrets found so far.
class ConfigContext {
 public:
  explicit ConfigContext(std::string file, EnvLookup env = processEnvironment());

  const std::string& file() const { return file_; }
  const EnvLookup& env() const { return env_; }

  // Converts yaml-cpp's 0-based mark to a 1-based Mark; `fallback` when yaml-cpp has none.
  Mark mark(const YAML::Mark& mark, const Mark& fallback) const;
  Mark mark(const YAML::Mark& mark) const;

  // Records `FILE:LINE:COL: message` (or `FILE: message` when `at` has no line).
  void error(const Mark& at, const std::string& message);
  bool hasErrors() const { return !errors_.empty(); }
  std::size_t errorCount() const { return errors_.size(); }
  // Sorted by position (then in the order recorded), duplicates removed.
  std::vector<std::string> errors() const;

  // Remembers a secret value so logs can redact it (empty values are ignored).
  void addSecret(const std::string& value);
  const std::vector<std::string>& secrets() const { return secrets_; }

 private:
  struct Entry {
    int line;
    int column;
    std::string text;
  };
  std::string file_;
  EnvLookup env_;
  std::vector<Entry> errors_;
  std::vector<std::string> secrets_;
};

// A value read from `key` or from the file named by `key_file`.
struct Secret {
  std::string value;  // empty when neither key was given (or on error)
  std::string file;   // the path when it came from `key_file`, else empty
};

// One string of a list, with where it was written.
struct ListItem {
  std::string value;
  std::string path;  // e.g. "routes[0].to[1]"
  Mark mark;
};

// One key of a mapping whose keys are names chosen by the user (sources, sinks, passthrough maps).
struct MapEntry {
  std::string key;
  Mark key_mark;
  YAML::Node value;
};

// A view of one YAML mapping at a dotted `path` (e.g. "sinks.splunk"). Getters return the
// fallback when the key is absent or null, and record an error (returning the fallback) when the
// value is malformed. Every key asked about is "known"; finish() reports the others as unknown.
// Copies share state: a ConfigMap is a handle.
class ConfigMap {
 public:
  // `node` must be a map or null (null reads as an empty map); anything else is reported.
  // `mark` is where errors about the map as a whole point (usually its key).
  ConfigMap(ConfigContext& context, const YAML::Node& node, std::string path, Mark mark);

  const std::string& path() const { return state_->path; }
  const Mark& mark() const { return state_->mark; }
  ConfigContext& context() const { return *context_; }

  // True when `key` is present with a non-null value.
  bool has(const std::string& key);

  std::string string(const std::string& key, const std::string& fallback = {});
  // Missing, null or empty is an error.
  std::string requiredString(const std::string& key);
  // true|false (any case).
  bool boolean(const std::string& key, bool fallback);
  std::uint64_t unsignedInt64(const std::string& key, std::uint64_t fallback, std::uint64_t min,
                              std::uint64_t max);
  template <typename T>
  T unsignedInt(const std::string& key, T fallback, std::type_identity_t<T> min,
                std::type_identity_t<T> max) {
    static_assert(std::is_unsigned_v<T>);
    return static_cast<T>(unsignedInt64(key, fallback, min, max));
  }
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max);
  // A finite decimal number in [min, max] (or (min, max] with min_exclusive).
  double number(const std::string& key, double fallback, double min, double max,
                bool min_exclusive = false);
  // One of `allowed`; the error lists them.
  std::string choice(const std::string& key, const std::string& fallback,
                     const std::vector<std::string>& allowed);
  template <typename E>
  requires std::is_enum_v<E> E choice(const std::string& key, E fallback,
                                      const std::vector<std::pair<std::string, E>>& allowed) {
    std::vector<std::string> names;
    std::string fallback_name;
    for (const auto& [name, value] : allowed) {
      names.push_back(name);
      if (value == fallback && fallback_name.empty()) fallback_name = name;
    }
    const std::string got = choice(key, fallback_name, names);
    for (const auto& [name, value] : allowed)
      if (name == got) return value;
    return fallback;
  }

  // A list of non-empty strings; a single string counts as a one-item list. Absent or null: empty.
  std::vector<std::string> stringList(const std::string& key);
  std::vector<ListItem> stringItems(const std::string& key);
  // A map of scalar values (e.g. a library's passthrough properties), in file order.
  std::vector<std::pair<std::string, std::string>> stringMap(const std::string& key);

  // The nested map at `key` (empty when absent). Asking twice returns the same map. finish()
  // finishes it too.
  ConfigMap map(const std::string& key);
  // The maps of a list, each with path "key[i]" and the mark of its item; items that are not maps
  // are reported and left out.
  std::vector<ConfigMap> mapList(const std::string& key);
  // Every key of this map with its value, in file order (duplicates included); makes every key
  // known. For maps whose keys are user-chosen names.
  std::vector<MapEntry> entries();
  // A map for the value of one of entries(), with path "<path>.<key>".
  ConfigMap entryMap(const MapEntry& entry);

  // Reads `key` (interpolated) or the file named by `key_file` (content with trailing CR/LF
  // removed). Both given is an error; neither is an error when `required`. The value is added to
  // the context's secrets. Errors never contain the value.
  Secret secret(const std::string& key, bool required);

  // Reads the TLS map at `key`: verify, ca_file, cert_file, key_file, server_name.
  TlsConfig tls(const std::string& key = "tls");

  // Where `key`'s value is (its key when the value is null), or the map's mark when absent.
  Mark markOf(const std::string& key) const;
  // Records "<path>.<key>: message" at markOf(key).
  void error(const std::string& key, const std::string& message);
  // Records "<path>: message" at mark().
  void error(const std::string& message);

  // Reports every key nobody asked about as `unknown key "x" (did you mean "y"?)`, here and in
  // every nested map obtained from this one. Idempotent.
  void finish();

 private:
  struct State {
    YAML::Node node;
    std::string path;
    Mark mark;
    std::vector<std::string> known;
    std::map<std::string, std::shared_ptr<State>> children;
    std::vector<std::shared_ptr<State>> list_children;
    bool finished = false;
  };
  struct Found {
    YAML::Node key;
    YAML::Node value;
  };
  // What a scalar read produced: absent (or null), malformed (already reported), or a value.
  struct Scalar {
    enum class Kind : std::uint8_t { kAbsent, kInvalid, kValue } kind = Kind::kAbsent;
    std::string text;
    Mark mark;
  };

  ConfigMap(ConfigContext& context, std::shared_ptr<State> state);
  void know(const std::string& key);
  std::optional<Found> find(const std::string& key) const;
  std::string keyPath(const std::string& key) const;
  Scalar scalar(const std::string& key, std::string_view expected);
  Scalar convert(const YAML::Node& node, const Mark& mark, const std::string& where,
                 std::string_view expected);
  static void finishState(ConfigContext& context, State& state);

  ConfigContext* context_;
  std::shared_ptr<State> state_;
};

// The closest candidate to `word` when it is close enough to be a likely typo.
std::optional<std::string> closestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);
// ` (did you mean "x"?)` or "".
std::string didYouMean(std::string_view word, const std::vector<std::string>& candidates);

// Reads a whole text file of at most `max_bytes`; the error names the path and the reason.
Result<std::string> readTextFile(const std::string& path, std::size_t max_bytes);
// Reads a secret file (at most 64 KiB) and removes trailing CR/LF; an empty result is an error.
// Sources call it again at runtime to follow a rotated secret.
Result<std::string> readSecretFile(const std::string& path);

}  // namespace siem
