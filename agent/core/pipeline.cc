#include "agent/core/pipeline.h"

#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <map>

#include "agent/core/dry_run.h"
#include "agent/observability/metrics.h"

namespace siem {
namespace {

// steady_clock's time from the kernel's coarse monotonic clock: the same timeline as
// steady_clock::now() (CLOCK_MONOTONIC), at most one kernel tick (1-4 ms) behind it, and without
// the clock-source read that made now() a visible cost per event. received_at feeds only the
// send-latency histogram (smallest bucket 10 ms) and log rate limiting.
std::chrono::steady_clock::time_point coarseSteadyNow() {
  timespec ts{};
  if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts) != 0) return std::chrono::steady_clock::now();
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace

class Pipeline::Emitter final : public EventEmitter {
 public:
  Emitter(Pipeline& pipeline, SourceSlot& slot, std::stop_token stop)
      : pipeline_(pipeline), slot_(slot), stop_(std::move(stop)) {}

  std::optional<std::uint64_t> emit(Event event) override {
    return pipeline_.emit(slot_, next_seq_, std::move(event), stop_);
  }
  void prepare(std::span<Event> events) const override { pipeline_.prepare(slot_, events); }

 private:
  Pipeline& pipeline_;
  SourceSlot& slot_;
  std::stop_token stop_;
  std::uint64_t next_seq_ = 1;
};

Pipeline::Pipeline(const Config& config, const ComponentRegistry& registry, Metrics& metrics,
                   Renderer renderer, PipelineOptions options)
    : config_(config),
      registry_(registry),
      metrics_(metrics),
      renderer_(std::move(renderer)),
      options_(std::move(options)) {}

Pipeline::~Pipeline() {
  for (auto& s : sources_) s->thread.request_stop();
  for (auto& s : sources_) {
    if (s->thread.joinable()) s->thread.join();
  }
}

Result<void> Pipeline::build() {
  std::vector<std::unique_ptr<Source>> sources;
  std::vector<std::unique_ptr<Sink>> sinks;
  for (std::size_t i = 0; i < config_.sources.size(); ++i) {
    const SourceConfig& sc = config_.sources[i];
    const SourceType* type = registry_.source(sc.type);
    if (type == nullptr || !type->create)
      return fail("source " + sc.id + ": unknown type " + sc.type);
    // The SourceInfo handed to the factory must be the one events will point at, so the slots
    // are created here and completed by assemble().
    auto slot = std::make_unique<SourceSlot>();
    slot->info = SourceInfo{sc.id, sc.type, sc.organization_id, static_cast<std::uint32_t>(i)};
    slot->metrics = &metrics_.component(sc.id, "source", sc.type, sc.organization_id);
    SourceEnv env{config_, *slot->metrics, slot->info, options_.dry_run};
    auto created = type->create(sc, env);
    if (!created) return fail("source " + sc.id + ": " + created.error().message);
    sources.push_back(std::move(*created));
    sources_.push_back(std::move(slot));
  }
  for (const SinkConfig& kc : config_.sinks) {
    if (options_.dry_run) {
      sinks.push_back(makeDryRunSink(kc.id, kc.encoding));
      continue;
    }
    const SinkType* type = registry_.sink(kc.type);
    if (type == nullptr || !type->create)
      return fail("sink " + kc.id + ": unknown type " + kc.type);
    SinkEnv env{config_, metrics_.component(kc.id, "sink", kc.type)};
    auto created = type->create(kc, env);
    if (!created) return fail("sink " + kc.id + ": " + created.error().message);
    sinks.push_back(std::move(*created));
  }
  return assemble(std::move(sources), std::move(sinks));
}

Result<void> Pipeline::build(std::vector<std::unique_ptr<Source>> sources,
                             std::vector<std::unique_ptr<Sink>> sinks) {
  for (std::size_t i = 0; i < config_.sources.size() && i < sources.size(); ++i) {
    const SourceConfig& sc = config_.sources[i];
    auto slot = std::make_unique<SourceSlot>();
    slot->info = SourceInfo{sc.id, sc.type, sc.organization_id, static_cast<std::uint32_t>(i)};
    slot->metrics = &metrics_.component(sc.id, "source", sc.type, sc.organization_id);
    sources_.push_back(std::move(slot));
  }
  return assemble(std::move(sources), std::move(sinks));
}

Result<void> Pipeline::assemble(std::vector<std::unique_ptr<Source>> sources,
                                std::vector<std::unique_ptr<Sink>> sinks) {
  if (sources.size() != config_.sources.size() || sinks.size() != config_.sinks.size() ||
      sources_.size() != sources.size()) {
    return fail("internal error: component count does not match the configuration");
  }
  std::vector<std::string> source_ids;
  std::vector<std::string> sink_ids;
  for (const auto& s : config_.sources) source_ids.push_back(s.id);
  for (const auto& s : config_.sinks) sink_ids.push_back(s.id);
  router_ = std::make_unique<Router>(config_.routes, source_ids, sink_ids);

  const std::string dead_letter_dir = config_.data_dir + "/dead_letter";
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    const SinkConfig& kc = config_.sinks[i];
    ComponentMetrics& m = metrics_.component(kc.id, "sink", options_.dry_run ? "dry_run" : kc.type);
    sinks_.push_back(std::make_unique<SinkDriver>(
        kc, std::move(sinks[i]), m, dead_letter_dir,
        [this](std::span<const EventPtr> events) { onTerminal(events); }));
  }
  for (std::size_t i = 0; i < sources.size(); ++i) {
    SourceSlot& slot = *sources_[i];
    slot.source = std::move(sources[i]);
    Source* source = slot.source.get();
    slot.tracker =
        std::make_unique<AckTracker>([source](std::uint64_t upto) { source->acknowledged(upto); });
  }
  return {};
}

void Pipeline::start() {
  for (auto& d : sinks_) d->start();
  for (auto& s : sources_) {
    SourceSlot* slot = s.get();
    slot->thread = std::jthread([this, slot](std::stop_token stop) {
      try {
        Emitter emitter(*this, *slot, stop);
        slot->source->run(stop, emitter);
      } catch (const std::exception& e) {
        slot->metrics->error("exception", "source");
        spdlog::critical("source {} stopped: {}", slot->info.id, e.what());
        if (options_.on_fatal) options_.on_fatal("source " + slot->info.id + " failed");
      } catch (...) {
        slot->metrics->error("exception", "source");
        spdlog::critical("source {} stopped by an unknown exception", slot->info.id);
        if (options_.on_fatal) options_.on_fatal("source " + slot->info.id + " failed");
      }
    });
  }
  started_ = true;
}

std::optional<std::uint64_t> Pipeline::emit(SourceSlot& slot, std::uint64_t& next_seq,
                                            Event&& event, const std::stop_token& stop) {
  if (stop.stop_requested()) return std::nullopt;
  thread_local std::vector<std::uint32_t> targets;
  router_->match(slot.info.index, event, targets);
  const std::uint64_t seq = next_seq++;
  event.source = &slot.info;
  event.seq = seq;
  event.received_at = coarseSteadyNow();

  if (targets.empty()) {
    slot.metrics->discarded_intentional.Increment();
    if (auto verdict = log_limiter_.shouldLog(slot.info.id, event.received_at)) {
      spdlog::info(
          "source {}: event {} ({}) matched no route and was discarded (counted in "
          "siem_agent_component_discarded_events_total{{intentional=\"true\"}}){}",
          slot.info.id, event.id, event.type, verdict.suffix());
    }
    slot.tracker->add(seq, 0);
    return seq;
  }

  render(slot, event, targets);

  EventPtr shared = std::make_shared<const Event>(std::move(event));
  slot.tracker->add(seq, static_cast<std::uint32_t>(targets.size()));
  bool taken = false;
  for (std::size_t t = 0; t < targets.size(); ++t) {
    const std::uint32_t k = targets[t];
    // The last target takes the caller's reference instead of a new one.
    EventPtr ref = t + 1 == targets.size() ? std::move(shared) : shared;
    switch (sinks_[k]->push(std::move(ref), stop)) {
      case SinkDriver::PushResult::kAccepted:
        taken = true;
        break;
      case SinkDriver::PushResult::kDropped:
        taken = true;
        slot.tracker->complete(seq);
        break;
      case SinkDriver::PushResult::kStopped:
        break;
    }
  }
  if (!taken) return std::nullopt;
  return seq;
}

void Pipeline::prepare(const SourceSlot& slot, std::span<Event> events) const {
  std::vector<std::uint32_t> targets;
  for (Event& event : events) {
    // The renderer reads the source (the OCSF tenant); emit() sets the same pointer again.
    event.source = &slot.info;
    router_->match(slot.info.index, event, targets);
    render(slot, event, targets);
  }
}

void Pipeline::render(const SourceSlot& slot, Event& event,
                      std::span<const std::uint32_t> targets) const {
  for (std::size_t e = 1; e < kEncodingCount; ++e) {
    const auto encoding = static_cast<Encoding>(e);
    const auto bit = static_cast<std::uint8_t>(1U << e);
    if ((event.rendered_mask & bit) != 0) continue;
    bool wanted = false;
    for (std::uint32_t k : targets) wanted |= config_.sinks[k].encoding == encoding;
    if (!wanted) continue;
    try {
      event.rendered[e] = renderer_(event, encoding);
    } catch (const std::exception& ex) {
      // Rendering is pure and should not throw; if it does, the original is forwarded rather
      // than the event being lost, and the failure is counted.
      slot.metrics->error("encode", "render");
      spdlog::error("source {}: cannot render event {} as {}: {}; forwarding the original",
                    slot.info.id, event.id, toString(encoding), ex.what());
      event.rendered[e] = event.raw;
    }
    event.rendered_mask |= bit;
  }
}

void Pipeline::onTerminal(std::span<const EventPtr> events) {
  // Group by source so each tracker is locked once per batch.
  thread_local std::vector<std::vector<std::uint64_t>> by_source;
  by_source.resize(sources_.size());
  for (auto& v : by_source) v.clear();
  for (const auto& e : events) {
    if (e->source != nullptr && e->source->index < by_source.size())
      by_source[e->source->index].push_back(e->seq);
  }
  for (std::size_t i = 0; i < by_source.size(); ++i) {
    if (!by_source[i].empty()) sources_[i]->tracker->complete(by_source[i]);
  }
}

void Pipeline::stop(std::chrono::steady_clock::time_point deadline) {
  if (!started_) return;
  for (auto& s : sources_) s->thread.request_stop();
  for (auto& s : sources_) {
    if (s->thread.joinable()) s->thread.join();
  }
  for (auto& d : sinks_) d->drainAndStop(deadline);
  for (auto& s : sources_) s->source->commit();
  started_ = false;
}

void Pipeline::reload() {
  for (const auto& s : sources_) {
    if (s->source) s->source->reload();
  }
}

std::vector<std::string> Pipeline::notReadyReasons() const {
  std::vector<std::string> reasons;
  for (const auto& s : sources_) {
    if (!s->source) continue;
    if (auto r = s->source->notReadyReason(); !r.empty())
      reasons.push_back("source " + s->info.id + ": " + r);
  }
  for (const auto& d : sinks_) {
    if (auto r = d->notReadyReason(); !r.empty()) reasons.push_back(r);
  }
  return reasons;
}

}  // namespace siem
