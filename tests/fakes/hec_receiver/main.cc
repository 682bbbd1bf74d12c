// hec_receiver: a loopback Splunk HTTP Event Collector that enforces the protocol as Splunk does
// (see tests/fakes/README.md).
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <httplib.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "tests/fakes/hec_receiver/receiver.h"

namespace {

bool writePortFile(const std::string& path, int port) {
  // Written to a temporary name and renamed, so a reader never sees a partial file.
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << port << "\n";
    if (!out.flush()) return false;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hec_receiver: a loopback Splunk HTTP Event Collector for tests and benchmarks"};
  std::string host = "127.0.0.1";
  int port = 0;
  std::string port_file;
  std::vector<std::string> tokens;
  std::vector<std::string> disabled_tokens;
  std::vector<std::string> allowed_indexes;
  siem::hec_fake::ReceiverOptions options;
  std::string record = "full";
  std::string tls_cert;
  std::string tls_key;
  std::size_t threads = 8;

  app.add_option("--host", host, "Address to bind")->capture_default_str();
  app.add_option("--port", port, "Port to bind; 0 picks a free one")->capture_default_str();
  app.add_option("--port-file", port_file, "Also write the bound port to this file");
  app.add_option("--token", tokens, "An accepted HEC token (repeatable)")->required();
  app.add_option("--disabled-token", disabled_tokens, "A disabled token: code 1 (repeatable)");
  app.add_option("--allowed-index", allowed_indexes,
                 "An index the tokens may write to (repeatable; default: any)");
  app.add_flag("--ack", options.settings.ack, "Enable indexer acknowledgement");
  app.add_option("--ack-delay-ms", options.settings.ack_delay_ms,
                 "An ack turns true this long after indexing")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--max-content-length", options.settings.max_content_length,
                 "Request body cap in bytes, before and after gzip decoding (413 above)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--record", record, "full: keep every accepted event; count: only count them")
      ->check(CLI::IsMember({"full", "count"}))
      ->capture_default_str();
  app.add_option("--tls-cert", tls_cert, "PEM certificate: serve HTTPS");
  app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert");
  app.add_option("--threads", threads, "HTTP worker threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_flag("--verbose", options.verbose, "Log every request to stderr");
  CLI11_PARSE(app, argc, argv);

  spdlog::set_default_logger(spdlog::stderr_color_mt("hec_receiver"));
  spdlog::set_level(options.verbose ? spdlog::level::info : spdlog::level::warn);
  if (tls_cert.empty() != tls_key.empty()) {
    spdlog::error("--tls-cert and --tls-key go together");
    return 2;
  }
  options.settings.tokens.insert(tokens.begin(), tokens.end());
  options.settings.disabled_tokens.insert(disabled_tokens.begin(), disabled_tokens.end());
  options.settings.allowed_indexes.insert(allowed_indexes.begin(), allowed_indexes.end());
  options.record_events = record == "full";

  // Signals are taken by one thread with sigwait; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // internal wake-up when the server ends on its own
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<httplib::Server> http;
  if (tls_cert.empty()) {
    http = std::make_unique<httplib::Server>();
  } else {
    auto tls = std::make_unique<httplib::SSLServer>(tls_cert.c_str(), tls_key.c_str());
    if (!tls->is_valid()) {
      spdlog::error("cannot load --tls-cert/--tls-key");
      return 1;
    }
    http = std::move(tls);
  }
  siem::hec_fake::HecReceiver receiver(options);
  receiver.install(*http);
  http->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http->set_keep_alive_max_count(100'000);
  http->set_keep_alive_timeout(30);
  http->set_tcp_nodelay(true);
  const int bound =
      port == 0 ? http->bind_to_any_port(host) : (http->bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    spdlog::error("cannot bind {}:{}", host, port);
    return 1;
  }
  if (!port_file.empty() && !writePortFile(port_file, bound)) {
    spdlog::error("cannot write port file {}", port_file);
    return 1;
  }
  std::printf("hec_receiver listening on %s://%s:%d\n", tls_cert.empty() ? "http" : "https",
              host.c_str(), bound);
  std::fflush(stdout);

  std::jthread signal_waiter([&http, &signals] {
    int received = 0;
    sigwait(&signals, &received);
    http->stop();
  });
  const bool ok = http->listen_after_bind();
  kill(getpid(), SIGUSR1);  // releases signal_waiter if no signal stopped the server
  return ok ? 0 : 1;
}
