// openai_sim: a loopback stand-in for https://api.openai.com/v1 audit logs (see
// tests/fakes/README.md).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stop_token>
#include <thread>

#include <httplib.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "tests/fakes/openai_sim/sim_server.h"
#include "tests/fakes/openai_sim/simulator.h"

namespace {

std::int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

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

// Adds `rate` events per second at the current time until stopped.
void feedEvents(std::stop_token stop, siem::sim::Simulator& simulator, double rate) {
  std::mutex mutex;
  std::condition_variable_any wake;  // only woken by the stop request
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t produced = 0;
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mutex);
      wake.wait_for(lock, stop, std::chrono::milliseconds(100), [] { return false; });
    }
    if (stop.stop_requested()) break;
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto due = static_cast<std::uint64_t>(elapsed * rate);
    if (due > produced) {
      simulator.generate(due - produced, simulator.now(), 0, {});
      produced = due;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"openai_sim: OpenAI organization audit-log API simulator for tests and demos"};
  std::string host = "127.0.0.1";
  int port = 0;
  std::string port_file;
  siem::sim::ServerOptions server_options;
  std::size_t backlog = 0;
  std::int64_t span_secs = 86'400;
  std::int64_t end_time = 0;
  std::uint64_t seed = 1;
  double unknown_fraction = 0;
  double rate = 0;
  std::string unknown_cursor = "error";
  std::size_t threads = 8;

  app.add_option("--host", host, "Address to bind")->capture_default_str();
  app.add_option("--port", port, "Port to bind; 0 picks a free one")->capture_default_str();
  app.add_option("--port-file", port_file, "Also write the bound port to this file");
  auto* key = app.add_option("--admin-key", server_options.admin_key, "Accepted admin key");
  auto* key_file = app.add_option("--admin-key-file", server_options.admin_key_file,
                                  "File holding the accepted admin key, re-read per request");
  key->excludes(key_file);
  app.add_option("--backlog", backlog, "Events generated at startup")->capture_default_str();
  app.add_option("--span-secs", span_secs, "Seconds the backlog spreads over")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--end-time", end_time, "Unix time of the newest backlog second (default: now)");
  app.add_option("--seed", seed, "Seed; same seed and flags => same events")->capture_default_str();
  app.add_option("--unknown-types", unknown_fraction,
                 "Fraction of generated events with types outside the documented enum")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  app.add_option("--rate", rate, "Events per second added at the current time while running")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--unknown-cursor", unknown_cursor,
                 "Answer to an after/before id that does not exist: error (400) or empty (200)")
      ->check(CLI::IsMember({"error", "empty"}))
      ->capture_default_str();
  app.add_option("--threads", threads, "HTTP worker threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_flag("--verbose", server_options.verbose, "Log every request to stderr");
  CLI11_PARSE(app, argc, argv);

  spdlog::set_default_logger(spdlog::stderr_color_mt("openai_sim"));
  spdlog::set_level(server_options.verbose ? spdlog::level::info : spdlog::level::warn);
  if (server_options.admin_key.empty() && server_options.admin_key_file.empty()) {
    spdlog::error("one of --admin-key or --admin-key-file is required");
    return 2;
  }

  // Signals are taken by one thread with sigwait; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // internal wake-up when the server ends on its own
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  siem::sim::SimulatorOptions options;
  options.seed = seed;
  options.unknown_fraction = unknown_fraction;
  options.unknown_cursor = unknown_cursor == "empty" ? siem::sim::UnknownCursorPolicy::kEmptyPage
                                                     : siem::sim::UnknownCursorPolicy::kError;
  options.now = unixNow;
  siem::sim::Simulator simulator(options);
  if (backlog > 0) {
    const auto started = std::chrono::steady_clock::now();
    simulator.addBacklog(backlog, end_time != 0 ? end_time : unixNow(), span_secs);
    spdlog::info("generated {} events in {:.2f}s", backlog,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }

  siem::sim::SimServer server(simulator, server_options);
  httplib::Server& http = server.http();
  http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http.set_keep_alive_max_count(100'000);
  http.set_tcp_nodelay(true);
  const int bound =
      port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    spdlog::error("cannot bind {}:{}", host, port);
    return 1;
  }
  if (!port_file.empty() && !writePortFile(port_file, bound)) {
    spdlog::error("cannot write port file {}", port_file);
    return 1;
  }
  std::printf("openai_sim listening on http://%s:%d\n", host.c_str(), bound);
  std::fflush(stdout);

  std::jthread signal_waiter([&http, &signals] {
    int received = 0;
    sigwait(&signals, &received);
    http.stop();
  });
  std::jthread feeder;
  if (rate > 0) {
    feeder = std::jthread(
        [&simulator, rate](std::stop_token stop) { feedEvents(stop, simulator, rate); });
  }
  const bool ok = http.listen_after_bind();
  kill(getpid(), SIGUSR1);  // releases signal_waiter if no signal stopped the server
  return ok ? 0 : 1;
}
