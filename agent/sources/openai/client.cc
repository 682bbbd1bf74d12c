#include "agent/sources/openai/client.h"

#include "agent/core/backoff.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <random>

namespace siem {
namespace {

constexpr std::size_t kMaxMessageChars = 300;

void appendParam(std::string& url, bool& first, std::string_view name, std::string_view value) {
  url.push_back(first ? '?' : '&');
  first = false;
  url.append(percentEncode(name));
  url.push_back('=');
  url.append(percentEncode(value));
}

// Keeps operator-facing text printable, bounded, and free of anything that looks like a key
// (OpenAI echoes a masked key in "Incorrect API key provided: sk-...").
std::string sanitizeMessage(std::string_view message, const std::string& api_key) {
  std::string out(message.substr(0, kMaxMessageChars * 2));
  if (!api_key.empty()) {
    for (std::size_t pos = out.find(api_key); pos != std::string::npos; pos = out.find(api_key)) {
      out.replace(pos, api_key.size(), "<redacted>");
    }
  }
  for (std::size_t pos = out.find("sk-"); pos != std::string::npos; pos = out.find("sk-", pos)) {
    std::size_t end = pos;
    while (end < out.size() && out[end] != ' ' && out[end] != '.' && out[end] != ',' &&
           out[end] != '"' && out[end] != '\'') {
      ++end;
    }
    out.replace(pos, end - pos, "sk-<redacted>");
    pos += 13;
  }
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  if (out.size() > kMaxMessageChars) {
    out.resize(kMaxMessageChars);
    out.append("...");
  }
  return out;
}

HttpClientOptions httpOptions(const OpenAiSourceOptions& options) {
  HttpClientOptions http;
  http.tls = options.tls;
  http.user_agent = fmt::format("siem-agent/{}", SIEM_AGENT_VERSION);
  return http;
}

std::string_view errorTypeOf(TransportErrorKind kind) { return toString(kind); }

}  // namespace

std::string percentEncode(std::string_view value) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

std::string buildAuditLogsUrl(const OpenAiSourceOptions& options, const AuditLogQuery& query) {
  std::string url = options.base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url.append("/organization/audit_logs");
  bool first = true;
  appendParam(url, first, "effective_at[gte]", std::to_string(query.gte));
  appendParam(url, first, "effective_at[lt]", std::to_string(query.lt));
  appendParam(url, first, "limit",
              std::to_string(std::clamp<std::uint32_t>(options.page_size, 1, 100)));
  if (query.after) appendParam(url, first, "after", *query.after);
  auto list = [&](std::string_view name, const std::vector<std::string>& values) {
    for (const auto& v : values) appendParam(url, first, name, v);
  };
  list("event_types[]", options.event_types);
  list("project_ids[]", options.project_ids);
  list("actor_ids[]", options.actor_ids);
  list("actor_emails[]", options.actor_emails);
  list("resource_ids[]", options.resource_ids);
  if (options.tenant_only) appendParam(url, first, "tenant_only", "true");
  return url;
}

std::string buildOrganizationLogsUrl(const OpenAiSourceOptions& options,
                                     const std::optional<std::string>& after, ListOrder order) {
  std::string url = options.base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url.append("/organization_logs");
  bool first = true;
  appendParam(url, first, "order", order == ListOrder::kDescending ? "desc" : "asc");
  appendParam(url, first, "limit",
              std::to_string(std::clamp<std::uint32_t>(options.page_size, 1, 100)));
  if (after) appendParam(url, first, "after", *after);
  return url;
}

std::string buildOrganizationLogUrl(const OpenAiSourceOptions& options, std::string_view id) {
  std::string url = options.base_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url.append("/organization_logs/");
  url.append(percentEncode(id));
  return url;
}

TokenBucket::TokenBucket(double rate_per_sec, double burst,
                         std::chrono::steady_clock::time_point now)
    : rate_(rate_per_sec), burst_(std::max(1.0, burst)), tokens_(burst_), last_(now) {}

std::chrono::nanoseconds TokenBucket::take(std::chrono::steady_clock::time_point now) {
  if (rate_ <= 0) return std::chrono::nanoseconds::zero();
  if (now > last_) {
    double elapsed = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    last_ = now;
  }
  tokens_ -= 1.0;
  if (tokens_ >= 0) return std::chrono::nanoseconds::zero();
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::ceil(-tokens_ / rate_ * 1e9)));
}

std::chrono::milliseconds retryDelay(const RetryBackoff& backoff, std::uint32_t attempt,
                                     double unit_random,
                                     std::optional<std::chrono::milliseconds> retry_after) {
  if (retry_after) retry_after = std::min(*retry_after, backoff.max_retry_after);
  return backoffDelay(BackoffPolicy{backoff.initial, backoff.max}, attempt, unit_random,
                      retry_after);
}

Result<std::string> readApiKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return fail(fmt::format("cannot read api_key_file {}", path));
  std::string line;
  std::getline(in, line);
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!line.empty() && space(line.back())) line.pop_back();
  std::size_t start = 0;
  while (start < line.size() && space(line[start])) ++start;
  line.erase(0, start);
  if (line.empty()) return fail(fmt::format("api_key_file {} is empty", path));
  return line;
}

OpenAiClient::OpenAiClient(OpenAiSourceOptions options, std::string source_id,
                           std::string organization_id, Clock& clock, PullObserver& observer,
                           std::function<double()> unit_random, RetryBackoff backoff,
                           std::shared_ptr<RequestBudget> budget)
    : options_(std::move(options)),
      source_id_(std::move(source_id)),
      organization_id_(std::move(organization_id)),
      api_key_(options_.api_key),
      clock_(clock),
      observer_(observer),
      unit_random_(std::move(unit_random)),
      backoff_(backoff),
      budget_(budget ? std::move(budget)
                     : std::make_shared<RequestBudget>(options_.max_requests_per_sec,
                                                       clock.monotonic())),
      http_(httpOptions(options_)) {
  if (!unit_random_) {
    unit_random_ = [engine = std::mt19937_64(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
  if (api_key_.empty() && !options_.api_key_file.empty()) {
    if (auto key = readApiKeyFile(options_.api_key_file)) api_key_ = std::move(*key);
  }
}

Result<void> OpenAiClient::reloadApiKey() {
  if (options_.api_key_file.empty()) return {};
  auto key = readApiKeyFile(options_.api_key_file);
  if (!key) return tl::unexpected(key.error());
  api_key_ = std::move(*key);
  return {};
}

HttpRequest OpenAiClient::buildRequest(const AuditLogQuery& query) const {
  return buildRequestFor(buildAuditLogsUrl(options_, query));
}

HttpRequest OpenAiClient::buildRequestFor(std::string url) const {
  HttpRequest request;
  request.method = "GET";
  request.url = std::move(url);
  request.timeout = std::chrono::seconds(options_.timeout_secs);
  request.headers.add("Authorization", "Bearer " + api_key_);
  if (!organization_id_.empty()) request.headers.add("OpenAI-Organization", organization_id_);
  request.headers.add("Accept", "application/json");
  request.headers.add("User-Agent", fmt::format("siem-agent/{}", SIEM_AGENT_VERSION));
  return request;
}

std::string OpenAiClient::describeRefusal(const HttpResponse& response) {
  // OpenAI's error body: {"error": {"message", "type", "param", "code"}}.
  std::string message;
  simdjson::padded_string padded(response.body);
  simdjson::ondemand::document doc;
  if (!parser_.iterate(padded).get(doc)) {
    std::string_view m;
    if (!doc.at_pointer("/error/message").get_string().get(m)) message.assign(m);
  }
  if (message.empty()) message = fmt::format("HTTP {}", response.status);
  return sanitizeMessage(message, api_key_);
}

Result<AuditLogPage> OpenAiClient::parsePageBody(HttpResponse& response) {
  simdjson::padded_string_view view(response.body.data(), response.body.size(),
                                    response.body.capacity());
  auto page = response.body.capacity() >= response.body.size() + simdjson::SIMDJSON_PADDING
                  ? parseAuditLogPage(view, parser_)
                  : parseAuditLogPage(std::string_view(response.body), parser_);
  http_.recycle(std::move(response.body));  // the page owns copies of what it keeps
  return page;
}

OpenAiClient::ExchangeResult OpenAiClient::exchange(const std::string& url,
                                                    bool not_found_is_answer,
                                                    const BodyHandler& on_ok,
                                                    const std::stop_token& stop) {
  ExchangeResult result;
  for (std::uint32_t attempt = 0;; ++attempt) {
    if (!clock_.sleepFor(budget_->take(clock_.monotonic()), stop)) return result;

    const HttpRequest request = buildRequestFor(url);
    const auto started = clock_.monotonic();
    HttpResult response = http_.send(request);
    const double seconds = std::chrono::duration<double>(clock_.monotonic() - started).count();

    std::optional<std::chrono::milliseconds> retry_after;
    std::string problem;
    if (!response) {
      observer_.onHttpRequest(0, seconds);
      observer_.onError(errorTypeOf(response.error().kind));
      problem =
          fmt::format("{} error: {}", toString(response.error().kind), response.error().message);
    } else {
      const int status = response->status;
      observer_.onHttpRequest(status, seconds);
      auto request_id = response->headers.get("x-request-id").value_or("-");
      if (status == 200) {
        std::optional<BodyProblem> rejected = on_ok(*response);
        if (!rejected) {
          result.status = ExchangeStatus::kAccepted;
          result.http_status = status;
          return result;
        }
        observer_.onError(rejected->error_type);
        problem = fmt::format("{} (x-request-id {})", rejected->message, request_id);
      } else if (status == 401 || status == 403) {
        observer_.onError("unauthorized");
        result.status = ExchangeStatus::kUnauthorized;
        result.http_status = status;
        result.message = fmt::format("an organization Admin API key is required: {} (HTTP {})",
                                     describeRefusal(*response), status);
        return result;
      } else if (status == 404 && not_found_is_answer) {
        result.status = ExchangeStatus::kNotFound;
        result.http_status = status;
        result.message = describeRefusal(*response);
        return result;
      } else if (status == 408 || status == 409 || status == 429 || status >= 500) {
        observer_.onError(status == 429   ? "rate_limited"
                          : status >= 500 ? "server_error"
                                          : "http_status");
        retry_after = retryAfterFromHeaders(response->headers, clock_.now());
        problem = fmt::format("HTTP {} (x-request-id {})", status, request_id);
      } else {
        observer_.onError("rejected");
        result.status = ExchangeStatus::kRejected;
        result.http_status = status;
        result.message = fmt::format("the OpenAI API rejected the request with HTTP {}: {}", status,
                                     describeRefusal(*response));
        return result;
      }
    }

    const auto delay = retryDelay(backoff_, attempt + 1, unit_random_(), retry_after);
    // A server's wait holds for every connection of the source, not only this one.
    if (retry_after) budget_->pauseUntil(clock_.monotonic() + delay);
    spdlog::warn("source {}: {}; retry {} in {} ms", source_id_, problem, attempt + 1,
                 delay.count());
    observer_.onRetry(delay);
    if (!clock_.sleepFor(delay, stop)) return result;
  }
}

FetchResult OpenAiClient::toFetchResult(ExchangeResult exchanged, FetchResult result) {
  switch (exchanged.status) {
    case ExchangeStatus::kAccepted:
      result.status = FetchStatus::kPage;
      break;
    case ExchangeStatus::kUnauthorized:
      result.status = FetchStatus::kUnauthorized;
      break;
    case ExchangeStatus::kNotFound:  // not asked for by list requests
    case ExchangeStatus::kRejected:
      result.status = FetchStatus::kRejected;
      break;
    case ExchangeStatus::kStopped:
      result.status = FetchStatus::kStopped;
      break;
  }
  result.http_status = exchanged.http_status;
  result.message = std::move(exchanged.message);
  return result;
}

FetchResult OpenAiClient::fetchPage(const AuditLogQuery& query, const std::stop_token& stop) {
  FetchResult result;
  const auto on_ok = [&](HttpResponse& response) -> std::optional<BodyProblem> {
    auto page = parsePageBody(response);
    if (!page) return BodyProblem{"malformed_page", "malformed page: " + page.error().message};
    if (page->has_more && (!page->last_id || page->last_id->empty())) {
      if (!page->events.empty()) page->last_id = page->events.back().id;
    }
    if (page->has_more && (!page->last_id || page->last_id->empty())) {
      return BodyProblem{
          "malformed_page",
          "malformed page: has_more is true but there is no last_id to continue from"};
    }
    if (page->has_more && query.after && *page->last_id == *query.after) {
      return BodyProblem{"malformed_page",
                         "malformed page: pagination did not advance (last_id equals after)"};
    }
    if (page->utf8_repaired) observer_.onUtf8Repaired();
    result.page = std::move(*page);
    return std::nullopt;
  };
  ExchangeResult exchanged = exchange(buildAuditLogsUrl(options_, query), false, on_ok, stop);
  return toFetchResult(std::move(exchanged), std::move(result));
}

FetchResult OpenAiClient::fetchOrganizationLogsPage(const std::optional<std::string>& after,
                                                    const std::stop_token& stop, ListOrder order) {
  FetchResult result;
  const auto on_ok = [&](HttpResponse& response) -> std::optional<BodyProblem> {
    auto page = parsePageBody(response);
    if (!page) return BodyProblem{"malformed_page", "malformed page: " + page.error().message};
    // The cursor is an id: only the ids of delivered elements are trusted to continue from.
    if (page->events.empty()) {
      if (page->has_more) {
        return BodyProblem{"malformed_page", "malformed page: has_more is true but data is empty"};
      }
      page->last_id.reset();
    } else {
      const std::string& last = page->events.back().id;
      if (page->last_id && !page->last_id->empty() && *page->last_id != last) {
        return BodyProblem{"malformed_page",
                           fmt::format("malformed page: last_id {} is not the last element's id {}",
                                       *page->last_id, last)};
      }
      page->last_id = last;
      if (page->has_more && after && last == *after) {
        return BodyProblem{"cursor_loop",
                           fmt::format("looping cursor: the page after {} ends at {} again and "
                                       "has_more is true",
                                       *after, last)};
      }
    }
    if (page->utf8_repaired) observer_.onUtf8Repaired();
    result.page = std::move(*page);
    return std::nullopt;
  };
  ExchangeResult exchanged =
      exchange(buildOrganizationLogsUrl(options_, after, order), false, on_ok, stop);
  return toFetchResult(std::move(exchanged), std::move(result));
}

LookupResult OpenAiClient::fetchOrganizationLog(std::string_view id, const std::stop_token& stop) {
  LookupResult result;
  const auto on_ok = [&](HttpResponse& response) -> std::optional<BodyProblem> {
    auto event = parseAuditLogObject(response.body, parser_);
    if (!event) return BodyProblem{"malformed_page", "malformed object: " + event.error().message};
    if (event->id != id) {
      return BodyProblem{"malformed_page",
                         fmt::format("malformed object: asked for {} but got {}", id, event->id)};
    }
    result.event = std::move(*event);
    return std::nullopt;
  };
  ExchangeResult exchanged =
      exchange(buildOrganizationLogUrl(options_, id), /*not_found_is_answer=*/true, on_ok, stop);
  switch (exchanged.status) {
    case ExchangeStatus::kAccepted:
      result.status = LookupStatus::kFound;
      break;
    case ExchangeStatus::kNotFound:
      result.status = LookupStatus::kNotFound;
      break;
    case ExchangeStatus::kUnauthorized:
      result.status = LookupStatus::kUnauthorized;
      break;
    case ExchangeStatus::kRejected:
      result.status = LookupStatus::kRejected;
      break;
    case ExchangeStatus::kStopped:
      result.status = LookupStatus::kStopped;
      break;
  }
  result.http_status = exchanged.http_status;
  result.message = std::move(exchanged.message);
  return result;
}

}  // namespace siem
