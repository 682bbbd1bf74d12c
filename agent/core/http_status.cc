#include "agent/core/http_status.h"

#include <utility>

namespace siem {

HttpStatusClass classifyHttpStatus(int status) {
  if (status >= 200 && status < 300) return HttpStatusClass::kSuccess;
  if (status == 408 || status == 429 || (status >= 500 && status < 600)) {
    return HttpStatusClass::kRetry;
  }
  if (status == 401 || status == 403) return HttpStatusClass::kAuth;
  if (status == 413) return HttpStatusClass::kTooLarge;
  if (status == 404 || status == 405 || status == 415) return HttpStatusClass::kUnexpected;
  if (status >= 400 && status < 500) return HttpStatusClass::kRejected;
  return HttpStatusClass::kUnexpected;
}

std::string httpErrorType(int status) {
  switch (classifyHttpStatus(status)) {
    case HttpStatusClass::kSuccess:
      return {};
    case HttpStatusClass::kRetry:
      return status >= 500 ? "http_5xx" : "http_" + std::to_string(status);
    case HttpStatusClass::kAuth:
      return "auth";
    case HttpStatusClass::kTooLarge:
      return "too_large";
    case HttpStatusClass::kRejected:
      return "http_4xx";
    case HttpStatusClass::kUnexpected:
      return status >= 400 && status < 500 ? "http_" + std::to_string(status) : "http_unexpected";
  }
  return "http_unexpected";
}

SendOutcome outcomeForHttpStatus(int status, std::string reason,
                                 std::optional<std::chrono::milliseconds> retry_after) {
  switch (classifyHttpStatus(status)) {
    case HttpStatusClass::kSuccess:
      return SendOutcome::delivered();
    case HttpStatusClass::kRetry:
      return SendOutcome::retry(httpErrorType(status), std::move(reason), retry_after);
    case HttpStatusClass::kAuth:
    case HttpStatusClass::kUnexpected: {
      SendOutcome o = SendOutcome::retry(httpErrorType(status), std::move(reason), retry_after);
      o.unhealthy = true;
      return o;
    }
    case HttpStatusClass::kTooLarge: {
      SendOutcome o = SendOutcome::tooLarge(std::move(reason));
      o.error_type = httpErrorType(status);
      return o;
    }
    case HttpStatusClass::kRejected:
      return SendOutcome::rejected(httpErrorType(status), std::move(reason));
  }
  return SendOutcome::retry("http_unexpected", std::move(reason));
}

SendOutcome outcomeForHttpResponse(const HttpResponse& response, std::string reason,
                                   std::chrono::system_clock::time_point now) {
  return outcomeForHttpStatus(response.status, std::move(reason),
                              retryAfterFromHeaders(response.headers, now));
}

SendOutcome outcomeForTransportError(const TransportError& error, std::string_view context) {
  std::string reason(context);
  reason += ": ";
  reason += error.message;
  switch (error.kind) {
    case TransportErrorKind::kTimeout:
      return SendOutcome::retry("timeout", std::move(reason));
    case TransportErrorKind::kConnection:
      return SendOutcome::retry("connection", std::move(reason));
    case TransportErrorKind::kTls: {
      // A certificate or key problem does not heal by itself: alert, hold the data.
      SendOutcome o = SendOutcome::retry("tls", std::move(reason));
      o.unhealthy = true;
      return o;
    }
    case TransportErrorKind::kTooLarge:
      return SendOutcome::retry("http_response", std::move(reason));
    case TransportErrorKind::kOther:
      break;
  }
  return SendOutcome::retry("http", std::move(reason));
}

std::string bodyExcerpt(std::string_view body, std::size_t max_bytes) {
  std::string out;
  std::size_t end = body.size();
  bool cut = false;
  if (end > max_bytes) {
    end = max_bytes;
    // Back up to the start of a UTF-8 sequence so the excerpt stays valid text.
    while (end > 0 && (static_cast<unsigned char>(body[end]) & 0xC0) == 0x80) --end;
    cut = true;
  }
  out.reserve(end + 3);
  for (std::size_t i = 0; i < end; ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    out.push_back(c < 0x20 || c == 0x7F ? ' ' : static_cast<char>(c));
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (cut) out += "...";
  return out;
}

}  // namespace siem
