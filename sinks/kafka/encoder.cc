#include "sinks/kafka/encoder.h"

#include <charconv>
#include <utility>

namespace siem {
namespace {

constexpr std::size_t kMaxTopicLength = 249;

struct FieldName {
  std::string_view name;
  TemplateField field;
};

constexpr FieldName kFields[] = {
    {"id", TemplateField::kId},
    {"type", TemplateField::kType},
    {"family", TemplateField::kFamily},
    {"verb", TemplateField::kVerb},
    {"outcome", TemplateField::kOutcome},
    {"actor_type", TemplateField::kActorType},
    {"project_id", TemplateField::kProjectId},
    {"source_id", TemplateField::kSourceId},
    {"source_type", TemplateField::kSourceType},
    {"organization_id", TemplateField::kOrganizationId},
    {"encoding", TemplateField::kEncoding},
    {"class_uid", TemplateField::kClassUid},
};

std::string_view familyOf(std::string_view type) {
  const auto dot = type.rfind('.');
  return dot == std::string_view::npos ? type : type.substr(0, dot);
}

std::string_view verbOf(std::string_view type) {
  const auto dot = type.rfind('.');
  return dot == std::string_view::npos ? type : type.substr(dot + 1);
}

bool isTopicChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void skipSpace(std::string_view s, std::size_t& i) {
  while (i < s.size() && isSpace(s[i])) ++i;
}

// Moves `i` past the string starting at s[i] == '"'. False when it is not terminated.
bool skipString(std::string_view s, std::size_t& i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      ++i;
      return true;
    }
  }
  return false;
}

// Moves `i` past one JSON value (object, array, string or scalar).
bool skipValue(std::string_view s, std::size_t& i) {
  if (i >= s.size()) return false;
  if (s[i] == '"') return skipString(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      const char c = s[i];
      if (c == '"') {
        if (!skipString(s, i)) return false;
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) {
          ++i;
          return true;
        }
      }
      ++i;
    }
    return false;
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !isSpace(s[i])) ++i;
  return true;
}

void appendField(const Event& event, Encoding encoding, TemplateField field, std::string& out) {
  switch (field) {
    case TemplateField::kId:
      out += event.id;
      return;
    case TemplateField::kType:
      out += event.type;
      return;
    case TemplateField::kFamily:
      out += familyOf(event.type);
      return;
    case TemplateField::kVerb:
      out += verbOf(event.type);
      return;
    case TemplateField::kOutcome:
      out += toString(event.outcome);
      return;
    case TemplateField::kActorType:
      out += event.actor_type;
      return;
    case TemplateField::kProjectId:
      out += event.project_id;
      return;
    case TemplateField::kSourceId:
      if (event.source != nullptr) out += event.source->id;
      return;
    case TemplateField::kSourceType:
      if (event.source != nullptr) out += event.source->type;
      return;
    case TemplateField::kOrganizationId:
      if (event.source != nullptr) out += event.source->organization_id;
      return;
    case TemplateField::kEncoding:
      out += toString(encoding);
      return;
    case TemplateField::kClassUid:
      if (auto uid = topLevelClassUid(event.encoded(Encoding::kOcsf))) out += std::to_string(*uid);
      return;
  }
}

}  // namespace

const std::vector<std::string>& templateFieldNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const auto& f : kFields) out.emplace_back(f.name);
    return out;
  }();
  return names;
}

Result<FieldTemplate> FieldTemplate::parse(std::string_view text) {
  FieldTemplate t;
  std::string literal;
  auto flush = [&] {
    if (literal.empty()) return;
    t.parts_.push_back(Part{false, TemplateField::kId, std::move(literal)});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal += '}';
        ++i;
        continue;
      }
      return fail("unmatched \"}\" at position " + std::to_string(i) +
                  " (write \"}}\" for a brace)");
    }
    if (c != '{') {
      literal += c;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal += '{';
      ++i;
      continue;
    }
    const auto close = text.find('}', i);
    if (close == std::string_view::npos)
      return fail("unterminated \"{\" at position " + std::to_string(i));
    std::string_view inner = text.substr(i + 1, close - i - 1);
    Part part{true, TemplateField::kId, {}};
    if (const auto sep = inner.find(":-"); sep != std::string_view::npos) {
      part.text = std::string(inner.substr(sep + 2));
      inner = inner.substr(0, sep);
      if (part.text.find('{') != std::string::npos)
        return fail("a fallback cannot contain \"{\" (at position " + std::to_string(i) + ")");
    }
    bool found = false;
    for (const auto& f : kFields) {
      if (f.name == inner) {
        part.field = f.field;
        found = true;
      }
    }
    if (!found) {
      std::string known;
      for (const auto& f : kFields) known += (known.empty() ? "" : ", ") + std::string(f.name);
      return fail("unknown field \"" + std::string(inner) + "\" at position " + std::to_string(i) +
                  " (fields: " + known + ")");
    }
    flush();
    t.parts_.push_back(std::move(part));
    i = close;
  }
  flush();
  if (t.isConstant())
    for (const Part& p : t.parts_) t.constant_ += p.text;
  return t;
}

void FieldTemplate::render(const Event& event, Encoding encoding, std::string& out) const {
  for (const Part& part : parts_) {
    if (!part.is_field) {
      out += part.text;
      continue;
    }
    const std::size_t before = out.size();
    appendField(event, encoding, part.field, out);
    if (out.size() == before) out += part.text;
  }
}

bool FieldTemplate::usesField(TemplateField field) const {
  for (const Part& p : parts_)
    if (p.is_field && p.field == field) return true;
  return false;
}

bool FieldTemplate::isConstant() const {
  for (const Part& p : parts_)
    if (p.is_field) return false;
  return true;
}

const std::string& FieldTemplate::constantText() const { return constant_; }

std::optional<std::int64_t> topLevelClassUid(std::string_view s) {
  std::size_t i = 0;
  skipSpace(s, i);
  if (i >= s.size() || s[i] != '{') return std::nullopt;
  ++i;
  while (true) {
    skipSpace(s, i);
    if (i >= s.size() || s[i] != '"') return std::nullopt;
    const std::size_t key_start = i + 1;
    if (!skipString(s, i)) return std::nullopt;
    const std::string_view key = s.substr(key_start, i - 1 - key_start);
    skipSpace(s, i);
    if (i >= s.size() || s[i] != ':') return std::nullopt;
    ++i;
    skipSpace(s, i);
    if (key == "class_uid") {
      std::int64_t value = 0;
      const char* begin = s.data() + i;
      const char* end = s.data() + s.size();
      auto [ptr, ec] = std::from_chars(begin, end, value);
      if (ec != std::errc() || ptr == begin) return std::nullopt;
      return value;
    }
    if (!skipValue(s, i)) return std::nullopt;
    skipSpace(s, i);
    if (i >= s.size() || s[i] != ',') return std::nullopt;
    ++i;
  }
}

bool isValidTopicName(std::string_view name) {
  if (name.empty() || name.size() > kMaxTopicLength || name == "." || name == "..") return false;
  for (char c : name)
    if (!isTopicChar(c)) return false;
  return true;
}

void sanitizeTopicName(std::string& name) {
  if (name.size() > kMaxTopicLength) name.resize(kMaxTopicLength);
  for (char& c : name)
    if (!isTopicChar(c)) c = '_';
}

KafkaRecordEncoder::KafkaRecordEncoder(FieldTemplate topic, std::optional<FieldTemplate> key,
                                       bool headers, Encoding encoding)
    : topic_(std::move(topic)), key_(std::move(key)), headers_(headers), encoding_(encoding) {
  if (topic_.isConstant()) {
    constant_topic_ = topic_.constantText();
    sanitizeTopicName(constant_topic_);
  }
}

void KafkaRecordEncoder::encode(const Event& event, KafkaRecord& out) const {
  if (topic_.isConstant()) {
    out.topic = constant_topic_;
  } else {
    out.topic.clear();
    topic_.render(event, encoding_, out.topic);
    sanitizeTopicName(out.topic);
  }
  encodeBody(event, out);
}

void KafkaRecordEncoder::encodeBody(const Event& event, KafkaRecord& out) const {
  out.key.clear();
  out.has_key = key_.has_value();
  if (key_) key_->render(event, encoding_, out.key);
  out.value = event.encoded(encoding_);
  out.headers.clear();
  if (headers_) {
    out.headers.push_back({kHeaderEventType, event.type});
    if (event.source != nullptr) out.headers.push_back({kHeaderSourceId, event.source->id});
    out.headers.push_back({kHeaderEncoding, toString(encoding_)});
  }
}

}  // namespace siem
