// A small blocking HTTP client over libcurl, shared by the OpenAI source and the HTTP sinks.
// One HttpClient owns one curl easy handle, reused across requests so connections are kept alive.
//
// Threading: an HttpClient is used by one thread at a time. curl_global_init() must have been
// called once (main(), or the test environment) before any client is created.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

#include "agent/api/result.h"
#include "agent/config/config.h"
#include "agent/core/gzip.h"  // gzipCompress/gzipDecompress, used with this client

namespace siem {

// Header fields with case-insensitive names (RFC 9110). Keeps order and repeated fields.
class HttpHeaders {
 public:
  void add(std::string name, std::string value);
  // The first value of `name`, if present.
  std::optional<std::string_view> get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& all() const { return fields_; }
  bool empty() const { return fields_.empty(); }
  void clear() { fields_.clear(); }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;  // values may be secrets: they never appear in errors or logs
  std::string body;
  std::chrono::milliseconds timeout{30'000};  // whole request, connect included
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  // Decoded body (a `Content-Encoding: gzip` undone when HttpClientOptions::accept_gzip is on).
  // Its capacity leaves room for simdjson's padding, so a parser may read it through a padded
  // view without copying.
  std::string body;
};

enum class TransportErrorKind : std::uint8_t {
  kTimeout,     // the request did not complete in time
  kConnection,  // DNS, connect, reset, or the peer closed mid-response
  kTls,         // handshake, certificate or key problems
  kTooLarge,    // the response body, sent or decoded, exceeded max_response_bytes
  kOther,       // among others: a gzip body that does not decode, an unknown Content-Encoding
};

std::string_view toString(TransportErrorKind kind);

struct TransportError {
  TransportErrorKind kind = TransportErrorKind::kOther;
  std::string message;  // no header values, no request body
};

using HttpResult = tl::expected<HttpResponse, TransportError>;

struct HttpClientOptions {
  TlsConfig tls;
  std::size_t max_response_bytes = 32u << 20;  // both as received and once decoded
  std::chrono::milliseconds connect_timeout{10'000};
  std::string user_agent;  // sent when the request has no User-Agent header
  // Send `Accept-Encoding: gzip` (unless the request has its own) and decode gzip responses
  // (with ISA-L). Off: no Accept-Encoding, and bodies are returned as received.
  bool accept_gzip = true;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads the whole response. Any HTTP status is a response; only failures to
  // get one are errors. Redirects are not followed.
  HttpResult send(const HttpRequest& request);

  // Gives back the body of a response the caller is done with: the next response is read into
  // its storage instead of a buffer grown afresh (large pages would otherwise cost a few
  // allocations and copies each).
  void recycle(std::string&& body);

 private:
  struct Handles;
  HttpClientOptions options_;
  std::unique_ptr<Handles> handles_;
};

// RAII for curl_global_init/curl_global_cleanup; main() holds one for the life of the process,
// before any thread starts.
class CurlGlobal {
 public:
  CurlGlobal();
  ~CurlGlobal();
  CurlGlobal(const CurlGlobal&) = delete;
  CurlGlobal& operator=(const CurlGlobal&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
};

// Parses a Retry-After value: delay-seconds, or an HTTP-date compared with `now`. A date in the
// past is a zero delay. nullopt when the value is neither.
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

// The delay a server asked for: OpenAI's `retry-after-ms` (milliseconds) first, then `Retry-After`.
std::optional<std::chrono::milliseconds> retryAfterFromHeaders(
    const HttpHeaders& headers, std::chrono::system_clock::time_point now);

}  // namespace siem
