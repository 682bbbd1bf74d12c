// The pure parts of the HEC receiver: the reply codes and texts Splunk documents, and the parser
// that validates a `/services/collector/event` body the way HEC does (concatenated JSON objects,
// checked in order, stopping at the first bad one while keeping the ones before it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace siem::hec_fake {

// HEC reply codes ("Troubleshoot HTTP Event Collector -> Possible error codes").
enum HecCode : int {
  kSuccess = 0,
  kTokenDisabled = 1,
  kTokenRequired = 2,
  kInvalidAuthorization = 3,
  kInvalidToken = 4,
  kNoData = 5,
  kInvalidDataFormat = 6,
  kIncorrectIndex = 7,
  kInternalError = 8,
  kServerBusy = 9,
  kChannelMissing = 10,
  kInvalidChannel = 11,
  kEventFieldRequired = 12,
  kEventFieldBlank = 13,
  kAckDisabled = 14,
  kIndexedFieldsError = 15,
  kQueryStringAuthDisabled = 16,
  kHealthy = 17,
  kUnhealthyQueuesFull = 18,
  kUnhealthyAckUnavailable = 19,
  kUnhealthyQueuesFullAckUnavailable = 20,
  kHealthInvalidToken = 21,
  kHealthTokenDisabled = 22,
};

// The documented text and HTTP status of a code; {500, "Unknown"} outside 0..22.
std::string_view hecText(int code);
int hecHttpStatus(int code);

// A reply body: {"text":...,"code":...} plus ackId / invalid-event-number when set.
struct HecReply {
  int code = kSuccess;
  std::optional<std::uint64_t> ack_id;
  std::optional<std::size_t> invalid_event_number;
};
inline HecReply codeReply(int code) {
  HecReply reply;
  reply.code = code;
  return reply;
}
std::string renderReply(const HecReply& reply);

// One event HEC accepted, with its metadata as sent (see EventParser::describe).
struct IndexedEvent {
  std::string time;  // the envelope's `time` exactly as written (JSON text); empty when absent
  std::string host;  // the metadata strings; empty when absent
  std::string source;
  std::string sourcetype;
  std::string index;
  std::string fields;  // minified JSON object; empty when absent
  std::string event;   // minified JSON value
};

struct ParseOptions {
  // When non-empty, an `index` outside this set is code 7 (the token's allowed indexes).
  const std::set<std::string>* allowed_indexes = nullptr;
  // False: validate only, leave `envelopes` empty (benchmarks that only count).
  bool keep_events = true;
};

struct ParseResult {
  // The accepted envelopes' JSON text (when keep_events), in body order: views into the body.
  std::vector<std::string_view> envelopes;
  std::size_t accepted = 0;  // how many events precede the first bad one
  // The first bad event's code (6, 7, 12, 13, 15); its index is `accepted`.
  std::optional<int> error_code;
};

// Validates a JSON-envelope body. Rules, in order per event: not a JSON object -> 6; no `event`
// -> 12; `event` null or "" -> 13; `time` not a number or numeric string, or `host`, `source`,
// `sourcetype`, `index` not strings -> 6; `fields` not a flat object of strings or arrays of
// strings -> 15; `index` not allowed -> 7. An empty body (only whitespace) is not handled here:
// the caller answers code 5.
//
// Reusable across requests (its buffers grow to the largest body seen and stay), not thread-safe:
// one per thread at a time.
class EventParser {
 public:
  // Bytes the body passed to parse() must have readable after its end (simdjson reads ahead).
  static constexpr std::size_t kPadding = 64;

  EventParser();
  ~EventParser();
  EventParser(const EventParser&) = delete;
  EventParser& operator=(const EventParser&) = delete;

  // Splits and validates the body in one simdjson pass over the whole of it. When that pass meets
  // anything but a clean sequence of JSON objects, the answer comes from parseBySplitting(), so
  // both always agree. `body` must be followed by kPadding readable bytes.
  ParseResult parse(std::string_view body, const ParseOptions& options);

  // The reference: finds each object's end by matching brackets, then parses it alone. Slower;
  // decides every malformed body (which event is bad, which are kept). Needs no padding.
  ParseResult parseBySplitting(std::string_view body, const ParseOptions& options);

  // The metadata and event of an envelope parse() accepted (recording keeps the envelope's text
  // and describes it only when asked). Needs no padding.
  IndexedEvent describe(std::string_view envelope);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// parse() with a one-off parser, for callers without padded bodies.
ParseResult parseEventBody(std::string_view body, const ParseOptions& options);

// True for an 8-4-4-4-12 hexadecimal GUID.
bool isGuid(std::string_view text);

}  // namespace siem::hec_fake
