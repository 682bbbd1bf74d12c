#include "tests/fakes/openai_sim/sim_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <spdlog/spdlog.h>

#include "agent/core/http_client.h"
#include "tests/fakes/openai_sim/json_writer.h"

namespace siem::sim {
namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

bool isLoopback(const std::string& address) {
  return address.starts_with("127.") || address == "::1" || address.starts_with("::ffff:127.");
}

std::optional<std::int64_t> parseInt(std::string_view text) {
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string addressString(const sockaddr_storage& address, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
    port = ntohs(v4->sin_port);
  } else if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
    port = ntohs(v6->sin6_port);
  }
  return text;
}

// cpp-httplib has no way to abandon a request without answering, so the `drop_connection` fault
// finds the request's socket by its address pair and shuts it down: the client then sees the
// connection close with zero response bytes, like a crashed upstream or a reset by a proxy.
bool shutDownConnection(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  const std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, &closedir);
  while (const dirent* entry = readdir(dir)) {
    const auto fd = parseInt(entry->d_name);
    if (!fd) continue;
    const int socket_fd = static_cast<int>(*fd);
    sockaddr_storage local{};
    sockaddr_storage peer{};
    socklen_t local_len = sizeof(local);
    socklen_t peer_len = sizeof(peer);
    if (getsockname(socket_fd, reinterpret_cast<sockaddr*>(&local), &local_len) != 0) continue;
    if (getpeername(socket_fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) != 0) continue;
    int local_port = -1;
    int peer_port = -1;
    if (addressString(local, local_port) == req.local_addr && local_port == req.local_port &&
        addressString(peer, peer_port) == req.remote_addr && peer_port == req.remote_port) {
      ::shutdown(socket_fd, SHUT_RDWR);
      return true;
    }
  }
  return false;
}

ApiError controlError(std::string param, std::string message) {
  return ApiError{400, std::move(message), "invalid_request_error", std::move(param), {}};
}

// A page cut at its last brace and closed with a stray `,]`: no JSON parser accepts it.
void makeMalformed(std::string& body) {
  body.pop_back();
  body += ",]";
}

// Announces the full Content-Length, sends half the body and closes the connection.
void sendTruncated(httplib::Response& res, std::string body) {
  auto shared = std::make_shared<const std::string>(std::move(body));
  res.status = 200;
  res.set_content_provider(
      shared->size(), "application/json",
      [shared](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
        const std::size_t half = shared->size() / 2;
        if (offset < half) sink.write(shared->data() + offset, std::min(length, half - offset));
        return false;  // abort: the full Content-Length was announced, half was sent
      });
}

void appendOptionalInt(std::string& out, const std::optional<std::int64_t>& value) {
  if (value) {
    appendJsonInt(out, *value);
  } else {
    out += "null";
  }
}

}  // namespace

SimServer::SimServer(Simulator& simulator, ServerOptions options)
    : simulator_(simulator), options_(std::move(options)) {
  installRoutes();
}

void SimServer::installRoutes() {
  // Loopback-only control API.
  http_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.path.starts_with("/_sim/") && !isLoopback(req.remote_addr)) {
      sendError(res, ApiError{403,
                              "The control API is served to loopback clients only.",
                              "invalid_request_error",
                              {},
                              {}});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Unknown URLs answer like the real API does, with an error object.
  http_.set_error_handler(httplib::Server::HandlerWithResponse(
      [this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        sendError(res, ApiError{res.status,
                                "Invalid URL (" + req.method + " " + req.path + ")",
                                "invalid_request_error",
                                {},
                                {}});
        return httplib::Server::HandlerResponse::Handled;
      }));
  if (options_.verbose) {
    http_.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      spdlog::info("{} {} -> {} ({} bytes)", req.method, req.target, res.status, res.body.size());
    });
  }

  http_.Get(
      "/v1/organization/audit_logs",
      [this](const httplib::Request& req, httplib::Response& res) { listAuditLogs(req, res); });
  http_.Get("/v1/organization_logs", [this](const httplib::Request& req, httplib::Response& res) {
    listOrganizationLogs(req, res);
  });
  http_.Get(R"(/v1/organization_logs/([^/]+))",
            [this](const httplib::Request& req, httplib::Response& res) {
              getOrganizationLog(req, res);
            });

  http_.Post("/_sim/generate", [this](const httplib::Request& req, httplib::Response& res) {
    controlGenerate(req, res);
  });
  http_.Post("/_sim/fault", [this](const httplib::Request& req, httplib::Response& res) {
    controlFault(req, res);
  });
  http_.Delete("/_sim/fault", [this](const httplib::Request&, httplib::Response& res) {
    faults_.clear();
    sendJson(res, 200, R"({"faults_pending":0})");
  });
  http_.Get("/_sim/ids",
            [this](const httplib::Request& req, httplib::Response& res) { controlIds(req, res); });
  http_.Get("/_sim/stats", [this](const httplib::Request& req, httplib::Response& res) {
    controlStats(req, res);
  });
  http_.Get("/_sim/requests", [this](const httplib::Request& req, httplib::Response& res) {
    controlRequests(req, res);
  });
  http_.Post("/_sim/clear", [this](const httplib::Request& req, httplib::Response& res) {
    controlClear(req, res);
  });
}

std::optional<ApiError> SimServer::authorize(const httplib::Request& req) const {
  std::string expected = options_.admin_key;
  if (!options_.admin_key_file.empty()) {
    // Re-read each time so a test (or a rotated secret) takes effect at once. A missing file
    // means every key is rejected (revoked).
    std::ifstream in(options_.admin_key_file, std::ios::binary);
    std::ostringstream content;
    content << in.rdbuf();
    expected = in ? std::string(trim(content.str())) : std::string();
  }
  ApiError error{401, {}, "invalid_request_error", {}, "invalid_api_key"};
  const std::string header = req.get_header_value("Authorization");
  std::string_view value = trim(header);
  constexpr std::string_view kBearer = "bearer ";
  const bool bearer = value.size() > kBearer.size() &&
                      std::equal(kBearer.begin(), kBearer.end(), value.begin(), [](char a, char b) {
                        return a == std::tolower(static_cast<unsigned char>(b));
                      });
  if (!bearer || trim(value.substr(kBearer.size())).empty()) {
    error.message =
        "You didn't provide an API key. You need to provide your API key in an Authorization "
        "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";
    return error;
  }
  // The key itself is never echoed or logged.
  if (expected.empty() || trim(value.substr(kBearer.size())) != expected) {
    error.message =
        "Incorrect API key provided. You can find your API key at "
        "https://platform.openai.com/account/api-keys.";
    return error;
  }
  return std::nullopt;
}

SimServer::ScratchPool::Lease SimServer::ScratchPool::acquire() {
  std::unique_ptr<PageScratch> scratch;
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      scratch = std::move(free_.back());
      free_.pop_back();
    }
  }
  if (!scratch) scratch = std::make_unique<PageScratch>();
  return Lease(scratch.release(), Return{this});
}

void SimServer::ScratchPool::release(PageScratch* scratch) {
  std::unique_ptr<PageScratch> owned(scratch);
  // A page holds at most 100 events; storage grown beyond that (a huge event) is not kept.
  constexpr std::size_t kKeepBytes = 4 << 20;
  if (owned->body.capacity() > kKeepBytes) return;
  std::lock_guard lock(mutex_);
  free_.push_back(std::move(owned));
}

void SimServer::sendJson(httplib::Response& res, int status, std::string body) {
  res.status = status;
  res.set_content(std::move(body), "application/json");
}

void SimServer::sendPage(const httplib::Request& req, httplib::Response& res,
                         std::string_view body) {
  // Pages are compressed here at zlib level 1 rather than by cpp-httplib, which always uses the
  // default level 6: clients decode both alike, and the simulator, which shares the machine with
  // the agent in benchmarks, spends a third of the CPU. cpp-httplib compresses only a Content-Type
  // of exactly "application/json", so the charset parameter keeps it from compressing again.
  if (body.size() >= kCompressMinBytes &&
      req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos) {
    if (auto compressed = gzipCompress(body, 1)) {
      // Moved in: Response::set_content would copy it.
      res.status = 200;
      res.body = std::move(*compressed);
      res.set_header("Content-Type", "application/json; charset=utf-8");
      res.set_header("Content-Encoding", "gzip");
      return;
    }
  }
  res.status = 200;
  res.set_content(body.data(), body.size(), "application/json");
}

void SimServer::sendError(httplib::Response& res, const ApiError& error) {
  sendJson(res, error.status, renderApiError(error));
}

std::string SimServer::nextRequestId() {
  std::lock_guard lock(stats_mutex_);
  return "req_" + formatAuditLogId(mix64(++request_counter_)).substr(10);
}

void SimServer::record(std::string endpoint, const httplib::Request& req, int status,
                       const std::optional<Fault>& fault) {
  std::lock_guard lock(stats_mutex_);
  ++requests_total_;
  ++requests_by_status_[status];
  if (fault) ++faults_served_;
  recent_.push_back(RequestRecord{std::move(endpoint), req.target, status,
                                  fault ? std::string(toString(fault->kind)) : std::string()});
  if (recent_.size() > kRecentLimit) recent_.pop_front();
}

bool SimServer::applyTransportFault(const Fault& fault, const httplib::Request& req,
                                    httplib::Response& res) {
  switch (fault.kind) {
    case FaultKind::kTooManyRequests:
      if (fault.retry_after_secs) {
        res.set_header("Retry-After", std::to_string(*fault.retry_after_secs));
      }
      if (fault.retry_after_ms)
        res.set_header("retry-after-ms", std::to_string(*fault.retry_after_ms));
      sendError(res, ApiError{429,
                              "Rate limit reached for requests. Please try again later.",
                              "requests",
                              {},
                              "rate_limit_exceeded"});
      return true;
    case FaultKind::kInternalError:
      sendError(res, ApiError{500,
                              "The server had an error while processing your request. Sorry "
                              "about that!",
                              "server_error",
                              {},
                              {}});
      return true;
    case FaultKind::kUnavailable:
      sendError(res, ApiError{503,
                              "The engine is currently overloaded, please try again later.",
                              "server_error",
                              {},
                              {}});
      return true;
    case FaultKind::kSlow:
      std::this_thread::sleep_for(std::chrono::milliseconds(fault.delay_ms));
      return false;
    case FaultKind::kMissingData:
      sendJson(res, 200, R"({"object":"list","first_id":null,"last_id":null,"has_more":true})");
      return true;
    case FaultKind::kHasMoreEmpty:
      sendJson(res, 200,
               R"({"object":"list","data":[],"first_id":null,"last_id":null,"has_more":true})");
      return true;
    case FaultKind::kDropConnection:
      if (!shutDownConnection(req)) spdlog::warn("drop_connection: request socket not found");
      res.status = 500;
      return true;
    case FaultKind::kMalformed:
    case FaultKind::kTruncated:
    case FaultKind::kWrongTypes:
    case FaultKind::kLoopCursor:
      return false;
  }
  return false;
}

void SimServer::listAuditLogs(const httplib::Request& req, httplib::Response& res) {
  res.set_header("x-request-id", nextRequestId());
  {
    std::lock_guard lock(stats_mutex_);
    ++audit_log_requests_;
  }
  if (auto error = authorize(req)) {
    {
      std::lock_guard lock(stats_mutex_);
      ++auth_failures_;
    }
    sendError(res, *error);
    record("audit_logs", req, res.status, std::nullopt);
    return;
  }
  const std::optional<Fault> fault = faults_.take();
  if (fault && applyTransportFault(*fault, req, res)) {
    record("audit_logs", req, fault->kind == FaultKind::kDropConnection ? 0 : res.status, fault);
    return;
  }
  auto query = parseListQuery(parseQueryString(req.target), QueryDialect::kAuditLogs);
  if (!query) {
    sendError(res, query.error());
    record("audit_logs", req, res.status, fault);
    return;
  }
  PageStyle style = PageStyle::kNormal;
  if (fault && fault->kind == FaultKind::kLoopCursor) {
    query->after.reset();
    query->before.reset();
    style = PageStyle::kForceHasMore;
  } else if (fault && fault->kind == FaultKind::kWrongTypes) {
    style = PageStyle::kWrongTypes;
  }
  const ScratchPool::Lease scratch = scratch_.acquire();
  auto page = simulator_.auditLogs(*query, style, *scratch);
  if (!page) {
    sendError(res, page.error());
    record("audit_logs", req, res.status, fault);
    return;
  }
  std::string& body = scratch->body;
  if (fault && fault->kind == FaultKind::kMalformed) makeMalformed(body);
  if (fault && fault->kind == FaultKind::kTruncated) {
    sendTruncated(res, body);
    record("audit_logs", req, 200, fault);
    return;
  }
  sendPage(req, res, body);
  record("audit_logs", req, 200, fault);
}

void SimServer::listOrganizationLogs(const httplib::Request& req, httplib::Response& res) {
  res.set_header("x-request-id", nextRequestId());
  {
    std::lock_guard lock(stats_mutex_);
    ++organization_log_requests_;
  }
  if (auto error = authorize(req)) {
    {
      std::lock_guard lock(stats_mutex_);
      ++auth_failures_;
    }
    sendError(res, *error);
    record("organization_logs", req, res.status, std::nullopt);
    return;
  }
  const std::optional<Fault> fault = faults_.take();
  if (fault && applyTransportFault(*fault, req, res)) {
    record("organization_logs", req, fault->kind == FaultKind::kDropConnection ? 0 : res.status,
           fault);
    return;
  }
  auto query = parseListQuery(parseQueryString(req.target), QueryDialect::kOrganizationLogs);
  if (!query) {
    sendError(res, query.error());
    record("organization_logs", req, res.status, fault);
    return;
  }
  PageStyle style = PageStyle::kNormal;
  if (fault && fault->kind == FaultKind::kLoopCursor) {
    style = PageStyle::kRepeatCursorPage;
  } else if (fault && fault->kind == FaultKind::kWrongTypes) {
    style = PageStyle::kWrongTypes;
  }
  const ScratchPool::Lease scratch = scratch_.acquire();
  auto page = simulator_.organizationLogs(*query, style, *scratch);
  if (!page) {
    sendError(res, page.error());
    record("organization_logs", req, res.status, fault);
    return;
  }
  std::string& body = scratch->body;
  if (fault && fault->kind == FaultKind::kMalformed) makeMalformed(body);
  if (fault && fault->kind == FaultKind::kTruncated) {
    sendTruncated(res, body);
    record("organization_logs", req, 200, fault);
    return;
  }
  sendPage(req, res, body);
  record("organization_logs", req, 200, fault);
}

void SimServer::getOrganizationLog(const httplib::Request& req, httplib::Response& res) {
  res.set_header("x-request-id", nextRequestId());
  if (auto error = authorize(req)) {
    {
      std::lock_guard lock(stats_mutex_);
      ++auth_failures_;
    }
    sendError(res, *error);
    record("organization_log", req, res.status, std::nullopt);
    return;
  }
  // The same fault queue as the lists: transport faults as there; `malformed`, `truncated` and
  // `wrong_types` apply to the object; `loop_cursor` has no meaning for one object (served as is).
  const std::optional<Fault> fault = faults_.take();
  if (fault && applyTransportFault(*fault, req, res)) {
    record("organization_log", req, fault->kind == FaultKind::kDropConnection ? 0 : res.status,
           fault);
    return;
  }
  const std::string id = req.matches[1];
  auto body = simulator_.organizationLog(id, fault && fault->kind == FaultKind::kWrongTypes
                                                 ? PageStyle::kWrongTypes
                                                 : PageStyle::kNormal);
  if (!body) {
    sendError(res, ApiError{404,
                            "No organization log found with id '" + id + "'.",
                            "invalid_request_error",
                            "id",
                            {}});
    record("organization_log", req, res.status, fault);
    return;
  }
  if (fault && fault->kind == FaultKind::kMalformed) makeMalformed(*body);
  if (fault && fault->kind == FaultKind::kTruncated) {
    sendTruncated(res, std::move(*body));
  } else {
    sendJson(res, 200, std::move(*body));
  }
  record("organization_log", req, 200, fault);
}

void SimServer::controlGenerate(const httplib::Request& req, httplib::Response& res) {
  std::int64_t count = 1;
  std::int64_t at = simulator_.now();
  std::int64_t span = 0;
  std::vector<std::string> types;
  for (const auto& [key, value] : parseQueryString(req.target)) {
    if (key == "type" || key == "type[]") {
      if (value.empty()) return sendError(res, controlError(key, "'type' must not be empty"));
      types.push_back(value);
      continue;
    }
    std::int64_t* target = key == "count"       ? &count
                           : key == "at"        ? &at
                           : key == "span_secs" ? &span
                                                : nullptr;
    if (target == nullptr) continue;
    auto n = parseInt(value);
    if (!n) return sendError(res, controlError(key, "'" + key + "' must be an integer"));
    *target = *n;
  }
  if (count < 1 || count > 10'000'000) {
    return sendError(res, controlError("count", "'count' must be in 1..10000000"));
  }
  if (span < 0) return sendError(res, controlError("span_secs", "'span_secs' must be >= 0"));
  const auto ids = simulator_.generate(static_cast<std::size_t>(count), at, span, types);
  std::string out = R"({"generated":)";
  appendJsonInt(out, static_cast<std::int64_t>(ids.size()));
  out += R"(,"ids":[)";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out.push_back(',');
    appendJsonString(out, ids[i]);
  }
  out += R"(],"events_total":)";
  appendJsonInt(out, static_cast<std::int64_t>(simulator_.totals().events));
  out += "}";
  sendJson(res, 200, std::move(out));
}

void SimServer::controlFault(const httplib::Request& req, httplib::Response& res) {
  auto fault = parseFault(req.body);
  if (!fault) return sendError(res, controlError("body", fault.error()));
  faults_.push(*fault);
  std::string out = R"({"queued":)";
  appendJsonString(out, toString(fault->kind));
  out += R"(,"faults_pending":)";
  appendJsonInt(out, static_cast<std::int64_t>(faults_.pending()));
  out += "}";
  sendJson(res, 200, std::move(out));
}

void SimServer::controlIds(const httplib::Request& req, httplib::Response& res) {
  const QueryParams params = parseQueryString(req.target);
  auto query = parseListQuery(params, QueryDialect::kControl);
  if (!query) return sendError(res, query.error());
  const bool tsv = std::any_of(params.begin(), params.end(), [](const auto& p) {
    return p.first == "format" && p.second == "tsv";
  });
  auto text = simulator_.ids(*query, tsv);
  if (!text) return sendError(res, text.error());
  res.status = 200;
  res.set_content(std::move(*text), "text/plain");
}

void SimServer::controlStats(const httplib::Request&, httplib::Response& res) {
  const Simulator::Totals totals = simulator_.totals();
  std::string out = "{";
  {
    std::lock_guard lock(stats_mutex_);
    out += R"("requests_total":)";
    appendJsonInt(out, static_cast<std::int64_t>(requests_total_));
    out += R"(,"requests_by_status":{)";
    bool first = true;
    for (const auto& [status, n] : requests_by_status_) {
      if (!first) out.push_back(',');
      first = false;
      appendJsonKey(out, std::to_string(status));
      appendJsonInt(out, static_cast<std::int64_t>(n));
    }
    out += R"(},"audit_log_requests_total":)";
    appendJsonInt(out, static_cast<std::int64_t>(audit_log_requests_));
    out += R"(,"organization_log_requests_total":)";
    appendJsonInt(out, static_cast<std::int64_t>(organization_log_requests_));
    out += R"(,"auth_failures_total":)";
    appendJsonInt(out, static_cast<std::int64_t>(auth_failures_));
    out += R"(,"faults_served_total":)";
    appendJsonInt(out, static_cast<std::int64_t>(faults_served_));
  }
  out += R"(,"faults_pending":)";
  appendJsonInt(out, static_cast<std::int64_t>(faults_.pending()));
  out += R"(,"events_total":)";
  appendJsonInt(out, static_cast<std::int64_t>(totals.events));
  out += R"(,"events_generated_total":)";
  appendJsonInt(out, static_cast<std::int64_t>(totals.generated));
  out += R"(,"event_json_bytes":)";
  appendJsonInt(out, static_cast<std::int64_t>(totals.json_bytes));
  out += R"(,"oldest_effective_at":)";
  appendOptionalInt(out, totals.oldest);
  out += R"(,"newest_effective_at":)";
  appendOptionalInt(out, totals.newest);
  out += "}";
  sendJson(res, 200, std::move(out));
}

void SimServer::controlRequests(const httplib::Request& req, httplib::Response& res) {
  std::size_t limit = 100;
  for (const auto& [key, value] : parseQueryString(req.target)) {
    if (key != "limit") continue;
    auto n = parseInt(value);
    if (!n || *n < 1) return sendError(res, controlError("limit", "'limit' must be >= 1"));
    limit = static_cast<std::size_t>(*n);
  }
  std::string out = R"({"requests":[)";
  {
    std::lock_guard lock(stats_mutex_);
    const std::size_t skip = recent_.size() > limit ? recent_.size() - limit : 0;
    for (std::size_t i = skip; i < recent_.size(); ++i) {
      const RequestRecord& r = recent_[i];
      if (i != skip) out.push_back(',');
      out += R"({"endpoint":)";
      appendJsonString(out, r.endpoint);
      out += R"(,"target":)";
      appendJsonString(out, r.target);
      out += R"(,"status":)";
      appendJsonInt(out, r.status);
      out += R"(,"fault":)";
      appendJsonStringOrNull(out, r.fault);
      out += "}";
    }
  }
  out += "]}";
  sendJson(res, 200, std::move(out));
}

void SimServer::controlClear(const httplib::Request& req, httplib::Response& res) {
  std::string what = "all";
  for (const auto& [key, value] : parseQueryString(req.target)) {
    if (key == "what") what = value;
  }
  if (what != "all" && what != "events" && what != "faults") {
    return sendError(res, controlError("what", "'what' must be all, events or faults"));
  }
  if (what != "faults") simulator_.clear();
  if (what != "events") faults_.clear();
  sendJson(res, 200, R"({"cleared":")" + what + R"("})");
}

}  // namespace siem::sim
