// Pure parts of the Splunk HEC sink: metadata templates and the JSON envelopes of the
// `/services/collector/event` endpoint. Golden-tested without I/O.
//
// An envelope is {"time":<epoch seconds, fixed decimals>,"host","source","sourcetype","index",
// "event":<the event in the sink's encoding>,"fields":{<indexed fields>}}; metadata that renders
// empty is left out so HEC applies the token's defaults. Envelopes are concatenated with no
// separator (HEC's batch format).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/api/event.h"
#include "agent/api/result.h"

namespace siem {

// A metadata value: literal text with `{name}` placeholders filled from each event. `{{` and `}}`
// are literal braces. Names: see hecTemplateVariables(). A placeholder whose value the event does
// not have renders empty.
class HecTemplate {
 public:
  HecTemplate() = default;
  // Fails on an unknown name or an unbalanced brace; the message names the problem.
  static Result<HecTemplate> parse(std::string_view text);

  bool empty() const { return parts_.empty(); }
  // True when the template has no placeholder (renders the same for every event).
  bool constant() const;
  void appendTo(std::string& out, const Event& event) const;
  std::string render(const Event& event) const;

 private:
  enum class Var : std::uint8_t {
    kLiteral,
    kType,
    kFamily,
    kVerb,
    kOutcome,
    kSourceId,
    kOrganizationId,
    kProjectId,
    kActorType,
    kOcsfClassUid,
    kOcsfClass,
  };
  struct Part {
    Var var = Var::kLiteral;
    std::string literal;
  };
  std::vector<Part> parts_;
};

// The placeholder names a template may use:
//   type             the OpenAI event type            login.failed
//   family           the type before its last dot     login
//   verb             the type after its last dot      failed
//   outcome          success | failure | unknown
//   source_id        the id of the source in the configuration
//   organization_id  the source's organization_id (may be empty)
//   project_id       the event's project id (may be empty)
//   actor_type       session | api_key | ... (may be empty)
//   ocsf_class_uid   the OCSF class the schema mapping assigns   3002
//   ocsf_class       the same as a snake_case name              authentication
//                    (these two parse the original event: use them only where needed)
std::span<const std::string_view> hecTemplateVariables();

struct HecEnvelopeFormat {
  Encoding encoding = Encoding::kOcsf;
  HecTemplate host;
  HecTemplate source;
  HecTemplate sourcetype;
  HecTemplate index;
  // Indexed fields (flat strings); a field that renders empty is left out.
  std::vector<std::pair<std::string, HecTemplate>> fields;
  int time_decimals = 3;  // 3..6
};

// Appends `unix_micros` as epoch seconds with exactly `decimals` (clamped to 3..6) fractional
// digits, truncating: 1700000000123456 with 3 -> 1700000000.123. Never an exponent.
void appendHecTime(std::string& out, std::int64_t unix_micros, int decimals);

// Appends the envelope of `event`. Returns false, appending nothing, when the event has no
// rendered form in the format's encoding (HEC would refuse a blank event with code 13).
bool appendHecEnvelope(std::string& out, const Event& event, const HecEnvelopeFormat& format);

// The sourcetype used when none is configured: "ocsf:openai:audit", "ecs:openai:audit" or
// "openai:audit" (raw).
std::string_view defaultHecSourcetype(Encoding encoding);

}  // namespace siem
