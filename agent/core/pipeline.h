// Wires configured sources, the router, per-sink drivers and per-source ack trackers together
// (DESIGN §3), and runs them: one thread per source, the drivers' worker threads per sink.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "agent/api/result.h"
#include "agent/api/sink.h"
#include "agent/api/source.h"
#include "agent/config/config.h"
#include "agent/core/ack_tracker.h"
#include "agent/core/registry.h"
#include "agent/core/router.h"
#include "agent/core/sink_driver.h"
#include "agent/observability/logging.h"

namespace siem {

class Metrics;
class ComponentMetrics;

using Renderer = std::function<std::string(const Event&, Encoding)>;

struct PipelineOptions {
  // Print what would be sent instead of sending, and never move a cursor.
  bool dry_run = false;
  // Called once, from the failing thread, when a component thread dies; main() shuts down.
  std::function<void(const std::string& why)> on_fatal;
};

class Pipeline {
 public:
  Pipeline(const Config& config, const ComponentRegistry& registry, Metrics& metrics,
           Renderer renderer, PipelineOptions options);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Builds every source and sink; the first failure is returned and nothing runs.
  Result<void> build();
  // For tests and tools: build with ready-made components instead of the registry's factories,
  // in config order.
  Result<void> build(std::vector<std::unique_ptr<Source>> sources,
                     std::vector<std::unique_ptr<Sink>> sinks);

  void start();
  // Graceful stop: stop pulling, drain sinks until `deadline`, then commit every source's cursor.
  void stop(std::chrono::steady_clock::time_point deadline);

  // Asks every source to reload() (SIGHUP). Safe to call from any thread once built.
  void reload();

  // Reasons /readyz should fail (empty = ready).
  std::vector<std::string> notReadyReasons() const;

 private:
  class Emitter;
  struct SourceSlot {
    SourceInfo info;
    std::unique_ptr<Source> source;
    ComponentMetrics* metrics = nullptr;
    std::unique_ptr<AckTracker> tracker;
    std::jthread thread;
  };

  Result<void> assemble(std::vector<std::unique_ptr<Source>> sources,
                        std::vector<std::unique_ptr<Sink>> sinks);
  void onTerminal(std::span<const EventPtr> events);
  // Takes `event` by rvalue reference: moved once, into the shared event, not once per call.
  std::optional<std::uint64_t> emit(SourceSlot& slot, std::uint64_t& next_seq, Event&& event,
                                    const std::stop_token& stop);
  // EventEmitter::prepare: routes and renders `events` ahead of emit(). Thread-safe.
  void prepare(const SourceSlot& slot, std::span<Event> events) const;
  // Renders into `event` each encoding the sinks `targets` need and not rendered yet. A failed
  // render is counted and the original forwarded instead. Thread-safe for distinct events.
  void render(const SourceSlot& slot, Event& event, std::span<const std::uint32_t> targets) const;

  const Config& config_;
  const ComponentRegistry& registry_;
  Metrics& metrics_;
  Renderer renderer_;
  PipelineOptions options_;
  std::vector<std::unique_ptr<SourceSlot>> sources_;
  std::vector<std::unique_ptr<SinkDriver>> sinks_;
  std::unique_ptr<Router> router_;
  LogLimiter log_limiter_{std::chrono::seconds(30)};
  bool started_ = false;
};

}  // namespace siem
