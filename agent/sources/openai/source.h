// `type: openai_audit_logs`: pulls GET /organization/audit_logs with the time-window cursor of
// window.h, emits each new audit log once in (effective_at, id) order, and persists the cursor as
// acknowledgements arrive (DESIGN §4, §5).
//
// Checkpoint file: <data_dir>/checkpoints/<source_id>.json (framed by CheckpointStore). A corrupt
// checkpoint makes the source not ready and idle until stopped: it is never reset silently.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "agent/api/event.h"
#include "agent/api/result.h"
#include "agent/api/source.h"
#include "agent/config/config.h"
#include "agent/core/checkpoint_store.h"
#include "agent/core/clock.h"
#include "agent/sources/openai/client.h"
#include "agent/sources/openai/config.h"
#include "agent/sources/openai/read_ahead.h"
#include "agent/sources/openai/source_support.h"
#include "agent/sources/openai/window.h"

namespace siem {

class ComponentMetrics;

// Everything the source reports. The production implementation forwards to ComponentMetrics
// (source_metrics.cc); tests observe directly. Called from the source thread, except onCursor and
// onCheckpointError which may also come from the checkpoint writer and the thread calling
// commit().
class OpenAiSourceObserver : public PullObserver {
 public:
  // An event the pipeline took: received_events/bytes, audit_events{type,outcome}. Called from
  // the source's own thread only.
  virtual void onEventEmitted(std::string_view type, Outcome outcome, std::size_t bytes) = 0;
  // errors_total{error_type, stage="checkpoint"}: checkpoint_write, checkpoint_corrupt,
  // checkpoint_unreadable, checkpoint_leftover_temp.
  virtual void onCheckpointError(std::string_view error_type) = 0;
  // The cursor moved or was persisted: source_lag_seconds = now - watermark;
  // checkpoint_timestamp_seconds = watermark when `persisted`.
  virtual void onCursor(std::int64_t watermark, std::int64_t now_unix, bool persisted) = 0;
  // A backfill window held more than max_window_events and is read again at half its span.
  virtual void onWindowHalved() {}
};

// Test seams and tunables that are not configuration.
struct OpenAiSourceDeps {
  std::shared_ptr<OpenAiSourceObserver> observer;   // may be null
  Clock* clock = nullptr;                           // default: the system clocks
  std::function<double()> unit_random;              // default: a per-source PRNG; values in [0, 1)
  RetryBackoff backoff;                             // transient failures
  std::chrono::milliseconds refused_retry{30'000};  // after 401/403/other 4xx (reload() wakes it)
  // Least time between two checkpoint writes of the background writer. 0: write as soon as the
  // previous write has finished, so acknowledgements that arrive during a write are coalesced
  // into the next one and a crash re-sends at most what was acknowledged during one write.
  std::chrono::milliseconds checkpoint_interval{0};
  // Dry run: the cursor advances in memory (so cycles move on) but is never written to disk.
  bool read_only = false;
  // While catching up, windows read ahead of the one being emitted, on as many threads with a
  // connection each (read_ahead.h); 0 reads one window after another. unit_random is then
  // called from these threads too.
  std::size_t read_ahead_windows = 3;
};

// Plain counters mirroring the metrics (readable without a metrics registry, e.g. in tests).
struct OpenAiSourceStats {
  std::uint64_t pages = 0;
  std::uint64_t events_emitted = 0;
  std::uint64_t duplicates_dropped = 0;  // already delivered (lookback re-read) or in flight
  std::uint64_t retries = 0;
  std::uint64_t windows_halved = 0;
  std::uint64_t windows_read_ahead = 0;  // windows read by reader threads while catching up
  std::uint64_t window_failures = 0;     // windows abandoned (pagination loop) and read again later
  std::uint64_t key_reloads = 0;         // api_key_file re-read on request (reload())
  std::uint64_t out_of_window = 0;  // events outside the queried range (server bug; re-read later)
  std::uint64_t checkpoint_writes = 0;
  std::map<std::string, std::uint64_t, std::less<>> errors;  // error_type → count
};

class OpenAiAuditLogSource final : public Source {
 public:
  // Production constructor: reports to `metrics` (may be null). Defined in source_metrics.cc so
  // that code which never touches metrics does not need the metrics implementation linked.
  // `metrics` must outlive the source.
  OpenAiAuditLogSource(const SourceConfig& config, const OpenAiSourceOptions& options,
                       const std::filesystem::path& data_dir, const SourceInfo& info,
                       ComponentMetrics* metrics, OpenAiSourceDeps deps = {});
  // Reports only to deps.observer.
  OpenAiAuditLogSource(const SourceConfig& config, const OpenAiSourceOptions& options,
                       const std::filesystem::path& data_dir, const SourceInfo& info,
                       OpenAiSourceDeps deps);
  ~OpenAiAuditLogSource() override;

  void run(std::stop_token stop, EventEmitter& out) override;
  // Records the acknowledged prefix and hands the write to the checkpoint writer (no I/O here:
  // this runs on a sink thread under the pipeline's ack lock).
  void acknowledged(std::uint64_t upto) override;
  // Writes the cursor now, on the calling thread.
  void commit() override;
  std::string notReadyReason() const override;
  // SIGHUP: api_key_file is re-read before the next request, and a source waiting out its slow
  // retry after 401/403 retries at once. Thread-safe; never blocks on the run thread.
  void reload() override;

  OpenAiSourceStats stats() const;

 private:
  class Telemetry;
  struct Snapshot {
    std::string json;
    std::uint64_t version;
    std::int64_t watermark;
  };
  // kFailed: the API's pages cannot be followed (a repeated cursor, endless empty pages); nothing
  // of the window was emitted and it is read again after a backoff.
  enum class Collected : std::uint8_t { kDone, kOverflow, kFailed, kStopped };

  void runCycles(const std::stop_token& stop, EventEmitter& out);
  Result<CursorState> loadCursor();
  // Reads every page of `window`; kOverflow once it holds more than `limit` new events.
  Collected collectWindow(const TimeWindow& window, const std::stop_token& stop,
                          std::vector<Event>& events, std::string& problem, std::size_t limit);
  // The events a window read ahead may hold: those held while catching up (one per reader and
  // the one being emitted) stay within max_window_events together.
  std::size_t readAheadLimit() const;
  // Whether `window` (planned at `now` with `max_span`) is one a backfill reads ahead.
  bool readsAhead(const TimeWindow& window, std::int64_t now, std::int64_t max_span) const;
  // collectWindow for a window that readsAhead(): takes it from the read-ahead (scheduling it
  // first when it is not the next one there), keeps the read-ahead busy with the windows after it,
  // and reads it here when a reader gave up. May shorten `window` to the one that was scheduled
  // (same start). Sets `limit` to the event limit the window was read with.
  Collected collectAhead(TimeWindow& window, std::int64_t now, std::int64_t max_span,
                         const std::stop_token& stop, std::vector<Event>& events,
                         std::string& problem, std::size_t& limit);
  void scheduleAhead(std::int64_t now, std::int64_t max_span);
  std::optional<FetchResult> fetchAuthorized(const AuditLogQuery& query,
                                             const std::stop_token& stop);
  // Re-reads api_key_file if reload() asked for it. Run thread only.
  void applyRequestedReload();
  // The slow retry after a refusal; ends early on reload(). False when stopped.
  bool waitRefused(const std::stop_token& stop);
  // Writes the cursor on the calling thread if it changed since the last write.
  void persist();
  // Wakes the checkpoint writer (cheap; any thread).
  void requestPersist();
  void startWriter();
  void writeLoop(const std::stop_token& stop);
  void writeSnapshot(const Snapshot& snapshot);
  std::string checkpointName() const { return id_ + ".json"; }

  const std::string id_;
  const std::string organization_id_;
  const OpenAiSourceOptions options_;
  OpenAiSourceDeps deps_;
  std::unique_ptr<Clock> owned_clock_;
  Clock* clock_;
  std::unique_ptr<Telemetry> telemetry_;
  CheckpointStore store_;
  std::unique_ptr<OpenAiClient> client_;         // used only by the run() thread
  std::function<double()> unit_random_;          // run() thread only
  std::shared_ptr<RequestBudget> budget_;        // max_requests_per_sec, shared with the readers
  std::unique_ptr<WindowReadAhead> read_ahead_;  // while catching up; used only by run()
  // run()'s emitter, whose prepare() the readers call; set only while run() is active, and
  // read_ahead_ (whose readers use it) never outlives run().
  const EventEmitter* emitter_ = nullptr;

  mutable std::mutex state_mutex_;  // guards cursor_
  std::optional<WindowCursor> cursor_;

  std::mutex write_mutex_;  // serializes checkpoint writes
  // Version of the cursor state last written (-1: none yet). Written under write_mutex_.
  std::atomic<std::int64_t> written_version_{-1};

  NotReadyReason not_ready_;

  std::atomic<bool> reload_requested_{false};
  std::mutex wake_mutex_;  // guards refused_wake_
  // Stoppable while run() waits out a refusal, so reload() can end the wait.
  std::stop_source refused_wake_{std::nostopstate};

  std::mutex persist_mutex_;  // guards persist_requests_
  std::condition_variable_any persist_cv_;
  std::uint64_t persist_requests_ = 0;
  // The checkpoint writer: started by run(), stopped by the destructor (acknowledgements and
  // their writes go on while the pipeline drains after run() returned). Declared last so it
  // stops before anything it uses is destroyed.
  std::jthread writer_;
};

// The production observer: forwards to `metrics` (which must outlive it). Defined in
// source_metrics.cc; shared with the organization_logs variant (org_logs_source.h).
std::shared_ptr<OpenAiSourceObserver> makeOpenAiSourceMetricsObserver(ComponentMetrics& metrics);

// The checkpoint file of a source.
std::filesystem::path openAiCheckpointPath(const std::filesystem::path& data_dir,
                                           std::string_view source_id);
// For `siem-agent checkpoint show`: the persisted cursor, nullopt when the source never ran. Does
// not touch leftovers of an interrupted write (an agent may be running).
Result<std::optional<CursorState>> readCheckpoint(const std::filesystem::path& data_dir,
                                                  std::string_view source_id);
// For `siem-agent checkpoint reset [--to T]` (run with the agent stopped): replaces the cursor.
Result<void> writeCheckpoint(const std::filesystem::path& data_dir, std::string_view source_id,
                             const CursorState& state);

}  // namespace siem
