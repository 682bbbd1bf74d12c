#include "agent/sources/openai/org_logs_source.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <random>
#include <unordered_set>
#include <utility>

#include "agent/core/time_spec.h"
#include "agent/sources/openai/source_telemetry.h"

namespace siem {
namespace {

std::string checkpointName(std::string_view source_id) {
  return std::string(source_id) + ".organization_logs.json";
}

}  // namespace

// The shared counters plus this variant's own: events skipped as created before start_at, which
// are intentional discards.
class OrganizationLogsSource::Telemetry final
    : public SourceTelemetry<OrganizationLogsSourceStats> {
 public:
  Telemetry(std::shared_ptr<OpenAiSourceObserver> next,
            std::function<void(std::uint64_t)> on_discarded)
      : SourceTelemetry(std::move(next)), on_discarded_(std::move(on_discarded)) {}

  void skipped(std::uint64_t n) {
    update([n](OrganizationLogsSourceStats& s) { s.skipped_before_start += n; });
    if (on_discarded_) on_discarded_(n);
  }

 private:
  std::function<void(std::uint64_t)> on_discarded_;
};

OrganizationLogsSource::OrganizationLogsSource(const SourceConfig& config,
                                               const OpenAiSourceOptions& options,
                                               const std::filesystem::path& data_dir,
                                               const SourceInfo& info,
                                               OrganizationLogsSourceDeps deps)
    : id_(!info.id.empty() ? info.id : config.id),
      organization_id_(!config.organization_id.empty() ? config.organization_id
                                                       : info.organization_id),
      options_(options),
      deps_(std::move(deps)),
      owned_clock_(deps_.clock != nullptr ? nullptr : std::make_unique<SystemClock>()),
      clock_(deps_.clock != nullptr ? deps_.clock : owned_clock_.get()),
      telemetry_(std::make_unique<Telemetry>(deps_.observer, deps_.on_discarded)),
      store_(data_dir / "checkpoints") {
  if (!deps_.unit_random) {
    deps_.unit_random = [engine = std::mt19937_64(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
}

OrganizationLogsSource::~OrganizationLogsSource() = default;

OrganizationLogsSourceStats OrganizationLogsSource::stats() const { return telemetry_->snapshot(); }

std::string OrganizationLogsSource::notReadyReason() const { return not_ready_.get(); }

void OrganizationLogsSource::run(std::stop_token stop, EventEmitter& out) {
  runStoppingOnInternalError(id_, *telemetry_, not_ready_, [&] { runCycles(stop, out); });
  try {
    persist(true);
  } catch (...) {
    spdlog::error("source {}: could not save the checkpoint on exit", id_);
  }
}

Result<IdCursorState> OrganizationLogsSource::loadCursor() {
  simdjson::ondemand::parser parser;
  auto read = readSourceCheckpoint(
      store_, checkpointName(id_), id_, *telemetry_,
      [&](std::string_view payload) { return parseIdCursorState(payload, parser); });
  if (!read) return tl::unexpected(read.error());
  if (*read) {
    spdlog::info("source {}: resuming after {} (skipping events created before {})", id_,
                 (*read)->last_id.value_or("the beginning of the log"),
                 formatRfc3339((*read)->not_before));
    return std::move(**read);
  }
  auto start = parseTimeSpec(options_.start_at, unixSeconds(clock_->now()));
  if (!start) return fail(fmt::format("invalid start_at: {}", start.error().message));
  IdCursorState state;
  state.not_before = *start;
  spdlog::info(
      "source {}: first run, reading organization logs from the beginning and skipping those "
      "created before {}",
      id_, formatRfc3339(*start));
  return state;
}

void OrganizationLogsSource::runCycles(const std::stop_token& stop, EventEmitter& out) {
  auto loaded = loadCursor();
  if (!loaded) {
    spdlog::error("source {}: {}", id_, loaded.error().message);
    not_ready_.set(loaded.error().message);
    idleUntilStopped(*clock_, stop);
    return;
  }
  read_after_ = loaded->last_id;
  {
    std::lock_guard lock(state_mutex_);
    cursor_.emplace(std::move(*loaded), deps_.recent_ids);
  }
  // Persist at once so a first run's resolved start_at survives a crash before any event.
  persist(true);

  client_ = std::make_unique<OpenAiClient>(options_, id_, organization_id_, *clock_, *telemetry_,
                                           deps_.unit_random, deps_.backoff);
  std::uint32_t loops = 0;  // consecutive passes that ended in a looping cursor
  while (!stop.stop_requested()) {
    const Pass pass = readToEnd(stop, out);
    if (pass == Pass::kStopped) break;
    if (pass == Pass::kLooped) {
      ++loops;
      const auto delay = retryDelay(deps_.backoff, loops, deps_.unit_random(), std::nullopt);
      spdlog::warn("source {}: reading again after {} in {} ms", id_,
                   read_after_.value_or("the beginning of the log"), delay.count());
      telemetry_->onRetry(delay);
      if (!sleepPersisting(delay, stop)) break;
      continue;
    }
    loops = 0;
    {
      // Reported under the lock so that a concurrent acknowledgement's newer value is not
      // overwritten by this one.
      std::lock_guard lock(state_mutex_);
      caught_up_at_ = unixSeconds(clock_->now());
      telemetry_->cursor(watermarkLocked(), caught_up_at_, false);
    }
    persist(true);
    if (!sleepPersisting(std::chrono::seconds(options_.poll_interval_secs), stop)) break;
  }
}

OrganizationLogsSource::Pass OrganizationLogsSource::readToEnd(const std::stop_token& stop,
                                                               EventEmitter& out) {
  // Positions this pass continued from: a page ending at one of them again is a loop.
  std::unordered_set<std::string> continued_from;
  for (;;) {
    if (read_after_) continued_from.insert(*read_after_);
    auto fetched = fetchAuthorized(stop);
    if (!fetched) return Pass::kStopped;
    AuditLogPage& page = fetched->page;
    telemetry_->update([](OrganizationLogsSourceStats& s) { ++s.pages; });
    // In an append-only list the page after the read position cannot end at a position this pass
    // already continued from, nor at an event already delivered: the server is going in circles.
    bool looping = false;
    if (page.has_more && page.last_id) {
      std::lock_guard lock(state_mutex_);
      looping = continued_from.contains(*page.last_id) || cursor_->emittedRecently(*page.last_id);
    }
    if (looping) {
      telemetry_->onError("cursor_loop");
      spdlog::error(
          "source {}: looping cursor: the page after {} ends at {}, which this pass already "
          "read; its events are not emitted and the cursor stays put",
          id_, read_after_.value_or("the beginning of the log"), *page.last_id);
      return Pass::kLooped;
    }

    std::uint64_t duplicates = 0;
    std::uint64_t skipped = 0;
    for (Event& event : page.events) {
      IdCursor::Verdict verdict = IdCursor::Verdict::kNew;
      {
        std::lock_guard lock(state_mutex_);
        verdict = cursor_->classify(event);
        if (verdict == IdCursor::Verdict::kBeforeStart) cursor_->skipped(event.id);
      }
      if (verdict == IdCursor::Verdict::kDuplicate) {
        ++duplicates;
        continue;
      }
      if (verdict == IdCursor::Verdict::kBeforeStart) {
        ++skipped;
        continue;
      }
      std::string id = event.id;
      const std::int64_t created_at = event.effective_at;
      const std::string type = event.type;
      const Outcome outcome = event.outcome;
      const std::size_t bytes = event.raw.size();
      std::optional<std::uint64_t> seq = out.emit(std::move(event));
      if (!seq) return Pass::kStopped;
      {
        std::lock_guard lock(state_mutex_);
        cursor_->emitted(*seq, std::move(id), created_at);
      }
      telemetry_->eventEmitted(type, outcome, bytes);
    }
    if (duplicates > 0) {
      telemetry_->update(
          [duplicates](OrganizationLogsSourceStats& s) { s.duplicates_dropped += duplicates; });
      spdlog::warn("source {}: the API listed {} already emitted ids again; they were dropped", id_,
                   duplicates);
    }
    if (skipped > 0) telemetry_->skipped(skipped);
    if (page.last_id) read_after_ = std::move(page.last_id);
    if (!page.has_more) return Pass::kCaughtUp;
  }
}

std::optional<FetchResult> OrganizationLogsSource::fetchAuthorized(const std::stop_token& stop) {
  std::string last_reason;
  for (;;) {
    FetchResult result = client_->fetchOrganizationLogsPage(read_after_, stop);
    switch (result.status) {
      case FetchStatus::kPage:
        if (!last_reason.empty()) {
          spdlog::info("source {}: the OpenAI API accepts requests again", id_);
        }
        not_ready_.set("");
        return result;
      case FetchStatus::kStopped:
        return std::nullopt;
      case FetchStatus::kUnauthorized:
      case FetchStatus::kRejected:
        break;
    }
    std::string reason = std::move(result.message);
    if (result.status == FetchStatus::kRejected && read_after_) {
      reason += fmt::format(
          " (reading after {}; if the server no longer knows that id, run `siem-agent checkpoint "
          "reset` for this source)",
          *read_after_);
    }
    if (reason != last_reason) {
      spdlog::error("source {}: {}; retrying every {} s", id_, reason,
                    std::chrono::duration_cast<std::chrono::seconds>(deps_.refused_retry).count());
    }
    not_ready_.set(reason);
    last_reason = reason;
    if (!sleepPersisting(deps_.refused_retry, stop)) return std::nullopt;
    // A rotated key file (Kubernetes secret) is picked up without a restart.
    if (auto reloaded = client_->reloadApiKey(); !reloaded) {
      not_ready_.set(fmt::format("{}; {}", reason, reloaded.error().message));
    }
  }
}

bool OrganizationLogsSource::sleepPersisting(std::chrono::nanoseconds duration,
                                             const std::stop_token& stop) {
  // Sleep in slices so acknowledged state that arrived between writes is persisted promptly.
  const auto slice =
      std::max<std::chrono::nanoseconds>(deps_.checkpoint_interval, std::chrono::milliseconds(10));
  do {
    const auto step = std::min(duration, slice);
    if (!clock_->sleepFor(step, stop)) return false;
    duration -= step;
    persist(false);
  } while (duration > std::chrono::nanoseconds::zero());
  return true;
}

std::int64_t OrganizationLogsSource::watermarkLocked() const {
  const IdCursorState& state = cursor_->state();
  std::int64_t watermark = std::max(state.newest_created_at, state.not_before);
  if (cursor_->inFlight() == 0) watermark = std::max(watermark, caught_up_at_);
  return watermark;
}

void OrganizationLogsSource::acknowledged(std::uint64_t upto) {
  bool drained = false;
  {
    std::lock_guard lock(state_mutex_);
    if (!cursor_) return;
    drained = cursor_->acknowledged(upto);
  }
  persist(drained);
}

void OrganizationLogsSource::commit() { persist(true); }

void OrganizationLogsSource::persist(bool force) {
  if (deps_.read_only) return;
  Snapshot snapshot;
  {
    std::lock_guard lock(state_mutex_);
    if (!cursor_) return;
    if (static_cast<std::int64_t>(cursor_->version()) == written_version_.load()) return;
    const auto now = clock_->monotonic();
    if (!force && now - last_write_ < deps_.checkpoint_interval) return;
    last_write_ = now;
    snapshot.version = cursor_->version();
    snapshot.watermark = watermarkLocked();
    snapshot.json = serializeIdCursorState(cursor_->state());
  }
  writeSnapshot(snapshot);
}

void OrganizationLogsSource::writeSnapshot(const Snapshot& snapshot) {
  std::lock_guard lock(write_mutex_);
  if (written_version_.load() >= static_cast<std::int64_t>(snapshot.version)) return;
  auto written = store_.write(checkpointName(id_), snapshot.json);
  if (!written) {
    telemetry_->checkpointError("checkpoint_write");
    spdlog::warn("source {}: cannot save checkpoint (will retry): {}", id_,
                 written.error().message);
    return;
  }
  written_version_.store(static_cast<std::int64_t>(snapshot.version));
  telemetry_->cursor(snapshot.watermark, unixSeconds(clock_->now()), true);
}

std::filesystem::path organizationLogsCheckpointPath(const std::filesystem::path& data_dir,
                                                     std::string_view source_id) {
  return data_dir / "checkpoints" / checkpointName(source_id);
}

Result<std::optional<IdCursorState>> readOrganizationLogsCheckpoint(
    const std::filesystem::path& data_dir, std::string_view source_id) {
  CheckpointStore store(data_dir / "checkpoints");
  const std::string name = checkpointName(source_id);
  CheckpointRead read = store.read(name, LeftoverPolicy::kKeep);
  switch (read.status) {
    case CheckpointStatus::kMissing:
      return std::optional<IdCursorState>();
    case CheckpointStatus::kOk: {
      simdjson::ondemand::parser parser;
      auto state = parseIdCursorState(read.payload, parser);
      if (!state) {
        return fail(fmt::format("checkpoint {} is corrupt: {}", store.pathOf(name).string(),
                                state.error().message));
      }
      return std::optional<IdCursorState>(std::move(*state));
    }
    case CheckpointStatus::kCorrupt:
    case CheckpointStatus::kError:
      break;
  }
  return fail(read.error);
}

Result<void> writeOrganizationLogsCheckpoint(const std::filesystem::path& data_dir,
                                             std::string_view source_id,
                                             const IdCursorState& state) {
  CheckpointStore store(data_dir / "checkpoints");
  return store.write(checkpointName(source_id), serializeIdCursorState(state));
}

}  // namespace siem
