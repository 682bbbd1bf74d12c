// siem-agent: pulls OpenAI organization audit logs and forwards them to SIEMs (see README.md).
// Exit codes: 0 ok, 1 runtime failure, 2 usage error, 78 configuration error.
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "agent/cli/checkpoint_command.h"
#include "agent/cli/logs_command.h"
#include "agent/config/loader.h"
#include "agent/core/data_dir_lock.h"
#include "agent/core/pipeline.h"
#include "agent/core/registry.h"
#include "agent/observability/http_server.h"
#include "agent/observability/logging.h"
#include "agent/observability/metrics.h"
#include "agent/schema/render.h"

namespace siem {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitConfig = 78;

tl::expected<Config, int> loadOrReport(const std::string& path, const ComponentRegistry& registry) {
  auto config = loadConfigFile(path, registry);
  if (!config) {
    for (const auto& message : config.error()) std::fprintf(stderr, "%s\n", message.c_str());
    std::fprintf(stderr, "%s: %zu configuration error(s)\n", path.c_str(), config.error().size());
    return tl::unexpected(kExitConfig);
  }
  return std::move(*config);
}

int commandValidate(const std::string& path) {
  const ComponentRegistry registry = builtinComponents();
  auto config = loadOrReport(path, registry);
  if (!config) return config.error();
  std::printf("%s: valid (%zu source(s), %zu sink(s), %zu route(s))\n", path.c_str(),
              config->sources.size(), config->sinks.size(), config->routes.size());
  return kExitOk;
}

int commandRun(const std::string& path, bool dry_run) {
  const ComponentRegistry registry = builtinComponents();
  auto config = loadOrReport(path, registry);
  if (!config) return config.error();
  setupLogging(config->log, config->secrets);

  // Signals are taken synchronously by this thread only; every thread started below inherits
  // the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  curl_global_init(CURL_GLOBAL_DEFAULT);

  auto lock = DataDirLock::acquire(config->data_dir);
  if (!lock) {
    spdlog::error("{}", lock.error().message);
    return kExitFailure;
  }

  Metrics metrics(SIEM_AGENT_VERSION);
  std::atomic<bool> fatal{false};
  PipelineOptions options;
  options.dry_run = dry_run;
  options.on_fatal = [&fatal](const std::string&) { fatal = true; };
  Pipeline pipeline(*config, registry, metrics, renderEvent, options);
  if (auto built = pipeline.build(); !built) {
    spdlog::error("cannot start: {}", built.error().message);
    return kExitFailure;
  }

  HttpServer server(config->api_address, metrics,
                    [&pipeline] { return pipeline.notReadyReasons(); });
  if (auto started = server.start(); !started) {
    spdlog::error("cannot serve the HTTP API: {}", started.error().message);
    return kExitFailure;
  }
  pipeline.start();
  spdlog::info("siem-agent {} running: {} source(s), {} sink(s){}; metrics on http://{}/metrics",
               SIEM_AGENT_VERSION, config->sources.size(), config->sinks.size(),
               dry_run ? " (dry run: nothing is sent, no cursor moves)" : "", config->api_address);

  std::atomic<bool> stopped{false};
  std::jthread stopper;
  const auto begin_stop = [&](const char* why) {
    spdlog::info("{}: stopping (draining for up to {}s; a second signal exits at once)", why,
                 config->shutdown_timeout_secs);
    stopper = std::jthread([&] {
      pipeline.stop(std::chrono::steady_clock::now() +
                    std::chrono::seconds(config->shutdown_timeout_secs));
      server.stop();
      stopped = true;
    });
  };

  bool stopping = false;
  const timespec tick{0, 200'000'000};
  while (!stopped) {
    const int sig = sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP received: sources re-read their key files");
      pipeline.reload();
      continue;
    }
    if (sig == SIGINT || sig == SIGTERM) {
      if (stopping) {
        spdlog::warn("second signal: exiting now; cursors stay at their last commit");
        std::fflush(nullptr);
        std::_Exit(kExitFailure);
      }
      stopping = true;
      begin_stop(sig == SIGINT ? "SIGINT" : "SIGTERM");
    } else if (fatal && !stopping) {
      stopping = true;
      begin_stop("a component failed");
    }
  }
  stopper.join();
  spdlog::info("stopped; cursors committed");
  curl_global_cleanup();
  return fatal ? kExitFailure : kExitOk;
}

}  // namespace
}  // namespace siem

int main(int argc, char** argv) {
  CLI::App app{"siem-agent: forwards OpenAI organization audit logs to your SIEM"};
  app.require_subcommand(1);

  std::string config_path;
  bool dry_run = false;
  auto* run = app.add_subcommand("run", "Run the agent");
  run->add_option("-c,--config", config_path, "Configuration file (YAML)")->required();
  run->add_flag("--dry-run", dry_run, "Pull and route, print what would be sent, move no cursor");

  auto* validate = app.add_subcommand("validate", "Check a configuration file and exit");
  validate->add_option("-c,--config", config_path, "Configuration file (YAML)")->required();

  auto* version = app.add_subcommand("version", "Print the version");
  const auto logs = siem::cli::addLogsCommand(app);
  const auto checkpoint = siem::cli::addCheckpointCommand(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : siem::kExitUsage;
  }

  if (*version) {
    std::printf("siem-agent %s\n", SIEM_AGENT_VERSION);
    return siem::kExitOk;
  }
  if (*validate) return siem::commandValidate(config_path);
  if (*run) return siem::commandRun(config_path, dry_run);
  if (logs->chosen()) return logs->run();
  if (checkpoint->chosen()) return checkpoint->run();
  return siem::kExitUsage;
}
