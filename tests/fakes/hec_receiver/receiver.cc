#include "tests/fakes/hec_receiver/receiver.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <memory>
#include <thread>
#include <utility>

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include "agent/core/json_escape.h"

namespace siem::hec_fake {
namespace {

// Decoding stops (and the connection is closed) this far past the cap: a gzip bomb costs bounded
// CPU and no memory.
constexpr std::size_t kDrainSlack = 256u << 20;

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
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

std::string socketAddress(const sockaddr_storage& address, int& port) {
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

// cpp-httplib cannot abandon a request without answering, so the drop fault finds the request's
// socket among the process's descriptors by its address pair and shuts it down: the client sees
// the connection close with no response byte, as when a load balancer or indexer dies.
bool dropConnection(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return false;
  const std::unique_ptr<DIR, int (*)(DIR*)> closer(dir, &closedir);
  // readdir is safe here: the DIR stream is private to this call.
  while (const dirent* entry = readdir(dir)) {  // NOLINT(concurrency-mt-unsafe)
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
    if (socketAddress(local, local_port) == req.local_addr && local_port == req.local_port &&
        socketAddress(peer, peer_port) == req.remote_addr && peer_port == req.remote_port) {
      ::shutdown(socket_fd, SHUT_RDWR);
      return true;
    }
  }
  return false;
}

struct FaultName {
  std::string_view name;
  FaultKind kind;
};
constexpr FaultName kFaultNames[] = {
    {"busy", FaultKind::kBusy},      {"500", FaultKind::kInternalError},
    {"502", FaultKind::kBadGateway}, {"429", FaultKind::kTooManyRequests},
    {"413", FaultKind::kTooLarge},   {"invalid_event", FaultKind::kInvalidEvent},
    {"slow", FaultKind::kSlow},      {"drop_connection", FaultKind::kDropConnection},
};

void sendJson(httplib::Response& res, int status, const std::string& body) {
  res.status = status;
  res.set_content(body, "application/json");
}

void controlError(httplib::Response& res, std::string_view message) {
  std::string body = R"({"error":)";
  appendJsonString(body, message);
  body += '}';
  sendJson(res, 400, body);
}

// A JSON array of strings into `out`; false when it is something else.
bool readStringSet(simdjson::dom::element value, std::set<std::string>& out) {
  simdjson::dom::array array;
  if (value.get(array) != simdjson::SUCCESS) return false;
  std::set<std::string> items;
  for (auto item : array) {
    std::string_view text;
    if (item.get(text) != simdjson::SUCCESS) return false;
    items.emplace(text);
  }
  out = std::move(items);
  return true;
}

void appendStringOrNull(std::string& out, const std::string& value) {
  if (value.empty()) {
    out += "null";
  } else {
    appendJsonString(out, value);
  }
}

}  // namespace

HecReceiver::HecReceiver(ReceiverOptions options)
    : options_(std::move(options)), settings_(options_.settings) {}

void HecReceiver::install(httplib::Server& server) {
  // Bodies are read by the handlers themselves so the size cap applies to decoded bytes.
  server.set_payload_max_length(std::size_t{4} << 30);
  server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.path.starts_with("/_sim/") && !isLoopback(req.remote_addr)) {
      sendJson(res, 403, R"({"error":"the control API is served to loopback clients only"})");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    if (req.path.starts_with("/_sim/")) return;
    {
      std::lock_guard lock(mutex_);
      ++requests_total_;
      ++requests_by_status_[res.status];
    }
    if (options_.verbose) {
      spdlog::info("{} {} -> {} ({} bytes in)", req.method, req.path, res.status,
                   req.get_header_value("Content-Length"));
    }
  });

  for (const char* path :
       {"/services/collector", "/services/collector/event", "/services/collector/event/1.0"}) {
    server.Post(path, [this](const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader) {
      handleEvent(req, res, reader, false);
    });
  }
  for (const char* path : {"/services/collector/raw", "/services/collector/raw/1.0"}) {
    server.Post(path, [this](const httplib::Request& req, httplib::Response& res,
                             const httplib::ContentReader& reader) {
      handleEvent(req, res, reader, true);
    });
  }
  server.Post("/services/collector/ack",
              [this](const httplib::Request& req, httplib::Response& res,
                     const httplib::ContentReader& reader) { handleAck(req, res, reader); });
  for (const char* path : {"/services/collector/health", "/services/collector/health/1.0"}) {
    server.Get(path, [this](const httplib::Request& req, httplib::Response& res) {
      handleHealth(req, res);
    });
  }

  server.Get("/_sim/events", [this](const httplib::Request& req, httplib::Response& res) {
    controlEvents(req, res);
  });
  server.Get("/_sim/stats",
             [this](const httplib::Request&, httplib::Response& res) { controlStats(res); });
  server.Post("/_sim/fault", [this](const httplib::Request& req, httplib::Response& res) {
    controlFault(req, res);
  });
  server.Delete("/_sim/fault", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    faults_.clear();
    lost_ack_budget_ = 0;
    sendJson(res, 200, R"({"faults_pending":0})");
  });
  server.Post("/_sim/settings", [this](const httplib::Request& req, httplib::Response& res) {
    controlSettings(req, res);
  });
  server.Post("/_sim/clear", [this](const httplib::Request&, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    events_.clear();
    sendJson(res, 200, R"({"cleared":true})");
  });
}

// Holds a workspace from the pool for one request and gives it back afterwards.
class HecReceiver::WorkspaceLease {
 public:
  explicit WorkspaceLease(HecReceiver& owner) : owner_(owner) {
    {
      std::lock_guard lock(owner_.pool_mutex_);
      if (!owner_.pool_.empty()) {
        workspace_ = std::move(owner_.pool_.back());
        owner_.pool_.pop_back();
      }
    }
    if (!workspace_) workspace_ = std::make_unique<Workspace>();
  }
  ~WorkspaceLease() {
    // A body far above the usual size does not keep its memory once answered.
    constexpr std::size_t kKeepBytes = std::size_t{64} << 20;
    if (workspace_->wire.capacity() > kKeepBytes) workspace_->wire = std::string();
    if (workspace_->decoded.capacity() > kKeepBytes) workspace_->decoded = std::string();
    std::lock_guard lock(owner_.pool_mutex_);
    owner_.pool_.push_back(std::move(workspace_));
  }
  WorkspaceLease(const WorkspaceLease&) = delete;
  WorkspaceLease& operator=(const WorkspaceLease&) = delete;

  Workspace* operator->() const { return workspace_.get(); }

 private:
  HecReceiver& owner_;
  std::unique_ptr<Workspace> workspace_;
};

bool HecReceiver::readWireBody(const httplib::Request& req, const httplib::ContentReader& reader,
                               std::size_t cap, std::string& out, std::size_t& seen) {
  out.clear();
  seen = 0;
  bool too_large = false;
  if (auto announced = parseInt(req.get_header_value("Content-Length")); announced) {
    if (static_cast<std::size_t>(*announced) > cap) {
      too_large = true;
    } else {
      out.reserve(static_cast<std::size_t>(*announced) + EventParser::kPadding);
    }
  }
  // Over the cap, the rest is drained and discarded so the client still reads the 413.
  reader([&](const char* data, std::size_t size) {
    seen += size;
    if (seen > cap) {
      too_large = true;
      out.clear();
      out.shrink_to_fit();
      return seen <= cap + kDrainSlack;
    }
    if (!too_large) out.append(data, size);
    return true;
  });
  return !too_large;
}

HecReceiver::Body HecReceiver::readBody(const httplib::Request& req,
                                        const httplib::ContentReader& reader) {
  std::size_t cap = 0;
  {
    std::lock_guard lock(mutex_);
    cap = settings_.max_content_length;
  }
  Body body;
  std::size_t seen = 0;
  body.too_large = !readWireBody(req, reader, cap, body.text, seen);
  std::lock_guard lock(mutex_);
  body_bytes_ += seen;
  if (auto announced = parseInt(req.get_header_value("Content-Length"))) {
    wire_bytes_ += static_cast<std::uint64_t>(*announced);
  }
  return body;
}

std::optional<int> HecReceiver::authorize(const httplib::Request& req) {
  const std::string header = req.get_header_value("Authorization");
  if (header.empty()) {
    // Query-string tokens are off, as on a default HEC token.
    return req.has_param("token") ? kQueryStringAuthDisabled : kTokenRequired;
  }
  constexpr std::string_view kScheme = "splunk ";
  if (header.size() <= kScheme.size() || lower(header.substr(0, kScheme.size())) != kScheme) {
    return kInvalidAuthorization;
  }
  const std::string token(trim(std::string_view(header).substr(kScheme.size())));
  std::lock_guard lock(mutex_);
  if (settings_.disabled_tokens.count(token) != 0) return kTokenDisabled;
  if (settings_.tokens.count(token) == 0) return kInvalidToken;
  return std::nullopt;
}

std::string HecReceiver::channelOf(const httplib::Request& req) {
  std::string channel = req.get_header_value("X-Splunk-Request-Channel");
  if (channel.empty() && req.has_param("channel")) channel = req.get_param_value("channel");
  return channel;
}

void HecReceiver::reply(httplib::Response& res, const HecReply& reply, int http_status) {
  {
    std::lock_guard lock(mutex_);
    ++replies_by_code_[reply.code];
  }
  sendJson(res, http_status != 0 ? http_status : hecHttpStatus(reply.code), renderReply(reply));
}

std::optional<Fault> HecReceiver::takeFault() {
  std::lock_guard lock(mutex_);
  if (faults_.empty()) return std::nullopt;
  Fault unit = faults_.front();
  if (faults_.front().count > 0 && --faults_.front().count == 0) faults_.pop_front();
  ++faults_served_;
  return unit;
}

std::optional<std::uint64_t> HecReceiver::index(const std::vector<std::string_view>& envelopes,
                                                std::vector<IndexedEvent>&& raw_events,
                                                std::size_t count, const std::string& channel,
                                                std::uint64_t request, bool complete) {
  std::lock_guard lock(mutex_);
  std::optional<std::uint64_t> ack_id;
  bool lost = false;
  // Only a fully accepted request gets an ack id; a partial one is answered with an error.
  if (settings_.ack && complete && count > 0) {
    Channel& ch = channels_[channel];
    ack_id = ch.next_ack_id++;
    PendingAck pending{Clock::now() + std::chrono::milliseconds(settings_.ack_delay_ms), false};
    if (lost_ack_budget_ > 0) {
      --lost_ack_budget_;
      pending.lost = true;
      lost = true;
      ++acks_lost_;
    }
    ch.pending.emplace(*ack_id, pending);
    ++acks_issued_;
  }
  events_total_ += count;
  if (options_.record_events) {
    for (std::size_t i = 0; i < count && i < envelopes.size(); ++i) {
      events_.push_back(Recorded{std::string(envelopes[i]), {}, channel, ack_id, lost, request});
    }
    for (std::size_t i = 0; i < count && i < raw_events.size(); ++i) {
      events_.push_back(Recorded{{}, std::move(raw_events[i]), channel, ack_id, lost, request});
    }
  }
  return ack_id;
}

void HecReceiver::handleEvent(const httplib::Request& req, httplib::Response& res,
                              const httplib::ContentReader& reader, bool raw) {
  const std::string encoding = lower(trim(req.get_header_value("Content-Encoding")));
  // The body is decoded here rather than by cpp-httplib (zlib, 16 KiB at a time, a callback per
  // piece): into reused storage, with the cap on the decoded size. cpp-httplib decodes whenever
  // the request names an encoding, so the header is taken away before the body is read; the
  // request is the server's own mutable object, handed to handlers as const.
  if (req.has_header("Content-Encoding")) {
    const_cast<httplib::Request&>(req).headers.erase("Content-Encoding");
  }
  WorkspaceLease workspace(*this);
  std::size_t cap = 0;
  {
    std::lock_guard lock(mutex_);
    cap = settings_.max_content_length;
  }
  std::size_t seen = 0;
  bool too_large = !readWireBody(req, reader, cap, workspace->wire, seen);
  bool corrupt = false;
  std::string_view body;  // followed by EventParser::kPadding readable bytes
  std::size_t decoded_bytes = seen;
  if (!too_large && encoding == "gzip") {
    std::size_t size = 0;
    const GunzipStatus status = workspace->gunzip.decode(
        workspace->wire, cap, EventParser::kPadding, workspace->decoded, size);
    too_large = status == GunzipStatus::kTooLarge;
    corrupt = status == GunzipStatus::kInvalid || status == GunzipStatus::kTruncated;
    if (status == GunzipStatus::kOk) body = std::string_view(workspace->decoded.data(), size);
    decoded_bytes = size;
  } else if (!too_large) {
    const std::size_t size = workspace->wire.size();
    workspace->wire.append(EventParser::kPadding, ' ');
    body = std::string_view(workspace->wire.data(), size);
  }
  std::uint64_t request = 0;
  {
    std::lock_guard lock(mutex_);
    body_bytes_ += decoded_bytes;
    if (auto announced = parseInt(req.get_header_value("Content-Length"))) {
      wire_bytes_ += static_cast<std::uint64_t>(*announced);
    }
    request = ++event_requests_;
    if (encoding == "gzip") ++gzip_requests_;
  }
  if (too_large) {
    res.set_header("Connection", "close");
    sendJson(res, 413, R"({"text":"Content-Length exceeds max_content_length"})");
    return;
  }
  if (auto code = authorize(req)) return reply(res, codeReply(*code));
  // HEC decodes gzip only; cpp-httplib would also have undone deflate and br.
  if (!encoding.empty() && encoding != "gzip") {
    sendJson(res, 415, R"({"text":"Unsupported Content-Encoding"})");
    return;
  }
  const std::string channel = channelOf(req);
  bool ack = false;
  {
    std::lock_guard lock(mutex_);
    ack = settings_.ack;
    if (!channel.empty()) channels_seen_.insert(channel);
  }
  if (!channel.empty() && !isGuid(channel)) return reply(res, codeReply(kInvalidChannel));
  if (ack && channel.empty()) return reply(res, codeReply(kChannelMissing));

  std::optional<Fault> fault = takeFault();
  if (fault) {
    switch (fault->kind) {
      case FaultKind::kSlow:
        std::this_thread::sleep_for(std::chrono::milliseconds(fault->delay_ms));
        fault.reset();
        break;
      case FaultKind::kDropConnection:
        if (!dropConnection(req)) spdlog::warn("drop_connection: request socket not found");
        res.status = 500;
        return;
      case FaultKind::kTooManyRequests:
        if (fault->retry_after_secs) {
          res.set_header("Retry-After", std::to_string(*fault->retry_after_secs));
        }
        res.status = 429;
        res.set_content("Too Many Requests\n", "text/plain");
        return;
      case FaultKind::kBadGateway:
        res.status = 502;
        res.set_content("<html><body>502 Bad Gateway</body></html>\n", "text/html");
        return;
      case FaultKind::kInternalError:
        return reply(res, codeReply(kInternalError));
      case FaultKind::kTooLarge:
        sendJson(res, 413, R"({"text":"Content-Length exceeds max_content_length"})");
        return;
      case FaultKind::kBusy:
        if (!fault->invalid_event_number) return reply(res, codeReply(kServerBusy));
        break;
      case FaultKind::kInvalidEvent:
        break;
    }
  }

  ParseResult parsed;
  std::vector<IndexedEvent> raw_events;
  if (corrupt) {
    // An undecodable body fails at its first event, as unparsable JSON would.
    parsed.error_code = kInvalidDataFormat;
  } else if (trim(body).empty()) {
    return reply(res, codeReply(kNoData));
  } else if (raw) {
    // Raw: every non-empty line is one event; metadata comes from the query string.
    std::string_view rest = body;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      const std::string_view line = trim(rest.substr(0, nl));
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      if (line.empty()) continue;
      IndexedEvent event;
      event.event = jsonString(line);
      event.host = req.get_param_value("host");
      event.source = req.get_param_value("source");
      event.sourcetype = req.get_param_value("sourcetype");
      event.index = req.get_param_value("index");
      if (options_.record_events) raw_events.push_back(std::move(event));
      ++parsed.accepted;
    }
  } else {
    std::set<std::string> allowed;
    {
      std::lock_guard lock(mutex_);
      allowed = settings_.allowed_indexes;
    }
    parsed = workspace->parser.parse(body, ParseOptions{&allowed, options_.record_events});
  }

  // A partial fault cuts the batch where it says (never past a real error or the last event),
  // keeping the events before the cut, as HEC does when it stops midway.
  if (fault && (fault->kind == FaultKind::kBusy || fault->kind == FaultKind::kInvalidEvent)) {
    const std::size_t limit = fault->kind == FaultKind::kBusy || parsed.accepted == 0
                                  ? parsed.accepted
                                  : parsed.accepted - 1;
    parsed.accepted = std::min(*fault->invalid_event_number, limit);
    parsed.error_code = fault->kind == FaultKind::kBusy ? kServerBusy : kInvalidDataFormat;
  }
  if (parsed.error_code) {
    index(parsed.envelopes, std::move(raw_events), parsed.accepted, channel, request, false);
    return reply(res, HecReply{*parsed.error_code, std::nullopt, parsed.accepted});
  }
  if (ack) {
    bool full = false;
    {
      std::lock_guard lock(mutex_);
      full = channels_[channel].pending.size() >= options_.max_pending_acks_per_channel;
    }
    // Splunk's per-channel bound on unqueried acks: busy, nothing indexed.
    if (full) return reply(res, codeReply(kServerBusy));
  }
  const auto ack_id =
      index(parsed.envelopes, std::move(raw_events), parsed.accepted, channel, request, true);
  reply(res, HecReply{kSuccess, ack_id, std::nullopt});
}

void HecReceiver::handleAck(const httplib::Request& req, httplib::Response& res,
                            const httplib::ContentReader& reader) {
  Body body = readBody(req, reader);
  bool ack = false;
  {
    std::lock_guard lock(mutex_);
    ++ack_requests_;
    ack = settings_.ack;
  }
  if (auto code = authorize(req)) return reply(res, codeReply(*code));
  if (!ack) return reply(res, codeReply(kAckDisabled));
  const std::string channel = channelOf(req);
  if (channel.empty()) return reply(res, codeReply(kChannelMissing));
  if (!isGuid(channel)) return reply(res, codeReply(kInvalidChannel));

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array ids;
  if (body.too_large || parser.parse(body.text).get(root) != simdjson::SUCCESS ||
      root["acks"].get(ids) != simdjson::SUCCESS) {
    return reply(res, codeReply(kInvalidDataFormat));
  }
  std::string out = R"({"acks":{)";
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  auto ch = channels_.find(channel);
  bool first = true;
  for (auto item : ids) {
    std::uint64_t id = 0;
    if (item.get(id) != simdjson::SUCCESS) continue;
    bool done = false;
    if (ch != channels_.end()) {
      auto it = ch->second.pending.find(id);
      // An id is reported true once, then forgotten; unknown ids are false.
      if (it != ch->second.pending.end() && !it->second.lost && now >= it->second.ready_at) {
        done = true;
        ch->second.pending.erase(it);
        ++acks_confirmed_;
      }
    }
    if (!first) out += ',';
    first = false;
    out += '"';
    out += std::to_string(id);
    out += R"(":)";
    out += done ? "true" : "false";
  }
  out += "}}";
  sendJson(res, 200, out);
}

void HecReceiver::handleHealth(const httplib::Request& req, httplib::Response& res) {
  int code = kHealthy;
  {
    std::lock_guard lock(mutex_);
    ++health_requests_;
    code = settings_.health_code;
  }
  // A token, when given, is checked: the health endpoint has its own codes for bad ones.
  if (!req.get_header_value("Authorization").empty()) {
    if (auto problem = authorize(req)) {
      if (*problem == kTokenDisabled) return reply(res, codeReply(kHealthTokenDisabled));
      return reply(res, codeReply(kHealthInvalidToken));
    }
  }
  reply(res, codeReply(code));
}

void HecReceiver::controlEvents(const httplib::Request& req, httplib::Response& res) {
  std::size_t offset = 0;
  std::size_t limit = SIZE_MAX;
  for (const auto& [key, target] :
       {std::pair<const char*, std::size_t*>{"offset", &offset}, {"limit", &limit}}) {
    if (!req.has_param(key)) continue;
    auto n = parseInt(req.get_param_value(key));
    if (!n || *n < 0) return controlError(res, std::string(key) + " must be an integer >= 0");
    *target = static_cast<std::size_t>(*n);
  }
  std::string out;
  WorkspaceLease workspace(*this);
  std::lock_guard lock(mutex_);
  for (std::size_t i = offset; i < events_.size() && i - offset < limit; ++i) {
    const Recorded& recorded = events_[i];
    const IndexedEvent described =
        recorded.envelope.empty() ? IndexedEvent{} : workspace->parser.describe(recorded.envelope);
    const IndexedEvent& event = recorded.envelope.empty() ? recorded.event : described;
    out += R"({"seq":)";
    out += std::to_string(i);
    out += R"(,"request":)";
    out += std::to_string(recorded.request);
    out += R"(,"channel":)";
    appendStringOrNull(out, recorded.channel);
    out += R"(,"ack_id":)";
    out += recorded.ack_id ? std::to_string(*recorded.ack_id) : "null";
    out += R"(,"ack_lost":)";
    out += recorded.ack_lost ? "true" : "false";
    out += R"(,"time":)";
    out += event.time.empty() ? "null" : event.time;
    out += R"(,"host":)";
    appendStringOrNull(out, event.host);
    out += R"(,"source":)";
    appendStringOrNull(out, event.source);
    out += R"(,"sourcetype":)";
    appendStringOrNull(out, event.sourcetype);
    out += R"(,"index":)";
    appendStringOrNull(out, event.index);
    out += R"(,"fields":)";
    out += event.fields.empty() ? "null" : event.fields;
    out += R"(,"event":)";
    out += event.event;
    out += "}\n";
  }
  res.status = 200;
  res.set_content(out, "application/x-ndjson");
}

void HecReceiver::controlStats(httplib::Response& res) {
  std::lock_guard lock(mutex_);
  std::size_t pending = 0;
  for (const auto& [name, ch] : channels_) pending += ch.pending.size();
  std::size_t faults_pending = 0;
  for (const Fault& f : faults_) faults_pending += f.count;
  auto counts = [](const std::map<int, std::uint64_t>& m) {
    std::string out = "{";
    for (const auto& [k, v] : m) {
      if (out.size() > 1) out += ',';
      out += '"' + std::to_string(k) + "\":" + std::to_string(v);
    }
    return out + "}";
  };
  std::string out = "{";
  out += R"("requests_total":)" + std::to_string(requests_total_);
  out += R"(,"requests_by_status":)" + counts(requests_by_status_);
  out += R"(,"replies_by_code":)" + counts(replies_by_code_);
  out += R"(,"event_requests_total":)" + std::to_string(event_requests_);
  out += R"(,"gzip_requests_total":)" + std::to_string(gzip_requests_);
  out += R"(,"body_bytes_total":)" + std::to_string(body_bytes_);
  out += R"(,"wire_bytes_total":)" + std::to_string(wire_bytes_);
  out += R"(,"events_total":)" + std::to_string(events_total_);
  out += R"(,"events_recorded":)" + std::to_string(events_.size());
  out += R"(,"ack_requests_total":)" + std::to_string(ack_requests_);
  out += R"(,"acks_issued_total":)" + std::to_string(acks_issued_);
  out += R"(,"acks_confirmed_total":)" + std::to_string(acks_confirmed_);
  out += R"(,"acks_lost_total":)" + std::to_string(acks_lost_);
  out += R"(,"acks_pending":)" + std::to_string(pending);
  out += R"(,"health_requests_total":)" + std::to_string(health_requests_);
  out += R"(,"faults_served_total":)" + std::to_string(faults_served_);
  out += R"(,"faults_pending":)" + std::to_string(faults_pending);
  out += R"(,"lost_ack_budget":)" + std::to_string(lost_ack_budget_);
  out += R"(,"channels":[)";
  bool first = true;
  for (const auto& channel : channels_seen_) {
    if (!first) out += ',';
    first = false;
    appendJsonString(out, channel);
  }
  out += "]}";
  sendJson(res, 200, out);
}

void HecReceiver::controlFault(const httplib::Request& req, httplib::Response& res) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object object;
  if (parser.parse(req.body).get(root) != simdjson::SUCCESS ||
      root.get(object) != simdjson::SUCCESS) {
    return controlError(res, "body must be a JSON object");
  }
  Fault fault;
  std::string_view kind_name;
  std::int64_t count = 1;
  for (auto [key, value] : object) {
    std::int64_t n = 0;
    const bool integer = value.get(n) == simdjson::SUCCESS && n >= 0;
    if (key == "kind") {
      if (value.get(kind_name) != simdjson::SUCCESS) return controlError(res, "kind: a string");
    } else if (key == "count" && integer) {
      count = n;
    } else if (key == "invalid_event_number" && integer) {
      fault.invalid_event_number = static_cast<std::size_t>(n);
    } else if (key == "retry_after_secs" && integer) {
      fault.retry_after_secs = n;
    } else if (key == "delay_ms" && integer) {
      fault.delay_ms = n;
    } else {
      return controlError(res, "unknown field or not an integer >= 0: " + std::string(key));
    }
  }
  std::lock_guard lock(mutex_);
  if (kind_name == "lose_acks") {
    if (count == 0) return controlError(res, "lose_acks needs count >= 1");
    lost_ack_budget_ += static_cast<std::uint64_t>(count);
    sendJson(res, 200, R"({"lost_ack_budget":)" + std::to_string(lost_ack_budget_) + "}");
    return;
  }
  bool known = false;
  for (const auto& [name, kind] : kFaultNames) {
    if (name == kind_name) {
      fault.kind = kind;
      known = true;
    }
  }
  if (!known) return controlError(res, "unknown fault kind: " + std::string(kind_name));
  if (fault.kind == FaultKind::kInvalidEvent && !fault.invalid_event_number) {
    return controlError(res, "invalid_event needs invalid_event_number");
  }
  fault.count = static_cast<std::uint32_t>(count);
  faults_.push_back(fault);
  sendJson(res, 200, R"({"faults_queued":)" + std::to_string(faults_.size()) + "}");
}

void HecReceiver::controlSettings(const httplib::Request& req, httplib::Response& res) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::object object;
  if (parser.parse(req.body).get(root) != simdjson::SUCCESS ||
      root.get(object) != simdjson::SUCCESS) {
    return controlError(res, "body must be a JSON object");
  }
  std::lock_guard lock(mutex_);
  ReceiverSettings next = settings_;
  for (auto [key, value] : object) {
    std::int64_t n = 0;
    bool flag = false;
    bool ok = true;
    if (key == "tokens") {
      ok = readStringSet(value, next.tokens);
    } else if (key == "disabled_tokens") {
      ok = readStringSet(value, next.disabled_tokens);
    } else if (key == "allowed_indexes") {
      ok = readStringSet(value, next.allowed_indexes);
    } else if (key == "ack") {
      ok = value.get(flag) == simdjson::SUCCESS;
      next.ack = flag;
    } else if (key == "max_content_length") {
      ok = value.get(n) == simdjson::SUCCESS && n > 0;
      next.max_content_length = static_cast<std::size_t>(n);
    } else if (key == "health_code") {
      ok = value.get(n) == simdjson::SUCCESS && n >= kHealthy &&
           n <= kUnhealthyQueuesFullAckUnavailable;
      next.health_code = static_cast<int>(n);
    } else if (key == "ack_delay_ms") {
      ok = value.get(n) == simdjson::SUCCESS && n >= 0;
      next.ack_delay_ms = n;
    } else {
      return controlError(res, "unknown setting: " + std::string(key));
    }
    if (!ok) return controlError(res, "bad value for " + std::string(key));
  }
  settings_ = std::move(next);
  sendJson(res, 200, R"({"updated":true})");
}

}  // namespace siem::hec_fake
