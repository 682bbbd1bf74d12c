// `type: openai_audit_logs` with `api: organization_logs`: the seed document's variant of the API
// (DESIGN §5, last bullet). Pages GET /organization_logs?order=asc&after=<id> oldest first, emits
// each event once, and keeps an id cursor (id_cursor.h) that moves only over the acknowledged
// prefix (DESIGN §4).
//
// Cycle: from the in-memory read position (initially the durable last_id), follow `after=last id
// of the page` while has_more, emit what is new, then wait poll_interval_secs and go again. A
// first run (no checkpoint) starts at the beginning of the log and skips events created before
// start_at (counted as intentionally discarded); that bound is persisted, so it stays the same
// across restarts. Bad pages (not JSON, truncated, has_more with empty data, a last_id that is not
// the last element's, a page that ends at its own `after`) are counted and retried by the client
// with backoff; a longer loop (a page ending at an id this pass already continued from) is counted
// as cursor_loop and the pass is retried from the last good position with backoff. Nothing of a
// bad page is emitted and the cursor does not move past it.
//
// 401/403 make the source not ready ("an organization Admin API key is required"); it retries
// every refused_retry and re-reads api_key_file each time. Other 4xx (e.g. a checkpoint id the
// server no longer knows) likewise, with a hint to reset the checkpoint.
//
// Checkpoint file: <data_dir>/checkpoints/<source_id>.organization_logs.json (framed by
// CheckpointStore; payload as in id_cursor.h). A corrupt or unreadable checkpoint makes the source
// not ready and idle until stopped: it is never reset silently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "agent/api/event.h"
#include "agent/api/result.h"
#include "agent/api/source.h"
#include "agent/config/config.h"
#include "agent/core/checkpoint_store.h"
#include "agent/core/clock.h"
#include "agent/sources/openai/client.h"
#include "agent/sources/openai/config.h"
#include "agent/sources/openai/id_cursor.h"
#include "agent/sources/openai/source.h"
#include "agent/sources/openai/source_support.h"

namespace siem {

class ComponentMetrics;

// Test seams and tunables that are not configuration.
struct OrganizationLogsSourceDeps {
  // Everything the audit_logs source reports, reported the same way (source_metrics.cc). For the
  // variant onCursor's `watermark` is the newest created_at of the delivered prefix (start_at
  // before any), or the time the source last caught up when nothing is in flight.
  std::shared_ptr<OpenAiSourceObserver> observer;  // may be null
  // Events read but deliberately not emitted (created before start_at):
  // discarded_events_total{intentional="true"}. May be empty.
  std::function<void(std::uint64_t)> on_discarded;
  Clock* clock = nullptr;                           // default: the system clocks
  std::function<double()> unit_random;              // default: a per-source PRNG; values in [0, 1)
  RetryBackoff backoff;                             // transient failures and looping cursors
  std::chrono::milliseconds refused_retry{30'000};  // after 401/403/other 4xx
  std::chrono::milliseconds checkpoint_interval{1'000};  // min time between ack-driven writes
  std::size_t recent_ids = 100'000;  // emitted ids remembered for the within-run duplicate check
  // Dry run: the cursor advances in memory but is never written to disk.
  bool read_only = false;
};

// Plain counters mirroring the metrics (readable without a metrics registry, e.g. in tests).
struct OrganizationLogsSourceStats {
  std::uint64_t pages = 0;
  std::uint64_t events_emitted = 0;
  std::uint64_t duplicates_dropped = 0;    // listed again within the run
  std::uint64_t skipped_before_start = 0;  // created before start_at
  std::uint64_t retries = 0;
  std::uint64_t checkpoint_writes = 0;
  std::map<std::string, std::uint64_t, std::less<>> errors;  // error_type → count
};

class OrganizationLogsSource final : public Source {
 public:
  // Production constructor: reports to `metrics` (may be null), which must outlive the source.
  // Defined in org_logs_source_metrics.cc.
  OrganizationLogsSource(const SourceConfig& config, const OpenAiSourceOptions& options,
                         const std::filesystem::path& data_dir, const SourceInfo& info,
                         ComponentMetrics* metrics, OrganizationLogsSourceDeps deps = {});
  // Reports only to deps.observer / deps.on_discarded.
  OrganizationLogsSource(const SourceConfig& config, const OpenAiSourceOptions& options,
                         const std::filesystem::path& data_dir, const SourceInfo& info,
                         OrganizationLogsSourceDeps deps);
  ~OrganizationLogsSource() override;

  void run(std::stop_token stop, EventEmitter& out) override;
  void acknowledged(std::uint64_t upto) override;
  void commit() override;
  std::string notReadyReason() const override;

  OrganizationLogsSourceStats stats() const;

 private:
  class Telemetry;
  struct Snapshot {
    std::string json;
    std::uint64_t version = 0;
    std::int64_t watermark = 0;
  };
  enum class Pass : std::uint8_t { kCaughtUp, kLooped, kStopped };

  void runCycles(const std::stop_token& stop, EventEmitter& out);
  Result<IdCursorState> loadCursor();
  // Pages from read_after_ until has_more is false.
  Pass readToEnd(const std::stop_token& stop, EventEmitter& out);
  std::optional<FetchResult> fetchAuthorized(const std::stop_token& stop);
  std::int64_t watermarkLocked() const;  // state_mutex_ held
  void persist(bool force);
  void writeSnapshot(const Snapshot& snapshot);
  // Sleeps `duration` in slices, persisting acknowledged progress between them.
  bool sleepPersisting(std::chrono::nanoseconds duration, const std::stop_token& stop);

  const std::string id_;
  const std::string organization_id_;
  const OpenAiSourceOptions options_;
  OrganizationLogsSourceDeps deps_;
  std::unique_ptr<Clock> owned_clock_;
  Clock* clock_;
  std::unique_ptr<Telemetry> telemetry_;
  CheckpointStore store_;
  std::unique_ptr<OpenAiClient> client_;   // used only by the run() thread
  std::optional<std::string> read_after_;  // read position; run() thread only

  mutable std::mutex state_mutex_;  // guards cursor_, caught_up_at_ and last_write_
  std::optional<IdCursor> cursor_;
  std::int64_t caught_up_at_ = 0;  // unix s when a pass last reached the end of the log
  std::chrono::steady_clock::time_point last_write_{};

  std::mutex write_mutex_;  // serializes checkpoint writes
  // Version of the cursor state last written (-1: none yet). Written under write_mutex_.
  std::atomic<std::int64_t> written_version_{-1};

  NotReadyReason not_ready_;
};

// --- For the operator CLI (`siem-agent checkpoint show|reset`) ---------------------------------

// The checkpoint file of an organization_logs source.
std::filesystem::path organizationLogsCheckpointPath(const std::filesystem::path& data_dir,
                                                     std::string_view source_id);
// The persisted cursor; nullopt when the source never ran. Does not touch leftovers of an
// interrupted write (an agent may be running). Errors name the file and what is wrong.
Result<std::optional<IdCursorState>> readOrganizationLogsCheckpoint(
    const std::filesystem::path& data_dir, std::string_view source_id);
// Replaces the cursor (run with the agent stopped; atomic). `checkpoint reset --to T` for this
// variant means IdCursorState{.last_id = nullopt, .not_before = T}: read the log again from the
// beginning, skipping events created before T. A `last_id` must be an id the server still lists.
Result<void> writeOrganizationLogsCheckpoint(const std::filesystem::path& data_dir,
                                             std::string_view source_id,
                                             const IdCursorState& state);

}  // namespace siem
