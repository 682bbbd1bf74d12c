#include "agent/config/reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <sys/stat.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include "agent/core/unique_fd.h"

namespace siem {
namespace {

constexpr std::size_t kMaxSecretFileBytes = std::size_t{64} << 10;

std::string quote(std::string_view text) {
  std::string out = "\"";
  out.append(text);
  out += '"';
  return out;
}

std::string nodeKindName(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a single value";
    default:
      return "nothing";
  }
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Optimal string alignment distance: insertions, deletions, substitutions and transpositions of
// adjacent characters each cost 1 (so "api_kye" is one edit from "api_key").
std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::string errnoText() { return std::error_code(errno, std::generic_category()).message(); }

// "<path>: " or "" for the top level.
std::string prefix(const std::string& path) { return path.empty() ? std::string() : path + ": "; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// ConfigContext

ConfigContext::ConfigContext(std::string file, EnvLookup env)
    : file_(std::move(file)), env_(std::move(env)) {}

Mark ConfigContext::mark(const YAML::Mark& mark, const Mark& fallback) const {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return fallback;
  return Mark{file_, mark.line + 1, mark.column + 1};
}

Mark ConfigContext::mark(const YAML::Mark& mark) const { return this->mark(mark, Mark{file_}); }

void ConfigContext::error(const Mark& at, const std::string& message) {
  std::string text = at.file.empty() ? file_ : at.file;
  if (at.line > 0) {
    text += ':' + std::to_string(at.line) + ':' + std::to_string(at.column);
  }
  text += ": ";
  text += message;
  errors_.push_back(Entry{at.line, at.column, std::move(text)});
}

std::vector<std::string> ConfigContext::errors() const {
  std::vector<Entry> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Entry& a, const Entry& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  std::vector<std::string> out;
  for (auto& e : sorted)
    if (std::find(out.begin(), out.end(), e.text) == out.end()) out.push_back(std::move(e.text));
  return out;
}

void ConfigContext::addSecret(const std::string& value) {
  if (value.empty()) return;
  if (std::find(secrets_.begin(), secrets_.end(), value) == secrets_.end())
    secrets_.push_back(value);
}

// ---------------------------------------------------------------------------------------------
// ConfigMap

ConfigMap::ConfigMap(ConfigContext& context, const YAML::Node& node, std::string path, Mark mark)
    : context_(&context), state_(std::make_shared<State>()) {
  state_->path = std::move(path);
  state_->mark = std::move(mark);
  if (node.IsMap()) {
    state_->node = node;
  } else if (node.IsDefined() && !node.IsNull()) {
    context.error(state_->mark, state_->path + ": expected a map, got " + nodeKindName(node));
  }
}

ConfigMap::ConfigMap(ConfigContext& context, std::shared_ptr<State> state)
    : context_(&context), state_(std::move(state)) {}

void ConfigMap::know(const std::string& key) {
  auto& known = state_->known;
  if (std::find(known.begin(), known.end(), key) == known.end()) known.push_back(key);
}

std::optional<ConfigMap::Found> ConfigMap::find(const std::string& key) const {
  if (!state_->node.IsMap()) return std::nullopt;
  for (const auto& kv : state_->node) {
    if (kv.first.IsScalar() && kv.first.Scalar() == key) return Found{kv.first, kv.second};
  }
  return std::nullopt;
}

std::string ConfigMap::keyPath(const std::string& key) const {
  return state_->path.empty() ? key : state_->path + "." + key;
}

bool ConfigMap::has(const std::string& key) {
  know(key);
  const auto found = find(key);
  return found && !found->value.IsNull();
}

Mark ConfigMap::markOf(const std::string& key) const {
  const auto found = find(key);
  if (!found) return state_->mark;
  Mark key_mark = context_->mark(found->key.Mark(), state_->mark);
  if (found->value.IsNull()) return key_mark;
  return context_->mark(found->value.Mark(), key_mark);
}

void ConfigMap::error(const std::string& key, const std::string& message) {
  context_->error(markOf(key), keyPath(key) + ": " + message);
}

void ConfigMap::error(const std::string& message) {
  context_->error(state_->mark, prefix(state_->path) + message);
}

ConfigMap::Scalar ConfigMap::convert(const YAML::Node& node, const Mark& mark,
                                     const std::string& where, std::string_view expected) {
  Scalar out;
  out.mark = mark;
  if (!node.IsDefined() || node.IsNull()) return out;
  if (!node.IsScalar()) {
    context_->error(mark,
                    where + ": expected " + std::string(expected) + ", got " + nodeKindName(node));
    out.kind = Scalar::Kind::kInvalid;
    return out;
  }
  auto value = interpolate(node.Scalar(), context_->env());
  if (!value) {
    context_->error(mark, where + ": " + value.error().message);
    out.kind = Scalar::Kind::kInvalid;
    return out;
  }
  out.kind = Scalar::Kind::kValue;
  out.text = std::move(*value);
  return out;
}

ConfigMap::Scalar ConfigMap::scalar(const std::string& key, std::string_view expected) {
  know(key);
  const auto found = find(key);
  if (!found) return Scalar{};
  return convert(found->value, markOf(key), keyPath(key), expected);
}

std::string ConfigMap::string(const std::string& key, const std::string& fallback) {
  const Scalar s = scalar(key, "a string");
  return s.kind == Scalar::Kind::kValue ? s.text : fallback;
}

std::string ConfigMap::requiredString(const std::string& key) {
  const Scalar s = scalar(key, "a string");
  if (s.kind == Scalar::Kind::kAbsent) {
    if (find(key)) {
      error(key, "must not be empty");
    } else {
      error("missing required key " + quote(key));
    }
    return {};
  }
  if (s.kind == Scalar::Kind::kValue && s.text.empty()) error(key, "must not be empty");
  return s.text;
}

bool ConfigMap::boolean(const std::string& key, bool fallback) {
  const Scalar s = scalar(key, "true or false");
  if (s.kind != Scalar::Kind::kValue) return fallback;
  const std::string v = lowercase(s.text);
  if (v == "true") return true;
  if (v == "false") return false;
  context_->error(s.mark, keyPath(key) + ": expected true or false, got " + quote(s.text));
  return fallback;
}

std::uint64_t ConfigMap::unsignedInt64(const std::string& key, std::uint64_t fallback,
                                       std::uint64_t min, std::uint64_t max) {
  const Scalar s = scalar(key, "an integer");
  if (s.kind != Scalar::Kind::kValue) return fallback;
  const std::string range = max == std::numeric_limits<std::uint64_t>::max()
                                ? "at least " + std::to_string(min)
                                : "between " + std::to_string(min) + " and " + std::to_string(max);
  std::string_view text = s.text;
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  const bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || end != text.data() + text.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    context_->error(s.mark, keyPath(key) + ": expected an integer, got " + quote(s.text));
    return fallback;
  }
  if (ec == std::errc::result_out_of_range || (negative && value != 0) || value < min ||
      value > max) {
    context_->error(s.mark, keyPath(key) + ": must be " + range + " (got " + s.text + ")");
    return fallback;
  }
  return value;
}

std::int64_t ConfigMap::integer(const std::string& key, std::int64_t fallback, std::int64_t min,
                                std::int64_t max) {
  const Scalar s = scalar(key, "an integer");
  if (s.kind != Scalar::Kind::kValue) return fallback;
  std::string_view text = s.text;
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || end != text.data() + text.size() ||
      (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    context_->error(s.mark, keyPath(key) + ": expected an integer, got " + quote(s.text));
    return fallback;
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    context_->error(s.mark, keyPath(key) + ": must be between " + std::to_string(min) + " and " +
                                std::to_string(max) + " (got " + s.text + ")");
    return fallback;
  }
  return value;
}

double ConfigMap::number(const std::string& key, double fallback, double min, double max,
                         bool min_exclusive) {
  const Scalar s = scalar(key, "a number");
  if (s.kind != Scalar::Kind::kValue) return fallback;
  std::string_view text = s.text;
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    context_->error(s.mark, keyPath(key) + ": expected a number, got " + quote(s.text));
    return fallback;
  }
  const bool below = min_exclusive ? value <= min : value < min;
  if (below || value > max) {
    auto format = [](double d) {
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof(buf), d);
      return std::string(buf, r.ptr);
    };
    context_->error(s.mark, keyPath(key) + ": must be " +
                                (min_exclusive ? "greater than " + format(min) + " and at most "
                                               : "between " + format(min) + " and ") +
                                format(max) + " (got " + s.text + ")");
    return fallback;
  }
  return value;
}

std::string ConfigMap::choice(const std::string& key, const std::string& fallback,
                              const std::vector<std::string>& allowed) {
  const Scalar s = scalar(key, "one of " + joined(allowed));
  if (s.kind != Scalar::Kind::kValue) return fallback;
  if (std::find(allowed.begin(), allowed.end(), s.text) != allowed.end()) return s.text;
  context_->error(s.mark, keyPath(key) + ": must be one of " + joined(allowed) + " (got " +
                              quote(s.text) + ")" + didYouMean(s.text, allowed));
  return fallback;
}

std::vector<ListItem> ConfigMap::stringItems(const std::string& key) {
  know(key);
  std::vector<ListItem> out;
  const auto found = find(key);
  if (!found || found->value.IsNull()) return out;
  const Mark mark = markOf(key);
  if (found->value.IsScalar()) {
    const Scalar s = convert(found->value, mark, keyPath(key), "a string");
    if (s.kind != Scalar::Kind::kValue) return out;
    if (s.text.empty()) {
      context_->error(mark, keyPath(key) + ": must not be empty");
      return out;
    }
    out.push_back(ListItem{s.text, keyPath(key), mark});
    return out;
  }
  if (!found->value.IsSequence()) {
    context_->error(
        mark, keyPath(key) + ": expected a list of strings, got " + nodeKindName(found->value));
    return out;
  }
  std::size_t index = 0;
  for (const auto& item : found->value) {
    const std::string where = keyPath(key) + "[" + std::to_string(index++) + "]";
    // yaml-cpp marks an empty item at the token after it, so point at the list instead.
    const Mark item_mark = item.IsNull() ? mark : context_->mark(item.Mark(), mark);
    if (item.IsNull()) {
      context_->error(item_mark, where + ": must not be empty");
      continue;
    }
    const Scalar s = convert(item, item_mark, where, "a string");
    if (s.kind != Scalar::Kind::kValue) continue;
    if (s.text.empty()) {
      context_->error(item_mark, where + ": must not be empty");
      continue;
    }
    out.push_back(ListItem{s.text, where, item_mark});
  }
  return out;
}

std::vector<std::string> ConfigMap::stringList(const std::string& key) {
  std::vector<std::string> out;
  for (auto& item : stringItems(key)) out.push_back(std::move(item.value));
  return out;
}

std::vector<std::pair<std::string, std::string>> ConfigMap::stringMap(const std::string& key) {
  std::vector<std::pair<std::string, std::string>> out;
  ConfigMap m = map(key);
  for (const MapEntry& entry : m.entries()) {
    const std::string where = m.keyPath(entry.key);
    const Mark mark =
        entry.value.IsNull() ? entry.key_mark : context_->mark(entry.value.Mark(), entry.key_mark);
    const Scalar s = convert(entry.value, mark, where, "a single value");
    if (s.kind == Scalar::Kind::kValue) out.emplace_back(entry.key, s.text);
    if (s.kind == Scalar::Kind::kAbsent) context_->error(mark, where + ": must have a value");
  }
  return out;
}

ConfigMap ConfigMap::map(const std::string& key) {
  know(key);
  auto it = state_->children.find(key);
  if (it != state_->children.end()) return ConfigMap(*context_, it->second);
  const auto found = find(key);
  const Mark mark = found ? context_->mark(found->key.Mark(), state_->mark) : state_->mark;
  ConfigMap child(*context_, found ? found->value : YAML::Node(), keyPath(key), mark);
  state_->children.emplace(key, child.state_);
  return child;
}

std::vector<ConfigMap> ConfigMap::mapList(const std::string& key) {
  know(key);
  std::vector<ConfigMap> out;
  const auto found = find(key);
  if (!found || found->value.IsNull()) return out;
  const Mark mark = markOf(key);
  if (!found->value.IsSequence()) {
    context_->error(mark,
                    keyPath(key) + ": expected a list of maps, got " + nodeKindName(found->value));
    return out;
  }
  std::size_t index = 0;
  for (const auto& item : found->value) {
    const std::string where = keyPath(key) + "[" + std::to_string(index++) + "]";
    const Mark item_mark = item.IsNull() ? mark : context_->mark(item.Mark(), mark);
    if (!item.IsMap()) {
      context_->error(item_mark, where + ": expected a map, got " + nodeKindName(item));
      continue;
    }
    ConfigMap child(*context_, item, where, item_mark);
    state_->list_children.push_back(child.state_);
    out.push_back(std::move(child));
  }
  return out;
}

std::vector<MapEntry> ConfigMap::entries() {
  std::vector<MapEntry> out;
  if (!state_->node.IsMap()) return out;
  for (const auto& kv : state_->node) {
    if (!kv.first.IsScalar()) continue;  // reported by the loader's structural check
    know(kv.first.Scalar());
    out.push_back(
        MapEntry{kv.first.Scalar(), context_->mark(kv.first.Mark(), state_->mark), kv.second});
  }
  return out;
}

ConfigMap ConfigMap::entryMap(const MapEntry& entry) {
  ConfigMap child(*context_, entry.value, keyPath(entry.key), entry.key_mark);
  state_->list_children.push_back(child.state_);
  return child;
}

Secret ConfigMap::secret(const std::string& key, bool required) {
  const std::string file_key = key + "_file";
  Secret out;
  const bool has_value = has(key);
  const bool has_file = has(file_key);
  if (has_value && has_file) {
    error(file_key, "give either " + key + " or " + file_key + ", not both");
    return out;
  }
  if (!has_value && !has_file) {
    if (required) error(key + " or " + file_key + " is required");
    return out;
  }
  if (has_value) {
    // Not via string(): a type error must not echo the value.
    const auto found = find(key);
    const Mark mark = markOf(key);
    if (!found->value.IsScalar()) {
      context_->error(mark,
                      keyPath(key) + ": expected a string, got " + nodeKindName(found->value));
      return out;
    }
    auto value = interpolate(found->value.Scalar(), context_->env());
    if (!value) {
      context_->error(mark, keyPath(key) + ": " + value.error().message);
      return out;
    }
    if (value->empty()) {
      context_->error(mark, keyPath(key) + ": must not be empty");
      return out;
    }
    out.value = std::move(*value);
    context_->addSecret(out.value);
    return out;
  }
  const std::string path = string(file_key);
  if (path.empty()) {
    error(file_key, "must not be empty");
    return out;
  }
  auto content = readSecretFile(path);
  if (!content) {
    error(file_key, content.error().message);
    return out;
  }
  out.value = std::move(*content);
  out.file = path;
  context_->addSecret(out.value);
  return out;
}

TlsConfig ConfigMap::tls(const std::string& key) {
  TlsConfig out;
  ConfigMap m = map(key);
  out.verify = m.boolean("verify", out.verify);
  out.ca_file = m.string("ca_file");
  out.cert_file = m.string("cert_file");
  out.key_file = m.string("key_file");
  out.server_name = m.string("server_name");
  if (out.cert_file.empty() != out.key_file.empty()) {
    m.error(out.cert_file.empty() ? "key_file" : "cert_file",
            "cert_file and key_file must be given together");
  }
  return out;
}

void ConfigMap::finishState(ConfigContext& context, State& state) {
  if (state.finished) return;
  state.finished = true;
  if (state.node.IsMap()) {
    for (const auto& kv : state.node) {
      const Mark key_mark = context.mark(kv.first.Mark(), state.mark);
      if (!kv.first.IsScalar()) continue;  // reported by the loader's structural check
      const std::string& key = kv.first.Scalar();
      if (std::find(state.known.begin(), state.known.end(), key) != state.known.end()) continue;
      context.error(key_mark, prefix(state.path) + "unknown key " + quote(key) +
                                  didYouMean(key, state.known));
    }
  }
  for (auto& [key, child] : state.children) finishState(context, *child);
  for (auto& child : state.list_children) finishState(context, *child);
}

void ConfigMap::finish() { finishState(*context_, *state_); }

// ---------------------------------------------------------------------------------------------
// Helpers

std::optional<std::string> closestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  const std::string lower = lowercase(word);
  std::optional<std::string> best;
  std::size_t best_distance = std::numeric_limits<std::size_t>::max();
  for (const auto& candidate : candidates) {
    const std::size_t d = editDistance(lower, lowercase(candidate));
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  if (!best) return std::nullopt;
  // Close enough to be a typo: one edit for short words, up to a third of the length for longer.
  const std::size_t limit = std::max<std::size_t>(1, std::min(word.size(), best->size()) / 3);
  if (best_distance > limit) return std::nullopt;
  return best;
}

std::string didYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  const auto match = closestMatch(word, candidates);
  return match ? " (did you mean " + quote(*match) + "?)" : std::string();
}

Result<std::string> readTextFile(const std::string& path, std::size_t max_bytes) {
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return fail("cannot read " + quote(path) + ": " + errnoText());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail("cannot read " + quote(path) + ": " + errnoText());
  if (S_ISDIR(st.st_mode)) return fail("cannot read " + quote(path) + ": it is a directory");
  std::string out;
  char buf[8192];
  while (true) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot read " + quote(path) + ": " + errnoText());
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes)
      return fail("cannot read " + quote(path) + ": larger than " + std::to_string(max_bytes) +
                  " bytes");
  }
  return out;
}

Result<std::string> readSecretFile(const std::string& path) {
  auto content = readTextFile(path, kMaxSecretFileBytes);
  if (!content) return content;
  while (!content->empty() && (content->back() == '\n' || content->back() == '\r'))
    content->pop_back();
  if (content->empty()) return fail("file " + quote(path) + " is empty");
  return content;
}

}  // namespace siem
