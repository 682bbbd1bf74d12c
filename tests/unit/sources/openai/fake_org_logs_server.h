// A tiny in-test stand-in for the seed variant, GET /v1/organization_logs (insertion order, oldest
// first whatever `order` says; limit 1-100 default 20; after=<id>, 400 for an unknown one;
// has_more/first_id/last_id) and
// GET /v1/organization_logs/{id} (404 with an error body when unknown). Bearer auth. Canned
// responses can be queued for the next requests, and a hook can answer any request instead.
// Runs on a free loopback port.
#pragma once

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace siem::testing {

// A seed-shaped organization log.
inline std::string orgLogJson(const std::string& id, std::int64_t created_at,
                              const std::string& event) {
  const bool failed = event.size() > 7 && event.substr(event.size() - 7) == ".failed";
  return fmt::format(
      R"({{"id":"{}","object":"organization.log","event":"{}","created_at":{},"success":{},)"
      R"("actor":{{"type":"user","id":"user-abc","name":"ann@example.com"}},)"
      R"("target":{{"type":"user","id":"user-xyz","name":null}}}})",
      id, event, created_at, failed ? "false" : "true");
}

class FakeOrgLogsServer {
 public:
  struct Canned {
    int status = 200;
    std::string body;
  };
  // Returns a body to answer 200 with instead of the normal listing, or nullopt.
  using Hook = std::function<std::optional<std::string>(const httplib::Request&)>;

  FakeOrgLogsServer() {
    server_.set_tcp_nodelay(true);
    server_.Get("/v1/organization_logs",
                [this](const httplib::Request& req, httplib::Response& res) { list(req, res); });
    server_.Get(R"(/v1/organization_logs/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) { get(req, res); });
  }
  ~FakeOrgLogsServer() { stop(); }

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

  void add(const std::string& id, std::int64_t created_at,
           const std::string& event = "user.added") {
    std::lock_guard lock(mutex_);
    events_.push_back(Stored{id, orgLogJson(id, created_at, event)});
  }
  void setKey(std::string key) {
    std::lock_guard lock(mutex_);
    key_ = std::move(key);
  }
  void push(Canned canned) {
    std::lock_guard lock(mutex_);
    canned_.push_back(std::move(canned));
  }
  void setHook(Hook hook) {
    std::lock_guard lock(mutex_);
    hook_ = std::move(hook);
  }
  // Targets (path and query as sent) of every request so far.
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t requestCount() const {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }

  // The normal listing for `after` (nullopt: from the start); for hooks, which run with the
  // server's lock held (do not call it from elsewhere).
  std::string page(const std::optional<std::string>& after, std::size_t limit) const {
    std::size_t from = 0;
    if (after) {
      auto it = std::find_if(events_.begin(), events_.end(),
                             [&](const Stored& e) { return e.id == *after; });
      from =
          it == events_.end() ? events_.size() : static_cast<std::size_t>(it - events_.begin()) + 1;
    }
    const std::size_t to = std::min(events_.size(), from + limit);
    std::string body = R"({"object":"list","data":[)";
    for (std::size_t i = from; i < to; ++i) {
      if (i > from) body.append(",");
      body.append(events_[i].json);
    }
    body.append("],");
    if (to > from) {
      body.append(
          fmt::format(R"("first_id":"{}","last_id":"{}",)", events_[from].id, events_[to - 1].id));
    } else {
      body.append(R"("first_id":null,"last_id":null,)");
    }
    body.append(fmt::format(R"("has_more":{}}})", to < events_.size() ? "true" : "false"));
    return body;
  }

 private:
  struct Stored {
    std::string id;
    std::string json;
  };

  bool refuse(const httplib::Request& req, httplib::Response& res) {
    requests_.push_back(req.target);
    if (!canned_.empty()) {
      Canned c = std::move(canned_.front());
      canned_.pop_front();
      res.status = c.status;
      res.set_content(c.body, "application/json");
      return true;
    }
    if (req.get_header_value("Authorization") != "Bearer " + key_) {
      res.status = 401;
      res.set_content(
          R"({"error":{"message":"Incorrect API key provided: sk-admin-****.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})",
          "application/json");
      return true;
    }
    return false;
  }

  void list(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    if (refuse(req, res)) return;
    if (hook_) {
      if (auto body = hook_(req)) {
        res.set_content(*body, "application/json");
        return;
      }
    }
    const std::size_t limit = req.has_param("limit")
                                  ? static_cast<std::size_t>(std::clamp(
                                        std::stoll(req.get_param_value("limit")), 1LL, 100LL))
                                  : 20;
    std::optional<std::string> after;
    if (req.has_param("after")) after = req.get_param_value("after");
    if (after && std::none_of(events_.begin(), events_.end(),
                              [&](const Stored& e) { return e.id == *after; })) {
      res.status = 400;
      res.set_content(
          R"({"error":{"message":"Invalid 'after': no such id.","type":"invalid_request_error","param":"after","code":"invalid_value"}})",
          "application/json");
      return;
    }
    res.set_content(page(after, limit), "application/json");
  }

  void get(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    if (refuse(req, res)) return;
    const std::string id = req.matches[1];
    for (const Stored& e : events_) {
      if (e.id == id) {
        res.set_content(e.json, "application/json");
        return;
      }
    }
    res.status = 404;
    res.set_content(
        fmt::format(R"({{"error":{{"message":"No organization log found with id '{}'.",)"
                    R"("type":"invalid_request_error","param":"id","code":null}}}})",
                    id),
        "application/json");
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;  // guards everything below
  std::vector<Stored> events_;
  std::string key_ = "sk-admin-good";
  std::deque<Canned> canned_;
  Hook hook_;
  std::vector<std::string> requests_;
};

}  // namespace siem::testing
