// A tiny in-test stand-in for GET /v1/organization/audit_logs with the real API's semantics:
// admin-key bearer auth, effective_at[gte|gt|lt|lte] filters, event_types[] filter, newest first,
// limit (1-100, default 20), after=<id> pagination with has_more/first_id/last_id. Faults can be
// queued for the next requests. Runs on a free loopback port.
#pragma once

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace siem::testing {

struct FakeAuditEvent {
  std::string id;
  std::int64_t effective_at;
  std::string type;
  std::string json;
};

// A realistic audit-log object: alternating session and service-account actors, a project, and the
// payload under the type's key.
inline std::string auditEventJson(const std::string& id, std::int64_t effective_at,
                                  const std::string& type, int variant) {
  std::string actor =
      variant % 2 == 0
          ? R"({"type":"session","session":{"user":{"id":"user-abc123","email":"ann@example.com"},)"
            R"js("ip_address":"203.0.113.7","user_agent":"Mozilla/5.0 (X11; Linux x86_64)",)js"
            R"("ja3":"a497151ce4338a12c4418c44d375173e","ip_address_details":{"country":"US",)"
            R"("city":"San Francisco","region":"California","region_code":"CA","asn":"1234",)"
            R"("latitude":"37.77490","longitude":"-122.41940"}}})"
          : R"({"type":"api_key","api_key":{"id":"key_tracking_42","type":"service_account",)"
            R"("service_account":{"id":"svc_acct_7"}}})";
  return fmt::format(
      R"({{"id":"{}","type":"{}","effective_at":{},"project":{{"id":"proj_{}","name":"Project {}"}},)"
      R"("actor":{},"{}":{{"id":"res_{}","data":{{"scopes":["api.model.request"],"name":"n{}"}}}}}})",
      id, type, effective_at, variant % 5, variant % 5, actor, type, variant, variant);
}

class FakeAuditServer {
 public:
  struct Fault {
    int status = 500;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
  };

  FakeAuditServer() {
    server_.set_tcp_nodelay(true);
    server_.Get("/v1/organization/audit_logs",
                [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); });
  }
  ~FakeAuditServer() { stop(); }

  void start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  void stop() {
    if (!thread_.joinable()) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    server_.stop();
    thread_.join();
  }
  std::string baseUrl() const { return fmt::format("http://127.0.0.1:{}/v1", port_); }

  void addEvent(const std::string& id, std::int64_t effective_at,
                const std::string& type = "user.added") {
    std::lock_guard lock(mutex_);
    events_.push_back(
        FakeAuditEvent{id, effective_at, type,
                       auditEventJson(id, effective_at, type, static_cast<int>(events_.size()))});
  }
  void setKey(std::string key) {
    std::lock_guard lock(mutex_);
    key_ = std::move(key);
  }
  // Accepts `key` as well as the current one (a rotation in progress).
  void alsoAccept(std::string key) {
    std::lock_guard lock(mutex_);
    second_key_ = std::move(key);
  }
  void pushFault(Fault fault) {
    std::lock_guard lock(mutex_);
    faults_.push_back(std::move(fault));
  }
  // Query strings (as sent, before decoding) of every request so far.
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::vector<httplib::Headers> requestHeaders() const {
    std::lock_guard lock(mutex_);
    return headers_;
  }

 private:
  void handle(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    requests_.push_back(req.target);
    headers_.push_back(req.headers);
    if (!faults_.empty()) {
      Fault f = std::move(faults_.front());
      faults_.pop_front();
      res.status = f.status;
      for (auto& [k, v] : f.headers) res.set_header(k, v);
      res.set_content(f.body, "application/json");
      return;
    }
    const std::string auth = req.get_header_value("Authorization");
    if (auth != "Bearer " + key_ && (second_key_.empty() || auth != "Bearer " + second_key_)) {
      res.status = 401;
      res.set_content(
          R"({"error":{"message":"Incorrect API key provided: sk-admin-****. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})",
          "application/json");
      return;
    }
    auto num = [&](const char* name, std::int64_t fallback) {
      return req.has_param(name) ? std::stoll(req.get_param_value(name)) : fallback;
    };
    const std::int64_t gte = num("effective_at[gte]", INT64_MIN);
    const std::int64_t gt = num("effective_at[gt]", INT64_MIN);
    const std::int64_t lt = num("effective_at[lt]", INT64_MAX);
    const std::int64_t lte = num("effective_at[lte]", INT64_MAX);
    const std::int64_t limit = std::clamp<std::int64_t>(num("limit", 20), 1, 100);
    std::vector<std::string> types;
    for (std::size_t i = 0; i < req.get_param_value_count("event_types[]"); ++i) {
      types.push_back(req.get_param_value("event_types[]", i));
    }
    std::vector<const FakeAuditEvent*> match;
    for (const auto& e : events_) {
      if (e.effective_at < gte || e.effective_at <= gt || e.effective_at >= lt ||
          e.effective_at > lte) {
        continue;
      }
      if (!types.empty() && std::find(types.begin(), types.end(), e.type) == types.end()) continue;
      match.push_back(&e);
    }
    std::sort(match.begin(), match.end(), [](const auto* a, const auto* b) {
      return a->effective_at != b->effective_at ? a->effective_at > b->effective_at : a->id > b->id;
    });
    std::size_t from = 0;
    if (req.has_param("after")) {
      const std::string after = req.get_param_value("after");
      auto it = std::find_if(match.begin(), match.end(), [&](auto* e) { return e->id == after; });
      from = it == match.end() ? match.size() : static_cast<std::size_t>(it - match.begin()) + 1;
    }
    const std::size_t to = std::min(match.size(), from + static_cast<std::size_t>(limit));
    std::string body = R"({"object":"list","data":[)";
    for (std::size_t i = from; i < to; ++i) {
      if (i > from) body.append(",");
      body.append(match[i]->json);
    }
    body.append("],");
    if (to > from) {
      body.append(
          fmt::format(R"("first_id":"{}","last_id":"{}",)", match[from]->id, match[to - 1]->id));
    } else {
      body.append(R"("first_id":null,"last_id":null,)");
    }
    body.append(fmt::format(R"("has_more":{}}})", to < match.size() ? "true" : "false"));
    res.set_header("x-request-id", fmt::format("req_{}", requests_.size()));
    res.set_content(body, "application/json");
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;  // guards everything below
  std::vector<FakeAuditEvent> events_;
  std::string key_ = "sk-admin-good";
  std::string second_key_;
  std::deque<Fault> faults_;
  std::vector<std::string> requests_;
  std::vector<httplib::Headers> headers_;
};

}  // namespace siem::testing
