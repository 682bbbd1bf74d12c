// The one HTTP status table every HTTP sink starts from: what a response status or a transport
// failure means for the events of the request. A sink applies its vendor's documented deviations
// on top (each with a comment citing the vendor's page), never a table of its own.
//
//   2xx                      delivered
//   408, 429, 5xx            retry, honouring Retry-After            error_type http_408/429/5xx
//   401, 403                 retry slowly, sink unhealthy            error_type auth
//   413                      too large: the driver splits the batch  error_type too_large
//   404, 405, 415            retry slowly, sink unhealthy            error_type http_404/405/415
//   other 4xx                rejected (dead-lettered)                error_type http_4xx
//   1xx, 3xx, anything else  retry slowly, sink unhealthy            error_type http_unexpected
//   timeout / connection     retry                                   error_type timeout/connection
//   TLS failure              retry slowly, sink unhealthy            error_type tls
//
// 404/405 (no such endpoint: a wrong URL) and 415 (unsupported Content-Encoding/Type) are about
// the sink's settings, not the events, and other unexpected statuses (a redirect means a wrong
// endpoint URL) need an operator too: all hold the data and alert instead of dead-lettering it.
// Pure functions, no I/O.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "agent/api/sink.h"
#include "agent/core/http_client.h"

namespace siem {

enum class HttpStatusClass : std::uint8_t {
  kSuccess,
  kRetry,
  kAuth,
  kTooLarge,
  kRejected,
  kUnexpected,
};

HttpStatusClass classifyHttpStatus(int status);

// The error_type label of a non-success status ("http_429", "http_5xx", "auth", ...).
std::string httpErrorType(int status);

// The generic outcome of a request answered with `status`. `reason` says what failed (it is
// logged and written next to dead letters; it must not contain secrets); `retry_after` is the
// server's requested delay, if any.
SendOutcome outcomeForHttpStatus(int status, std::string reason,
                                 std::optional<std::chrono::milliseconds> retry_after);

// The same for a response, with Retry-After read from its headers.
SendOutcome outcomeForHttpResponse(const HttpResponse& response, std::string reason,
                                   std::chrono::system_clock::time_point now);

// The outcome of a request that got no response. `context` names the request ("HEC event
// request to https://host:8088"); the reason is "<context>: <error message>".
SendOutcome outcomeForTransportError(const TransportError& error, std::string_view context);

// A one-line excerpt of a response body for reasons and logs: control characters become spaces,
// at most `max_bytes` bytes (cut on a UTF-8 boundary, "..." appended when cut).
std::string bodyExcerpt(std::string_view body, std::size_t max_bytes = 200);

}  // namespace siem
