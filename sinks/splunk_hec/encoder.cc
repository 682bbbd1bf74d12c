#include "sinks/splunk_hec/encoder.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "agent/core/json_escape.h"
#include "agent/schema/audit_log.h"
#include "agent/schema/ocsf_encoder.h"

namespace siem {
namespace {

constexpr std::array<std::string_view, 10> kVariables = {
    "type",       "family",     "verb",           "outcome",    "source_id", "organization_id",
    "project_id", "actor_type", "ocsf_class_uid", "ocsf_class",
};

// The OCSF class the schema encoder assigns to the event (parses the original once).
OcsfClass ocsfClassOf(const Event& event) {
  const AuditLog log(event);
  return classify(log).cls;
}

void appendSnakeCase(std::string& out, std::string_view caption) {
  for (const char c : caption) {
    out.push_back(c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
}

std::string_view familyOfType(std::string_view type) {
  const auto dot = type.rfind('.');
  return dot == std::string_view::npos ? type : type.substr(0, dot);
}

std::string_view verbOfType(std::string_view type) {
  const auto dot = type.rfind('.');
  return dot == std::string_view::npos ? type : type.substr(dot + 1);
}

// Appends `value` in decimal, zero-padded to at least `width` digits.
void appendDigits(std::string& out, std::uint64_t value, int width) {
  char buffer[24];
  char* end = buffer + sizeof buffer;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0 || end - p < width);
  out.append(p, end);
}

// True when appendJsonString would copy `text` as it is (printable ASCII without `"` or `\`).
bool plainJsonText(std::string_view text) {
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') return false;
  }
  return true;
}

// Appends `value` rendered for `event` as a JSON string, exactly as appendJsonString of the
// rendered text would, but rendering in place (no temporary) in the common case of plain text.
// Returns false, appending nothing, when the template renders empty.
bool appendTemplateString(std::string& out, const HecTemplate& value, const Event& event) {
  const std::size_t mark = out.size();
  out.push_back('"');
  value.appendTo(out, event);
  const std::size_t text_at = mark + 1;
  if (out.size() == text_at) {
    out.resize(mark);
    return false;
  }
  if (plainJsonText(std::string_view(out).substr(text_at))) {
    out.push_back('"');
    return true;
  }
  const std::string text = out.substr(text_at);
  out.resize(mark);
  appendJsonString(out, text);
  return true;
}

void appendMetadata(std::string& out, std::string_view key, const HecTemplate& value,
                    const Event& event) {
  if (value.empty()) return;
  const std::size_t mark = out.size();
  out += ",\"";
  out += key;
  out += "\":";
  if (!appendTemplateString(out, value, event)) out.resize(mark);
}

}  // namespace

Result<HecTemplate> HecTemplate::parse(std::string_view text) {
  HecTemplate t;
  std::string literal;
  auto flush = [&] {
    if (!literal.empty()) t.parts_.push_back(Part{Var::kLiteral, std::move(literal)});
    literal.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        literal.push_back('}');
        ++i;
        continue;
      }
      return fail("unbalanced '}' at offset " + std::to_string(i) + " (write '}}' for a brace)");
    }
    if (c != '{') {
      literal.push_back(c);
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      ++i;
      continue;
    }
    const auto close = text.find('}', i);
    if (close == std::string_view::npos) {
      return fail("unclosed '{' at offset " + std::to_string(i) + " (write '{{' for a brace)");
    }
    const std::string_view name = text.substr(i + 1, close - i - 1);
    const auto known = std::find(kVariables.begin(), kVariables.end(), name);
    if (known == kVariables.end()) {
      std::string names;
      for (const auto v : kVariables) names += (names.empty() ? "" : ", ") + std::string(v);
      return fail("unknown placeholder {" + std::string(name) + "}; known: " + names);
    }
    flush();
    t.parts_.push_back(
        Part{static_cast<Var>(1 + std::distance(kVariables.begin(), known)), std::string()});
    i = close;
  }
  flush();
  return t;
}

bool HecTemplate::constant() const {
  return std::all_of(parts_.begin(), parts_.end(),
                     [](const Part& p) { return p.var == Var::kLiteral; });
}

void HecTemplate::appendTo(std::string& out, const Event& event) const {
  for (const Part& p : parts_) {
    switch (p.var) {
      case Var::kLiteral:
        out += p.literal;
        break;
      case Var::kType:
        out += event.type;
        break;
      case Var::kFamily:
        out += familyOfType(event.type);
        break;
      case Var::kVerb:
        out += verbOfType(event.type);
        break;
      case Var::kOutcome:
        out += toString(event.outcome);
        break;
      case Var::kSourceId:
        if (event.source != nullptr) out += event.source->id;
        break;
      case Var::kOrganizationId:
        if (event.source != nullptr) out += event.source->organization_id;
        break;
      case Var::kProjectId:
        out += event.project_id;
        break;
      case Var::kActorType:
        out += event.actor_type;
        break;
      case Var::kOcsfClassUid:
        out += std::to_string(static_cast<int>(ocsfClassOf(event)));
        break;
      case Var::kOcsfClass:
        appendSnakeCase(out, ocsfClassName(ocsfClassOf(event)));
        break;
    }
  }
}

std::string HecTemplate::render(const Event& event) const {
  std::string out;
  appendTo(out, event);
  return out;
}

std::span<const std::string_view> hecTemplateVariables() { return kVariables; }

void appendHecTime(std::string& out, std::int64_t unix_micros, int decimals) {
  decimals = std::clamp(decimals, 3, 6);
  const bool negative = unix_micros < 0;
  // Magnitude without overflow for INT64_MIN.
  const std::uint64_t magnitude = negative ? 0 - static_cast<std::uint64_t>(unix_micros)
                                           : static_cast<std::uint64_t>(unix_micros);
  std::uint64_t fraction = magnitude % 1'000'000;
  for (int d = 6; d > decimals; --d) fraction /= 10;
  if (negative) out.push_back('-');
  appendDigits(out, magnitude / 1'000'000, 1);
  out.push_back('.');
  appendDigits(out, fraction, decimals);
}

bool appendHecEnvelope(std::string& out, const Event& event, const HecEnvelopeFormat& format) {
  const std::string& body = event.encoded(format.encoding);
  if (body.empty()) return false;
  out += "{\"time\":";
  appendHecTime(out, event.effective_at * 1'000'000, format.time_decimals);
  appendMetadata(out, "host", format.host, event);
  appendMetadata(out, "source", format.source, event);
  appendMetadata(out, "sourcetype", format.sourcetype, event);
  appendMetadata(out, "index", format.index, event);
  out += ",\"event\":";
  out += body;
  if (!format.fields.empty()) {
    const std::size_t mark = out.size();
    out += ",\"fields\":{";
    bool any = false;
    for (const auto& [name, value] : format.fields) {
      const std::size_t field_at = out.size();
      if (any) out.push_back(',');
      appendJsonString(out, name);
      out.push_back(':');
      if (!appendTemplateString(out, value, event)) {
        out.resize(field_at);
        continue;
      }
      any = true;
    }
    if (any) {
      out.push_back('}');
    } else {
      out.resize(mark);
    }
  }
  out.push_back('}');
  return true;
}

std::string_view defaultHecSourcetype(Encoding encoding) {
  switch (encoding) {
    case Encoding::kOcsf:
      return "ocsf:openai:audit";
    case Encoding::kEcs:
      return "ecs:openai:audit";
    case Encoding::kRaw:
      return "openai:audit";
  }
  return "openai:audit";
}

}  // namespace siem
