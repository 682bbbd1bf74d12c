// What HEC's answers mean: the reply body, HEC's deviations from the generic HTTP status table
// (agent/core/http_status.h), and the indexer-acknowledgement answer. Pure functions.
//
// Reference: Splunk, "Troubleshoot HTTP Event Collector -> Possible error codes"
// https://docs.splunk.com/Documentation/Splunk/latest/Data/TroubleshootHTTPEventCollector
// and "About HTTP Event Collector Indexer Acknowledgment"
// https://docs.splunk.com/Documentation/Splunk/latest/Data/AboutHECIDXAck
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/api/result.h"
#include "agent/api/sink.h"

namespace siem {

// A HEC reply: {"text":...,"code":...} with optional "ackId" and "invalid-event-number".
struct HecReply {
  std::optional<int> code;
  std::string text;
  std::optional<std::uint64_t> ack_id;
  std::optional<std::int64_t> invalid_event_number;
};

// nullopt when `body` is not a JSON object (e.g. a proxy's HTML page).
std::optional<HecReply> parseHecReply(std::string_view body);

// The outcome of a POST to /services/collector/event that carried `events` events and got
// `status` with `body`. `retry_after` is the response's Retry-After, if any.
SendOutcome classifyHecEventResponse(int status, std::string_view body, std::size_t events,
                                     std::optional<std::chrono::milliseconds> retry_after);

// The answer of POST /services/collector/ack: {"acks":{"<id>":true|false,...}}.
Result<std::vector<std::pair<std::uint64_t, bool>>> parseHecAckStatus(std::string_view body);

// The health endpoint's answer: empty when healthy (code 17), else an operator-facing problem.
std::string describeHecHealth(int status, std::string_view body);

}  // namespace siem
