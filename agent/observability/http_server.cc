#include "agent/observability/http_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <exception>
#include <system_error>

#include "agent/core/json_escape.h"

namespace siem {
namespace {

constexpr int kWorkerThreads = 4;
constexpr time_t kIoTimeoutSecs = 5;
// Short so stop() does not wait long on an idle keep-alive connection; scrapes are seconds apart
// anyway, so keep-alive saves nothing.
constexpr time_t kKeepAliveTimeoutSecs = 1;
constexpr std::size_t kMaxRequestBodyBytes = std::size_t{64} * 1024;
constexpr auto kStartTimeout = std::chrono::seconds(5);

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";
constexpr const char* kJsonContentType = "application/json";
constexpr const char* kTextContentType = "text/plain; charset=utf-8";

bool isKnownPath(const std::string& path) {
  return path == "/metrics" || path == "/healthz" || path == "/readyz";
}

std::string readinessBody(const std::vector<std::string>& reasons) {
  if (reasons.empty()) return R"({"status":"ready"})";
  std::string body = R"({"status":"not ready","reasons":[)";
  for (std::size_t i = 0; i < reasons.size(); ++i) {
    if (i > 0) body.push_back(',');
    appendJsonString(body, reasons[i]);
  }
  body.append("]}");
  return body;
}

}  // namespace

Result<std::pair<std::string, int>> parseListenAddress(std::string_view address) {
  const auto invalid = [&](std::string_view why) {
    return fail("invalid listen address '" + std::string(address) + "': " + std::string(why));
  };
  std::string host;
  std::string_view port_text;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return invalid("expected [host]:port");
    }
    host = std::string(address.substr(1, close - 1));
    port_text = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos) return invalid("expected host:port");
    host = std::string(address.substr(0, colon));
    if (host.find(':') != std::string::npos) {
      return invalid("put an IPv6 host in brackets, as in [::1]:9598");
    }
    port_text = address.substr(colon + 1);
  }
  if (host.empty()) host = "0.0.0.0";
  int port = -1;
  const auto [end, ec] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
      port < 0 || port > 65535) {
    return invalid("the port must be a number from 0 to 65535");
  }
  return std::make_pair(std::move(host), port);
}

HttpServer::HttpServer(std::string address, Metrics& metrics, ReadinessCheck readiness)
    : address_(std::move(address)),
      metrics_(metrics),
      readiness_(std::move(readiness)),
      server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::installRoutes() {
  httplib::Server& server = *server_;
  // Every method but GET (and the HEAD httplib derives from it) is refused before routing, so
  // the answer is the same whatever the method.
  server.set_pre_routing_handler([](const httplib::Request& request, httplib::Response& response) {
    if (request.method == "GET" || request.method == "HEAD") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    if (isKnownPath(request.path)) {
      response.status = 405;
      response.set_header("Allow", "GET, HEAD");
      response.set_content("method not allowed\n", kTextContentType);
    } else {
      response.status = 404;
      response.set_content("not found\n", kTextContentType);
    }
    return httplib::Server::HandlerResponse::Handled;
  });
  server.set_error_handler([](const httplib::Request&, httplib::Response& response) {
    if (response.status == 404 && response.body.empty()) {
      response.set_content("not found\n", kTextContentType);
    }
  });
  // httplib would otherwise put the exception text in a response header.
  server.set_exception_handler(
      [](const httplib::Request& request, httplib::Response& response, std::exception_ptr error) {
        try {
          std::rethrow_exception(std::move(error));
        } catch (const std::exception& e) {
          spdlog::error("http server: {} {} failed: {}", request.method, request.path, e.what());
        } catch (...) {
          spdlog::error("http server: {} {} failed", request.method, request.path);
        }
        response.status = 500;
        response.set_content("internal error\n", kTextContentType);
      });

  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics_.serialize(), kMetricsContentType);
  });
  server.Get("/healthz", [](const httplib::Request&, httplib::Response& response) {
    response.set_content("ok", kTextContentType);
  });
  server.Get("/readyz", [this](const httplib::Request&, httplib::Response& response) {
    std::vector<std::string> reasons;
    try {
      reasons = readiness_ ? readiness_() : std::vector<std::string>{};
    } catch (const std::exception& e) {
      spdlog::error("http server: readiness check failed: {}", e.what());
      reasons = {"readiness check failed"};
    } catch (...) {
      spdlog::error("http server: readiness check failed");
      reasons = {"readiness check failed"};
    }
    response.status = reasons.empty() ? 200 : 503;
    response.set_content(readinessBody(reasons), kJsonContentType);
  });
}

Result<void> HttpServer::start() {
  if (listener_.joinable() || port_.load() != 0) {
    return fail("http server on " + address_ + " is already started");
  }
  auto parsed = parseListenAddress(address_);
  if (!parsed) return tl::unexpected(parsed.error());
  const auto& [host, requested_port] = *parsed;

  installRoutes();
  server_->new_task_queue = [] {
    // httplib takes ownership of the queue and deletes it when listening ends.
    return new httplib::ThreadPool(kWorkerThreads);
  };
  // httplib's default sets SO_REUSEPORT, which would let a second agent bind the same port and
  // silently share the scrapes; SO_REUSEADDR alone allows a quick restart and still refuses that.
  server_->set_socket_options([](socket_t sock) {
    const int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server_->set_read_timeout(kIoTimeoutSecs);
  server_->set_write_timeout(kIoTimeoutSecs);
  server_->set_keep_alive_timeout(kKeepAliveTimeoutSecs);
  server_->set_payload_max_length(kMaxRequestBodyBytes);

  errno = 0;
  int bound_port = -1;
  if (requested_port == 0) {
    bound_port = server_->bind_to_any_port(host);
  } else if (server_->bind_to_port(host, requested_port)) {
    bound_port = requested_port;
  }
  if (bound_port < 0) {
    const int saved_errno = errno;
    std::string message = "cannot listen on " + address_;
    if (saved_errno != 0) message += ": " + std::system_category().message(saved_errno);
    return fail(std::move(message));
  }

  listener_exited_ = false;
  listener_ = std::jthread([this] {
    try {
      if (!server_->listen_after_bind()) spdlog::error("http server on {} stopped", address_);
    } catch (const std::exception& e) {
      spdlog::error("http server on {} failed: {}", address_, e.what());
    } catch (...) {
      spdlog::error("http server on {} failed", address_);
    }
    listener_exited_ = true;
  });

  // httplib's stop() is a no-op until the accept loop has begun, so wait for it: after a
  // successful start(), stop() always takes effect.
  const auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!server_->is_running()) {
    if (listener_exited_ || std::chrono::steady_clock::now() > deadline) {
      listener_.join();
      return fail("http server on " + address_ + " did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  port_ = bound_port;
  return {};
}

void HttpServer::stop() {
  if (!listener_.joinable()) return;
  server_->stop();
  listener_.join();
}

}  // namespace siem
