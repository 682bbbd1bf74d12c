// Pure parts of the Kafka sink: the topic/key template language and the mapping of one event to
// one Kafka record (topic, key, headers, value). No I/O; unit-tested on its own.
//
// Template syntax (used by `topic` and `key`):
//   literal text, copied as is;
//   {field}            the event's field (list below); empty when the event has no value;
//   {field:-fallback}  the field, or `fallback` (literal text) when the field is empty;
//   {{ and }}          literal braces.
// Fields: id, type, family (type without its last ".verb": "api_key" for "api_key.created"),
// verb ("created"), outcome (success|failure|unknown), actor_type, project_id, source_id,
// source_type, organization_id, encoding (ocsf|ecs|raw), class_uid (the OCSF class number,
// e.g. 3002; only with `encoding: ocsf`).
// A rendered topic keeps only the characters Kafka allows ([A-Za-z0-9._-]; others become '_')
// and at most 249 of them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/api/event.h"
#include "agent/api/result.h"

namespace siem {

enum class TemplateField : std::uint8_t {
  kId,
  kType,
  kFamily,
  kVerb,
  kOutcome,
  kActorType,
  kProjectId,
  kSourceId,
  kSourceType,
  kOrganizationId,
  kEncoding,
  kClassUid,
};

// The names accepted inside braces, in documentation order.
const std::vector<std::string>& templateFieldNames();

class FieldTemplate {
 public:
  // Parses `text`; the error names the problem and the position (0-based byte offset).
  static Result<FieldTemplate> parse(std::string_view text);

  // Appends the rendering for `event` (whose rendered forms are those of `encoding`) to `out`.
  void render(const Event& event, Encoding encoding, std::string& out) const;

  bool usesField(TemplateField field) const;
  // True when the template has no field: every event renders the same text.
  bool isConstant() const;
  // The literal text of a constant template.
  const std::string& constantText() const;

 private:
  struct Part {
    bool is_field = false;
    TemplateField field = TemplateField::kId;
    std::string text;  // literal text, or the fallback of a field
  };
  std::vector<Part> parts_;
  std::string constant_;
};

// The numeric `class_uid` member of the top level of an OCSF JSON object, if present. Nested
// objects and strings are skipped correctly, so a payload field of that name cannot be mistaken.
std::optional<std::int64_t> topLevelClassUid(std::string_view json);

// Kafka's topic name rules: 1-249 of [A-Za-z0-9._-], and not "." or "..".
bool isValidTopicName(std::string_view name);
// Replaces every character Kafka does not allow by '_' and truncates to 249.
void sanitizeTopicName(std::string& name);

// Header names the sink attaches to every record (when `headers: true`).
inline constexpr std::string_view kHeaderEventType = "event_type";
inline constexpr std::string_view kHeaderSourceId = "source_id";
inline constexpr std::string_view kHeaderEncoding = "encoding";

// One event as a Kafka record. Views point into the event (value, header values) or into this
// record's own strings; valid while both live and until the next encode into this record.
struct KafkaRecord {
  std::string topic;
  std::string key;
  bool has_key = false;  // false: a null key (the partitioner spreads such records)
  std::string_view value;
  struct Header {
    std::string_view name;
    std::string_view value;
  };
  std::vector<Header> headers;
};

class KafkaRecordEncoder {
 public:
  // `key` empty means records have no key.
  KafkaRecordEncoder(FieldTemplate topic, std::optional<FieldTemplate> key, bool headers,
                     Encoding encoding);

  // Fills `out` (reusing its buffers) for `event`. The topic is sanitized; an empty topic (all
  // fields empty, no fallback) is left empty for the caller to reject.
  void encode(const Event& event, KafkaRecord& out) const;
  // encode() without the topic, which is left as it is: for a caller that uses constantTopic().
  void encodeBody(const Event& event, KafkaRecord& out) const;
  // The (sanitized) topic of every record when the topic template has no field; nullptr
  // otherwise. Lets a sender check and look up the topic once instead of once per record.
  const std::string* constantTopic() const {
    return topic_.isConstant() ? &constant_topic_ : nullptr;
  }

  Encoding encoding() const { return encoding_; }

 private:
  FieldTemplate topic_;
  std::string constant_topic_;  // topic_'s sanitized text when it is constant
  std::optional<FieldTemplate> key_;
  bool headers_;
  Encoding encoding_;
};

}  // namespace siem
