#include "sinks/splunk_hec/response.h"

#include <charconv>

#include <simdjson.h>

#include "agent/core/http_status.h"

namespace siem {
namespace {

// HEC codes this sink treats specially.
constexpr int kCodeNoData = 5;
constexpr int kCodeInvalidDataFormat = 6;
constexpr int kCodeIncorrectIndex = 7;
constexpr int kCodeServerBusy = 9;
constexpr int kCodeChannelMissing = 10;
constexpr int kCodeInvalidChannel = 11;
constexpr int kCodeEventFieldRequired = 12;
constexpr int kCodeEventFieldBlank = 13;
constexpr int kCodeIndexedFieldsError = 15;
constexpr int kCodeHealthy = 17;
constexpr int kCodeHealthInvalidToken = 21;
constexpr int kCodeHealthTokenDisabled = 22;

std::string describe(int status, const std::optional<HecReply>& reply, std::string_view body) {
  std::string out = "HEC answered HTTP " + std::to_string(status);
  if (reply && reply->code) {
    out += " code " + std::to_string(*reply->code);
    if (!reply->text.empty()) out += " (" + bodyExcerpt(reply->text, 120) + ")";
  } else if (!body.empty()) {
    out += ": " + bodyExcerpt(body, 120);
  }
  return out;
}

// Events [0, at) delivered, event `at` gets `at_disposition`, the rest are retried.
SendOutcome partial(SendOutcome outcome, std::size_t events, std::size_t at,
                    Disposition at_disposition) {
  outcome.per_event.assign(events, Disposition::kRetry);
  for (std::size_t i = 0; i < at; ++i) outcome.per_event[i] = Disposition::kDelivered;
  outcome.per_event[at] = at_disposition;
  return outcome;
}

}  // namespace

std::optional<HecReply> parseHecReply(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object object;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS ||
      root.get(object) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  HecReply reply;
  std::int64_t code = 0;
  if (object["code"].get(code) == simdjson::SUCCESS) reply.code = static_cast<int>(code);
  std::string_view text;
  if (object["text"].get(text) == simdjson::SUCCESS) reply.text = std::string(text);
  std::uint64_t ack_id = 0;
  if (object["ackId"].get(ack_id) == simdjson::SUCCESS) reply.ack_id = ack_id;
  std::int64_t invalid = 0;
  if (object["invalid-event-number"].get(invalid) == simdjson::SUCCESS) {
    reply.invalid_event_number = invalid;
  }
  return reply;
}

SendOutcome classifyHecEventResponse(int status, std::string_view body, std::size_t events,
                                     std::optional<std::chrono::milliseconds> retry_after) {
  if (status >= 200 && status < 300) return SendOutcome::delivered();
  const std::optional<HecReply> reply = parseHecReply(body);
  std::string reason = describe(status, reply, body);
  std::optional<std::size_t> at;
  if (reply && reply->invalid_event_number && *reply->invalid_event_number >= 0 &&
      static_cast<std::size_t>(*reply->invalid_event_number) < events) {
    at = static_cast<std::size_t>(*reply->invalid_event_number);
  }
  const int code = reply && reply->code ? *reply->code : -1;

  switch (code) {
    case kCodeInvalidDataFormat:
    case kCodeEventFieldRequired:
    case kCodeEventFieldBlank:
    case kCodeIndexedFieldsError: {
      // HEC processes a batch in order and stops at the first bad event: the events before
      // invalid-event-number are indexed, that one is refused for good, the rest were not read.
      // Resending the whole batch would duplicate the indexed ones.
      if (at) {
        SendOutcome o = SendOutcome::rejected("invalid_data", reason);
        o.per_event_reason.assign(events, std::string());
        o.per_event_reason[*at] = reason + " at event " + std::to_string(*at) + " of the batch";
        return partial(std::move(o), events, *at, Disposition::kRejected);
      }
      // Without the index the bad event is unknown: halve the batch until it stands alone.
      if (events > 1) {
        SendOutcome o = SendOutcome::tooLarge(reason +
                                              "; no invalid-event-number, splitting the "
                                              "batch to isolate the refused event");
        o.error_type = "invalid_data";
        return o;
      }
      return SendOutcome::rejected("invalid_data", reason);
    }
    case kCodeIncorrectIndex: {
      // "Incorrect index": the token may not write to that index. A configuration problem of
      // the token or of `index`, not of the event: alert and hold the data (the events before
      // invalid-event-number, if given, were indexed).
      SendOutcome o = SendOutcome::retry("hec_index", reason);
      o.unhealthy = true;
      return at ? partial(std::move(o), events, *at, Disposition::kRetry) : o;
    }
    case kCodeServerBusy: {
      // "Server is busy": back-pressure; with invalid-event-number, processing stopped there.
      SendOutcome o = SendOutcome::retry("hec_busy", reason, retry_after);
      return at ? partial(std::move(o), events, *at, Disposition::kRetry) : o;
    }
    case kCodeChannelMissing:
    case kCodeInvalidChannel: {
      // The sink always sends a GUID channel; losing it means a proxy strips the header.
      SendOutcome o = SendOutcome::retry("hec_channel", reason);
      o.unhealthy = true;
      return o;
    }
    case kCodeNoData:
      // The sink never sends an empty body; the body was lost on the way. Send it again.
      return SendOutcome::retry("hec_no_data", reason, retry_after);
    default:
      break;
  }
  if (status == 503 && at) {
    // A 503 carrying invalid-event-number (e.g. from an indexer queue) stopped at that event.
    return partial(SendOutcome::retry("http_5xx", reason, retry_after), events, *at,
                   Disposition::kRetry);
  }
  return outcomeForHttpStatus(status, std::move(reason), retry_after);
}

Result<std::vector<std::pair<std::uint64_t, bool>>> parseHecAckStatus(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object acks;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS ||
      root["acks"].get(acks) != simdjson::SUCCESS) {
    return fail("the ack answer is not {\"acks\":{...}}: " + bodyExcerpt(body, 120));
  }
  std::vector<std::pair<std::uint64_t, bool>> out;
  for (auto [key, value] : acks) {
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), id);
    bool done = false;
    if (ec != std::errc() || end != key.data() + key.size() ||
        value.get(done) != simdjson::SUCCESS) {
      return fail("the ack answer has a malformed entry: " + bodyExcerpt(body, 120));
    }
    out.emplace_back(id, done);
  }
  return out;
}

std::string describeHecHealth(int status, std::string_view body) {
  const std::optional<HecReply> reply = parseHecReply(body);
  const int code = reply && reply->code ? *reply->code : -1;
  if (status == 200 && (code == kCodeHealthy || code == -1)) return {};
  // Before Splunk 6.6 there is no health endpoint; sends will show whether HEC works.
  if (status == 404) return {};
  std::string out = "HEC health check: " + describe(status, reply, body);
  if (code == kCodeHealthInvalidToken) out += "; the token is not known to HEC";
  if (code == kCodeHealthTokenDisabled) out += "; the token is disabled";
  return out;
}

}  // namespace siem
