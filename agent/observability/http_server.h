// The agent's own HTTP endpoints (DESIGN §7): GET /metrics, /healthz, /readyz. Serves on its own
// threads; nothing here blocks the pipeline.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "agent/api/result.h"
#include "agent/observability/metrics.h"

namespace httplib {
class Server;
}

namespace siem {

// Splits "host:port" (or "[v6-host]:port"; an empty host means every IPv4 interface) into its
// parts. The port must be 0..65535; 0 asks the kernel for a free one.
Result<std::pair<std::string, int>> parseListenAddress(std::string_view address);

class HttpServer {
 public:
  // Reasons the agent is not ready; empty means ready. Called on a server thread for every
  // GET /readyz, so it must be thread-safe and quick.
  using ReadinessCheck = std::function<std::vector<std::string>()>;

  // `metrics` must outlive the server.
  HttpServer(std::string address, Metrics& metrics, ReadinessCheck readiness);
  ~HttpServer();  // stops the server

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving. When it returns successfully the socket is listening and port() is
  // the bound port. Fails (naming the address) on a malformed address, a bind error, or a second
  // call.
  Result<void> start();
  // The bound port once started; 0 before.
  int port() const { return port_.load(); }
  // Stops accepting, finishes requests in progress and joins the server threads. Idempotent;
  // safe to call from any thread but not concurrently with start().
  void stop();

 private:
  void installRoutes();

  std::string address_;
  Metrics& metrics_;
  ReadinessCheck readiness_;
  std::unique_ptr<httplib::Server> server_;
  std::atomic<int> port_{0};
  std::atomic<bool> listener_exited_{false};
  std::jthread listener_;
};

}  // namespace siem
