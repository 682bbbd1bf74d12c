// The HTTP side of the OpenAI audit-log source: request building, client-side rate limit, retries.
//
// fetchPage() returns only when it has a well-formed page, when the API refuses the request in a
// way retrying soon cannot fix (401/403 → kUnauthorized; other 4xx → kRejected), or when stop is
// requested. Everything else (timeouts, connection and TLS errors, 408/409/429/5xx, malformed
// pages) is retried with capped exponential backoff and full jitter, honouring `retry-after-ms` /
// `Retry-After`, and reported to the PullObserver. The seed variant's requests
// (fetchOrganizationLogsPage, fetchOrganizationLog) go through the same loop.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "agent/api/result.h"
#include "agent/core/clock.h"
#include "agent/core/http_client.h"
#include "agent/sources/openai/config.h"
#include "agent/sources/openai/page_parser.h"

namespace siem {

// RFC 3986 percent-encoding: everything but unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string percentEncode(std::string_view value);

struct AuditLogQuery {
  std::int64_t gte = 0;  // effective_at[gte]
  std::int64_t lt = 0;   // effective_at[lt]
  std::optional<std::string> after;
};

// {base_url}/organization/audit_logs?effective_at[gte]=..&effective_at[lt]=..&limit=..[&after=..]
// then the server-side filters as bracket arrays (event_types[]=a&event_types[]=b, project_ids[],
// actor_ids[], actor_emails[], resource_ids[]) and tenant_only=true when set. Brackets and values
// are percent-encoded.
std::string buildAuditLogsUrl(const OpenAiSourceOptions& options, const AuditLogQuery& query);

// The seed variant's listing order (ingestion order). The source pages kAscending (oldest first)
// so that `after` is a resumable cursor; kDescending (most recently ingested first) serves
// `siem-agent logs list`.
enum class ListOrder : std::uint8_t { kAscending, kDescending };

// The seed variant (`api: organization_logs`):
// {base_url}/organization_logs?order=asc|desc&limit=<page_size clamped to 1..100>[&after=<id>]
std::string buildOrganizationLogsUrl(const OpenAiSourceOptions& options,
                                     const std::optional<std::string>& after,
                                     ListOrder order = ListOrder::kAscending);
// {base_url}/organization_logs/<id, percent-encoded>
std::string buildOrganizationLogUrl(const OpenAiSourceOptions& options, std::string_view id);

// Client-side request budget. Not thread-safe (one per source thread).
class TokenBucket {
 public:
  // rate_per_sec <= 0 disables the limit. burst >= 1 tokens.
  TokenBucket(double rate_per_sec, double burst, std::chrono::steady_clock::time_point now);
  // Takes one token and returns how long to wait before using it (zero when it is available now).
  // Tokens are reserved, so callers that each wait their returned delay keep the rate.
  std::chrono::nanoseconds take(std::chrono::steady_clock::time_point now);

 private:
  double rate_;
  double burst_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

// The request budget of one source (max_requests_per_sec), shared by every thread that fetches
// for it. Thread-safe.
class RequestBudget {
 public:
  RequestBudget(double rate_per_sec, std::chrono::steady_clock::time_point now)
      : bucket_(rate_per_sec, 1.0, now) {}
  // As TokenBucket::take, and no earlier than a pause asked for by pauseUntil().
  std::chrono::nanoseconds take(std::chrono::steady_clock::time_point now) {
    std::lock_guard lock(mutex_);
    const std::chrono::nanoseconds wait = bucket_.take(now);
    return paused_until_ > now + wait ? paused_until_ - now : wait;
  }
  // The server asked to wait (Retry-After): no request of the source goes out before `until`.
  void pauseUntil(std::chrono::steady_clock::time_point until) {
    std::lock_guard lock(mutex_);
    paused_until_ = std::max(paused_until_, until);
  }

 private:
  std::mutex mutex_;  // guards bucket_ and paused_until_
  TokenBucket bucket_;
  std::chrono::steady_clock::time_point paused_until_{};
};

struct RetryBackoff {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30'000};
  // A server asking for longer than this is waited for this long instead (then asked again).
  std::chrono::milliseconds max_retry_after{600'000};
};

// The delay before retry `attempt` (1 = first retry): uniform in [0, min(max,
// initial·2^(attempt-1))) from `unit_random` ∈ [0, 1), raised to the server's `retry_after` (capped
// by max_retry_after).
std::chrono::milliseconds retryDelay(const RetryBackoff& backoff, std::uint32_t attempt,
                                     double unit_random,
                                     std::optional<std::chrono::milliseconds> retry_after);

// Reads an API key file: the first line, surrounding whitespace removed. Errors name the file,
// never its content.
Result<std::string> readApiKeyFile(const std::string& path);

// Where the client reports what happens on the wire (the source forwards it to its metrics).
// Called on the fetching thread; a source that reads ahead fetches on several threads at once.
class PullObserver {
 public:
  virtual ~PullObserver() = default;
  // One HTTP exchange; status 0 when no response arrived.
  virtual void onHttpRequest(int status, double seconds) = 0;
  // A failed attempt. error_type is one of: timeout, connection, tls, too_large, other,
  // rate_limited, server_error, http_status, malformed_page, unauthorized, rejected; and for the
  // organization_logs variant also cursor_loop (the server did not advance past `after`).
  virtual void onError(std::string_view error_type) = 0;
  virtual void onRetry(std::chrono::milliseconds delay) = 0;
  // A page whose invalid UTF-8 was replaced (see page_parser.h).
  virtual void onUtf8Repaired() = 0;
};

enum class FetchStatus : std::uint8_t { kPage, kUnauthorized, kRejected, kStopped };

struct FetchResult {
  FetchStatus status = FetchStatus::kStopped;
  AuditLogPage page;    // kPage. If has_more, last_id is set (falls back to the last element's id)
  std::string message;  // kUnauthorized / kRejected: operator-facing, never the key
  int http_status = 0;
};

// One object of GET /organization_logs/{id}.
enum class LookupStatus : std::uint8_t { kFound, kNotFound, kUnauthorized, kRejected, kStopped };

struct LookupResult {
  LookupStatus status = LookupStatus::kStopped;
  Event event;          // kFound: decoded like a page element; raw = the object's bytes
  std::string message;  // kNotFound / kUnauthorized / kRejected: operator-facing, never the key
  int http_status = 0;
};

class OpenAiClient {
 public:
  // `source_id` names the source in logs. `clock` and `observer` must outlive the client.
  // `unit_random` returns values in [0, 1) (default: a PRNG seeded from std::random_device).
  // `budget`: the source's shared request budget (default: the client's own, from
  // options.max_requests_per_sec).
  OpenAiClient(OpenAiSourceOptions options, std::string source_id, std::string organization_id,
               Clock& clock, PullObserver& observer, std::function<double()> unit_random = {},
               RetryBackoff backoff = {}, std::shared_ptr<RequestBudget> budget = {});

  FetchResult fetchPage(const AuditLogQuery& query, const std::stop_token& stop);

  // GET /organization_logs?order=asc (the seed variant), continuing after `after` (nullopt: from
  // the oldest). Besides fetchPage's checks, these pages are retried as malformed when has_more is
  // true with no data, and when the last element's id differs from last_id; a page whose last_id
  // equals `after` while has_more is true is retried as error_type cursor_loop. On kPage, last_id
  // is the last element's id (nullopt on an empty page). kDescending asks order=desc instead
  // (nullopt: from the most recently ingested), with the same checks.
  FetchResult fetchOrganizationLogsPage(const std::optional<std::string>& after,
                                        const std::stop_token& stop,
                                        ListOrder order = ListOrder::kAscending);

  // GET /organization_logs/{id}: kFound with the object, kNotFound on 404 (not retried), otherwise
  // like fetchPage. For `siem-agent logs get`.
  LookupResult fetchOrganizationLog(std::string_view id, const std::stop_token& stop);

  // Re-reads api_key_file when one is configured (a rotated secret); otherwise a no-op.
  Result<void> reloadApiKey();

  // The request fetchPage sends (exposed for tests).
  HttpRequest buildRequest(const AuditLogQuery& query) const;
  // A GET of `url` with the headers every request carries.
  HttpRequest buildRequestFor(std::string url) const;

 private:
  // What the shared request loop ended with.
  enum class ExchangeStatus : std::uint8_t {
    kAccepted,  // 200 and the body handler accepted it
    kNotFound,  // 404, when the caller asked for it to be an answer
    kUnauthorized,
    kRejected,
    kStopped,
  };
  struct ExchangeResult {
    ExchangeStatus status = ExchangeStatus::kStopped;
    int http_status = 0;
    std::string message;
  };
  struct BodyProblem {
    std::string_view error_type;  // reported to onError, e.g. "malformed_page"
    std::string message;          // logged with the retry
  };
  // Inspects a 200 response; nullopt accepts it, a problem has it retried with backoff.
  using BodyHandler = std::function<std::optional<BodyProblem>(HttpResponse& response)>;

  // The rate-limit / send / classify / retry loop every request shares.
  ExchangeResult exchange(const std::string& url, bool not_found_is_answer,
                          const BodyHandler& on_ok, const std::stop_token& stop);
  static FetchResult toFetchResult(ExchangeResult exchanged, FetchResult result);
  Result<AuditLogPage> parsePageBody(HttpResponse& response);
  std::string describeRefusal(const HttpResponse& response);

  OpenAiSourceOptions options_;
  std::string source_id_;
  std::string organization_id_;
  std::string api_key_;
  Clock& clock_;
  PullObserver& observer_;
  std::function<double()> unit_random_;
  RetryBackoff backoff_;
  std::shared_ptr<RequestBudget> budget_;
  HttpClient http_;
  simdjson::ondemand::parser parser_;
};

}  // namespace siem
