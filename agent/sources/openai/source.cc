#include "agent/sources/openai/source.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <random>
#include <unordered_set>

#include "agent/core/time_spec.h"
#include "agent/sources/openai/source_telemetry.h"

namespace siem {
namespace {

// Pages with has_more but no events, in a row, before a window is given up as unreadable (the
// real API never sends one; a server that keeps doing so would be followed forever).
constexpr std::uint32_t kMaxEmptyPagesInARow = 5;

}  // namespace

// The shared counters plus the audit_logs source's own: windows narrowed during a backfill.
class OpenAiAuditLogSource::Telemetry final : public SourceTelemetry<OpenAiSourceStats> {
 public:
  using SourceTelemetry::SourceTelemetry;

  void windowHalved() {
    if (next() != nullptr) next()->onWindowHalved();
  }
};

OpenAiAuditLogSource::OpenAiAuditLogSource(const SourceConfig& config,
                                           const OpenAiSourceOptions& options,
                                           const std::filesystem::path& data_dir,
                                           const SourceInfo& info, OpenAiSourceDeps deps)
    : id_(!info.id.empty() ? info.id : config.id),
      organization_id_(!config.organization_id.empty() ? config.organization_id
                                                       : info.organization_id),
      options_(options),
      deps_(std::move(deps)),
      owned_clock_(deps_.clock != nullptr ? nullptr : std::make_unique<SystemClock>()),
      clock_(deps_.clock != nullptr ? deps_.clock : owned_clock_.get()),
      telemetry_(std::make_unique<Telemetry>(deps_.observer)),
      store_(data_dir / "checkpoints"),
      unit_random_(deps_.unit_random) {
  if (!unit_random_) {
    unit_random_ = [engine = std::mt19937_64(std::random_device{}())]() mutable {
      return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
    };
  }
}

OpenAiAuditLogSource::~OpenAiAuditLogSource() {
  if (writer_.joinable()) {
    writer_.request_stop();
    writer_.join();
  }
}

OpenAiSourceStats OpenAiAuditLogSource::stats() const { return telemetry_->snapshot(); }

std::string OpenAiAuditLogSource::notReadyReason() const { return not_ready_.get(); }

void OpenAiAuditLogSource::run(std::stop_token stop, EventEmitter& out) {
  emitter_ = &out;
  runStoppingOnInternalError(id_, *telemetry_, not_ready_, [&] { runCycles(stop, out); });
  read_ahead_.reset();  // its readers call out.prepare(), which is gone once run() returns
  emitter_ = nullptr;
  try {
    persist();
  } catch (...) {
    spdlog::error("source {}: could not save the checkpoint on exit", id_);
  }
}

Result<CursorState> OpenAiAuditLogSource::loadCursor() {
  simdjson::ondemand::parser parser;
  auto read = readSourceCheckpoint(
      store_, checkpointName(), id_, *telemetry_,
      [&](std::string_view payload) { return parseCursorState(payload, parser); });
  if (!read) return tl::unexpected(read.error());
  if (*read) {
    spdlog::info("source {}: resuming at {} ({} recent ids remembered)", id_,
                 formatRfc3339((*read)->watermark), (*read)->seen.size());
    return std::move(**read);
  }
  const std::int64_t now = unixSeconds(clock_->now());
  auto start = parseTimeSpec(options_.start_at, now);
  if (!start) return fail(fmt::format("invalid start_at: {}", start.error().message));
  CursorState state;
  state.watermark = *start;
  state.origin = *start;
  spdlog::info("source {}: first run, reading audit logs from {}", id_, formatRfc3339(*start));
  return state;
}

void OpenAiAuditLogSource::runCycles(const std::stop_token& stop, EventEmitter& out) {
  auto loaded = loadCursor();
  if (!loaded) {
    spdlog::error("source {}: {}", id_, loaded.error().message);
    not_ready_.set(loaded.error().message);
    idleUntilStopped(*clock_, stop);
    return;
  }
  {
    std::lock_guard lock(state_mutex_);
    cursor_.emplace(std::move(*loaded), options_.lookback_secs);
  }
  // Persist at once so a first run's resolved start_at survives a crash before any event.
  persist();
  startWriter();

  budget_ = std::make_shared<RequestBudget>(options_.max_requests_per_sec, clock_->monotonic());
  client_ = std::make_unique<OpenAiClient>(options_, id_, organization_id_, *clock_, *telemetry_,
                                           deps_.unit_random, deps_.backoff, budget_);
  std::int64_t max_span = 0;   // 0: up to now; set by halving when a window holds too much
  std::uint32_t failures = 0;  // windows given up in a row (backoff attempt)
  std::vector<Event> events;
  std::vector<std::uint32_t> order;  // emission order of the new events of `events`
  std::string problem;
  while (!stop.stop_requested()) {
    const std::int64_t now = unixSeconds(clock_->now());
    TimeWindow window;
    {
      std::lock_guard lock(state_mutex_);
      window = cursor_->nextWindow(now, max_span);
    }
    if (window.empty()) {
      if (!clock_->sleepFor(std::chrono::seconds(options_.poll_interval_secs), stop)) break;
      continue;
    }

    events.clear();
    // A window that starts in time a backfill reads ahead is sized for the read-ahead from the
    // first overflow on (a first window from start_at to now included).
    const bool old = window.start < now - static_cast<std::int64_t>(options_.lookback_secs);
    std::size_t limit =
        deps_.read_ahead_windows > 0 && old ? readAheadLimit() : options_.max_window_events;
    Collected collected = Collected::kDone;
    if (readsAhead(window, now, max_span)) {
      collected = collectAhead(window, now, max_span, stop, events, problem, limit);
    } else {
      if (read_ahead_) read_ahead_->cancel();  // nothing scheduled follows on from here
      collected = collectWindow(window, stop, events, problem, limit);
    }
    if (collected == Collected::kStopped) break;
    if (collected == Collected::kFailed) {
      // Nothing of this window was emitted, so the cursor has not moved past it.
      ++failures;
      events.clear();
      const auto delay = retryDelay(deps_.backoff, failures, unit_random_(), std::nullopt);
      std::int64_t watermark = 0;
      {
        std::lock_guard lock(state_mutex_);
        watermark = cursor_->watermark();
      }
      spdlog::error(
          "source {}: {}; nothing of {} .. {} was sent, the cursor stays at {}; reading the "
          "window again in {} ms (attempt {})",
          id_, problem, formatRfc3339(window.start), formatRfc3339(window.end),
          formatRfc3339(watermark), delay.count(), failures + 1);
      telemetry_->update([](OpenAiSourceStats& s) { ++s.window_failures; });
      telemetry_->onRetry(delay);
      if (!clock_->sleepFor(delay, stop)) break;
      continue;
    }
    failures = 0;
    if (collected == Collected::kOverflow) {
      // Each overflow costs the pages already read, which the API's rate limit makes expensive:
      // the next span is sized from the density those pages showed (window.h).
      max_span = spanAfterOverflow(window, events, limit);
      telemetry_->update([](OpenAiSourceStats& s) { ++s.windows_halved; });
      telemetry_->windowHalved();
      spdlog::info("source {}: window {} .. {} holds more than {} events; reading {} s at a time",
                   id_, formatRfc3339(window.start), formatRfc3339(window.end), limit, max_span);
      continue;
    }
    // A window that fitted: drop the limit once caught up; otherwise grow it while windows come
    // back less than a quarter full (so a doubled window is expected to stay under half full,
    // the size narrowing aims at, instead of overflowing again).
    if (window.end >= now) {
      max_span = 0;
      read_ahead_.reset();  // caught up: the readers and their connections go
    } else if (max_span > 0) {
      // Windows read ahead are planned before the ones ahead of them are read, so the size follows
      // the density both ways, not only up.
      max_span = spanAfterFit(window, events.size(), limit, max_span);
    }

    std::size_t dropped = 0;
    {
      std::lock_guard lock(state_mutex_);
      dropped = cursor_->orderNew(events, order);
    }
    if (dropped > 0) {
      telemetry_->update([dropped](OpenAiSourceStats& s) { s.duplicates_dropped += dropped; });
    }

    bool stopped = false;
    for (const std::uint32_t index : order) {
      Event& event = events[index];
      std::string id = event.id;
      const std::int64_t effective_at = event.effective_at;
      const std::string type = event.type;
      const Outcome outcome = event.outcome;
      const std::size_t bytes = event.raw.size();
      std::optional<std::uint64_t> seq = out.emit(std::move(event));
      if (!seq) {
        stopped = true;
        break;
      }
      {
        std::lock_guard lock(state_mutex_);
        cursor_->emitted(*seq, std::move(id), effective_at);
      }
      telemetry_->eventEmitted(type, outcome, bytes);
    }
    if (stopped) break;
    std::int64_t watermark = 0;
    {
      std::lock_guard lock(state_mutex_);
      cursor_->windowDone(window);
      watermark = cursor_->watermark();
    }
    requestPersist();
    telemetry_->cursor(watermark, unixSeconds(clock_->now()), false);
    if (window.end < now) continue;  // catching up: the next window at once
    if (!clock_->sleepFor(std::chrono::seconds(options_.poll_interval_secs), stop)) break;
  }
  read_ahead_.reset();
}

OpenAiAuditLogSource::Collected OpenAiAuditLogSource::collectWindow(const TimeWindow& window,
                                                                    const std::stop_token& stop,
                                                                    std::vector<Event>& events,
                                                                    std::string& problem,
                                                                    std::size_t limit) {
  std::optional<std::string> after;
  bool warned_dense = false;
  // Ids kept so far: a later page may repeat one (the list moved while it was being paged).
  std::unordered_set<std::string> kept;
  // Every cursor followed in this window: one coming back means the server's pagination loops,
  // which would otherwise be followed forever. (A page whose last_id equals the `after` it was
  // asked with is already refused, and retried, by the client.)
  std::unordered_set<std::string> cursors;
  std::uint32_t empty_pages = 0;
  std::uint64_t dropped = 0;
  for (;;) {
    auto fetched = fetchAuthorized(AuditLogQuery{window.start, window.end, after}, stop);
    if (!fetched) return Collected::kStopped;
    AuditLogPage& page = fetched->page;
    const std::size_t page_events = page.events.size();
    std::uint64_t outside = 0;
    {
      // Keep only what is new, so memory is bounded by the window's new events even when the
      // re-read lookback holds many delivered ones.
      std::lock_guard lock(state_mutex_);
      for (Event& event : page.events) {
        if (event.effective_at < window.start || event.effective_at >= window.end) {
          ++outside;  // read again by the window that covers it
        } else if (!cursor_->isNew(event.id, event.effective_at) || kept.contains(event.id)) {
          ++dropped;
        } else {
          kept.insert(event.id);
          events.push_back(std::move(event));
        }
      }
    }
    telemetry_->update([outside, &dropped](OpenAiSourceStats& s) {
      ++s.pages;
      s.out_of_window += outside;
      s.duplicates_dropped += dropped;
    });
    dropped = 0;
    if (outside > 0) {
      telemetry_->onError("out_of_window");
      spdlog::warn("source {}: the API returned {} events outside the requested time range", id_,
                   outside);
    }
    if (events.size() > limit) {
      if (window.span() > 1) return Collected::kOverflow;
      if (!warned_dense) {
        spdlog::warn("source {}: one second ({}) holds more than {} events; reading it whole", id_,
                     formatRfc3339(window.start), limit);
        warned_dense = true;
      }
    }
    if (!page.has_more) return Collected::kDone;
    empty_pages = page_events == 0 ? empty_pages + 1 : 0;
    if (empty_pages >= kMaxEmptyPagesInARow) {
      telemetry_->onError("empty_pages");
      problem = fmt::format(
          "the API answered {} pages in a row with no events but has_more true (last cursor {})",
          empty_pages, page.last_id.value_or(""));
      return Collected::kFailed;
    }
    // The client guarantees a non-empty last_id when has_more is true.
    std::string next = page.last_id.value_or("");
    if (!cursors.insert(next).second) {
      telemetry_->onError("pagination_loop");
      problem = fmt::format(
          "the API's pagination loops: cursor {} came back after {} pages of this window", next,
          cursors.size());
      return Collected::kFailed;
    }
    after = std::move(next);
  }
}

std::size_t OpenAiAuditLogSource::readAheadLimit() const {
  return std::max<std::size_t>(1, options_.max_window_events / (deps_.read_ahead_windows + 1));
}

bool OpenAiAuditLogSource::readsAhead(const TimeWindow& window, std::int64_t now,
                                      std::int64_t max_span) const {
  if (deps_.read_ahead_windows == 0 || max_span <= 0) return false;
  if (read_ahead_) {
    if (auto front = read_ahead_->front(); front && front->start == window.start) return true;
  }
  return window.end <= now - static_cast<std::int64_t>(options_.lookback_secs);
}

OpenAiAuditLogSource::Collected OpenAiAuditLogSource::collectAhead(
    TimeWindow& window, std::int64_t now, std::int64_t max_span, const std::stop_token& stop,
    std::vector<Event>& events, std::string& problem, std::size_t& limit) {
  if (!read_ahead_) {
    read_ahead_ = std::make_unique<WindowReadAhead>(
        deps_.read_ahead_windows, readAheadLimit(),
        [this] {
          return std::make_unique<OpenAiClient>(options_, id_, organization_id_, *clock_,
                                                *telemetry_, deps_.unit_random, deps_.backoff,
                                                budget_);
        },
        [this](std::uint64_t outside, std::uint64_t repeated) {
          telemetry_->update([&](OpenAiSourceStats& s) {
            ++s.pages;
            s.out_of_window += outside;
            s.duplicates_dropped += repeated;
          });
          if (outside > 0) {
            telemetry_->onError("out_of_window");
            spdlog::warn("source {}: the API returned {} events outside the requested time range",
                         id_, outside);
          }
        },
        [emitter = emitter_](std::span<Event> events) {
          if (emitter != nullptr) emitter->prepare(events);
        });
  }
  limit = read_ahead_->maxEvents();
  if (auto front = read_ahead_->front(); !front || front->start != window.start) {
    read_ahead_->cancel();
    read_ahead_->schedule(window);
  }
  scheduleAhead(now, max_span);
  std::optional<WindowReadAhead::Read> read = read_ahead_->take(stop);
  if (!read) return Collected::kStopped;
  window = read->window;
  telemetry_->update([](OpenAiSourceStats& s) { ++s.windows_read_ahead; });
  switch (read->status) {
    case WindowReadAhead::Status::kDone:
      // The readers go on with the next windows while this one is emitted, already sized by what
      // it held (as runCycles will size the ones after).
      scheduleAhead(now, spanAfterFit(window, read->events.size(), limit, max_span));
      events = std::move(read->events);
      return Collected::kDone;
    case WindowReadAhead::Status::kOverflow:
      // The windows after it were planned with a span now known to be too large.
      read_ahead_->cancel();
      events = std::move(read->events);
      return Collected::kOverflow;
    case WindowReadAhead::Status::kGaveUp:
      break;
  }
  scheduleAhead(now, max_span);
  limit = options_.max_window_events;
  return collectWindow(window, stop, events, problem, limit);
}

void OpenAiAuditLogSource::scheduleAhead(std::int64_t now, std::int64_t max_span) {
  const std::int64_t old_enough = now - static_cast<std::int64_t>(options_.lookback_secs);
  while (read_ahead_->scheduled() < read_ahead_->readers()) {
    const std::optional<TimeWindow> last = read_ahead_->back();
    if (!last) return;
    TimeWindow next;
    next.start = last->end;
    next.end = std::min(next.start + max_span, old_enough);
    next.read_at = now;
    if (next.empty()) return;
    read_ahead_->schedule(next);
  }
}

std::optional<FetchResult> OpenAiAuditLogSource::fetchAuthorized(const AuditLogQuery& query,
                                                                 const std::stop_token& stop) {
  std::string last_reason;
  for (;;) {
    applyRequestedReload();
    FetchResult result = client_->fetchPage(query, stop);
    switch (result.status) {
      case FetchStatus::kPage:
        if (!last_reason.empty())
          spdlog::info("source {}: the OpenAI API accepts requests again", id_);
        not_ready_.set("");
        return result;
      case FetchStatus::kStopped:
        return std::nullopt;
      case FetchStatus::kUnauthorized:
      case FetchStatus::kRejected:
        break;
    }
    std::string reason = std::move(result.message);
    if (reason != last_reason) {
      spdlog::error("source {}: {}; retrying every {} s", id_, reason,
                    std::chrono::duration_cast<std::chrono::seconds>(deps_.refused_retry).count());
    }
    not_ready_.set(reason);
    last_reason = reason;
    if (!waitRefused(stop)) return std::nullopt;
    if (reload_requested_.load()) continue;  // re-read (and logged) before the next request
    // A rotated key file (Kubernetes secret) is picked up without a restart.
    if (auto reloaded = client_->reloadApiKey(); !reloaded) {
      not_ready_.set(fmt::format("{}; {}", reason, reloaded.error().message));
    }
  }
}

bool OpenAiAuditLogSource::waitRefused(const std::stop_token& stop) {
  std::stop_source wake;
  {
    // reload() sets the flag before it takes this lock, so it is either seen here or it finds
    // `wake` installed and ends the wait.
    std::lock_guard lock(wake_mutex_);
    if (reload_requested_.load()) return !stop.stop_requested();
    refused_wake_ = wake;
  }
  {
    std::stop_callback forward(stop, [&wake] { wake.request_stop(); });
    clock_->sleepFor(deps_.refused_retry, wake.get_token());
  }
  {
    std::lock_guard lock(wake_mutex_);
    refused_wake_ = std::stop_source(std::nostopstate);
  }
  return !stop.stop_requested();
}

void OpenAiAuditLogSource::reload() {
  if (options_.api_key_file.empty()) {
    spdlog::info("source {}: reload requested; the key is configured inline, nothing to re-read",
                 id_);
    return;
  }
  reload_requested_.store(true);
  std::lock_guard lock(wake_mutex_);
  if (refused_wake_.stop_possible()) refused_wake_.request_stop();
}

void OpenAiAuditLogSource::applyRequestedReload() {
  if (!reload_requested_.exchange(false)) return;
  telemetry_->update([](OpenAiSourceStats& s) { ++s.key_reloads; });
  if (auto reloaded = client_->reloadApiKey(); !reloaded) {
    spdlog::warn("source {}: reload: {}; the previous key stays in use", id_,
                 reloaded.error().message);
    return;
  }
  spdlog::info("source {}: reloaded the Admin API key from api_key_file {}", id_,
               options_.api_key_file);
}

void OpenAiAuditLogSource::acknowledged(std::uint64_t upto) {
  {
    std::lock_guard lock(state_mutex_);
    if (!cursor_) return;
    cursor_->acknowledged(upto);
  }
  requestPersist();
}

void OpenAiAuditLogSource::commit() { persist(); }

void OpenAiAuditLogSource::requestPersist() {
  {
    std::lock_guard lock(persist_mutex_);
    ++persist_requests_;
  }
  persist_cv_.notify_one();
}

void OpenAiAuditLogSource::startWriter() {
  if (deps_.read_only || writer_.joinable()) return;
  writer_ = std::jthread([this](const std::stop_token& stop) { writeLoop(stop); });
}

void OpenAiAuditLogSource::writeLoop(const std::stop_token& stop) {
  std::uint64_t handled = 0;
  for (;;) {
    {
      std::unique_lock lock(persist_mutex_);
      if (!persist_cv_.wait(lock, stop, [&] { return persist_requests_ != handled; })) return;
      handled = persist_requests_;
    }
    try {
      persist();
    } catch (const std::exception& e) {
      // Only allocation can fail here; the next request tries again.
      telemetry_->checkpointError("checkpoint_write");
      spdlog::error("source {}: cannot save the checkpoint: {}", id_, e.what());
    } catch (...) {
      telemetry_->checkpointError("checkpoint_write");
      spdlog::error("source {}: cannot save the checkpoint", id_);
    }
    if (deps_.checkpoint_interval.count() > 0 &&
        !clock_->sleepFor(deps_.checkpoint_interval, stop)) {
      return;
    }
  }
}

void OpenAiAuditLogSource::persist() {
  if (deps_.read_only) return;
  Snapshot snapshot;
  {
    std::lock_guard lock(state_mutex_);
    if (!cursor_) return;
    if (static_cast<std::int64_t>(cursor_->version()) == written_version_.load()) return;
    snapshot.version = cursor_->version();
    snapshot.watermark = cursor_->watermark();
    snapshot.json = serializeCursorState(cursor_->prunedState());
  }
  writeSnapshot(snapshot);
}

void OpenAiAuditLogSource::writeSnapshot(const Snapshot& snapshot) {
  std::lock_guard lock(write_mutex_);
  if (written_version_.load() >= static_cast<std::int64_t>(snapshot.version)) return;
  auto written = store_.write(checkpointName(), snapshot.json);
  if (!written) {
    telemetry_->checkpointError("checkpoint_write");
    spdlog::warn("source {}: cannot save checkpoint (will retry): {}", id_,
                 written.error().message);
    return;
  }
  written_version_.store(static_cast<std::int64_t>(snapshot.version));
  telemetry_->cursor(snapshot.watermark, unixSeconds(clock_->now()), true);
}

std::filesystem::path openAiCheckpointPath(const std::filesystem::path& data_dir,
                                           std::string_view source_id) {
  return data_dir / "checkpoints" / (std::string(source_id) + ".json");
}

Result<std::optional<CursorState>> readCheckpoint(const std::filesystem::path& data_dir,
                                                  std::string_view source_id) {
  CheckpointStore store(data_dir / "checkpoints");
  const std::string name = std::string(source_id) + ".json";
  CheckpointRead read = store.read(name, LeftoverPolicy::kKeep);
  switch (read.status) {
    case CheckpointStatus::kMissing:
      return std::optional<CursorState>();
    case CheckpointStatus::kOk: {
      simdjson::ondemand::parser parser;
      auto state = parseCursorState(read.payload, parser);
      if (!state) {
        return fail(fmt::format("checkpoint {} is corrupt: {}", store.pathOf(name).string(),
                                state.error().message));
      }
      return std::optional<CursorState>(std::move(*state));
    }
    case CheckpointStatus::kCorrupt:
    case CheckpointStatus::kError:
      break;
  }
  return fail(read.error);
}

Result<void> writeCheckpoint(const std::filesystem::path& data_dir, std::string_view source_id,
                             const CursorState& state) {
  CheckpointStore store(data_dir / "checkpoints");
  return store.write(std::string(source_id) + ".json", serializeCursorState(state));
}

}  // namespace siem
