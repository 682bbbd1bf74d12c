// Reading audit logs for the operator commands (`siem-agent logs list|get|export`).
//
// LogReader is the seam between the commands and an API variant: a command asks for pages newest
// first, for a complete ascending export, or for one log by id, and never builds requests itself.
// AuditLogsReader serves the real API (GET /organization/audit_logs), OrganizationLogsReader the
// seed document's variant (GET /organization_logs, `api: organization_logs`). Both use the
// daemon's own OpenAiClient, so requests, authentication, the client-side rate limit and the retry
// policy (backoff, Retry-After) are the daemon's; the one difference is that a command gives up
// after ReaderLimits::max_attempts consecutive failures of one request instead of retrying
// forever.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "agent/api/event.h"
#include "agent/api/result.h"
#include "agent/core/clock.h"
#include "agent/sources/openai/client.h"
#include "agent/sources/openai/config.h"

namespace siem::cli {

// [since, until) in unix seconds.
struct TimeRange {
  std::int64_t since = 0;
  std::int64_t until = 0;
};

struct ReaderStats {
  std::uint64_t requests = 0;      // HTTP exchanges, failed ones included
  std::uint64_t pages = 0;         // pages received
  std::uint64_t retries = 0;       // failed attempts that were retried
  std::uint64_t events_read = 0;   // events in the pages received
  std::uint64_t duplicates = 0;    // ids received more than once within one window (dropped)
  std::uint64_t out_of_range = 0;  // events outside the requested range (dropped)
  std::uint64_t windows_halved = 0;
  // organization_logs, which has no time or type filter: events read and dropped because they
  // are outside the range (or not of the types asked for). Expected, unlike out_of_range.
  std::uint64_t not_matching = 0;
  std::uint64_t sorted_runs = 0;  // runs an export sorted on disk (0: it fitted in memory)
};

// Receives the events of one page in the API's order; returns false to stop reading.
using PageCallback = std::function<bool(std::vector<Event>& events)>;
// Receives one event; returns false to stop reading.
using EventCallback = std::function<bool(Event& event)>;
// Called after every page received, with the reader's counters (for progress reports).
using ProgressCallback = std::function<void(const ReaderStats& stats)>;

// Not thread-safe: one command uses one reader on one thread.
class LogReader {
 public:
  virtual ~LogReader() = default;

  // Every event with effective_at in `range`, newest first, a page at a time (a page may be
  // empty). Events outside the range are dropped and counted. Returns success when the last page
  // was read or `on_page` returned false; an error when the API refused the request (the message
  // says why and never holds the key), when retries were exhausted, or when stopped.
  // "Newest first" is the API's order: (effective_at, id) descending for audit_logs; most recently
  // ingested first for organization_logs (see OrganizationLogsReader).
  virtual Result<void> newestFirst(const TimeRange& range, const PageCallback& on_page) = 0;

  // Every event in `range` exactly once, ascending by (effective_at, id), in memory bounded by the
  // source's max_window_events (organization_logs: plus sorted runs on disk). Same error and
  // early-stop behaviour as newestFirst.
  virtual Result<void> ascending(const TimeRange& range, const EventCallback& on_event) = 0;

  // True when the API can fetch one log by id; otherwise callers scan with newestFirst.
  virtual bool hasLookup() const = 0;
  // The log `id`, or nullopt when the API says it does not exist. Only when hasLookup().
  virtual Result<std::optional<Event>> lookup(std::string_view id) = 0;

  virtual ReaderStats stats() const = 0;
};

// The ascending export on top of `reader.newestFirst`, as the source's backfill does it: the range
// is read in consecutive windows; each window is read whole, de-duplicated by id, sorted by
// (effective_at, id) and handed to `on_event` before the next one is read. A window that turns
// out to hold more than `max_window_events` is abandoned as soon as that is known and read again
// in smaller pieces (halved, or smaller when the part already read shows the events are denser);
// windows grow again while they come back less than a quarter full (so a doubled window rarely
// overflows and is read twice). A single second is always read whole. Duplicates and halvings
// are counted in `stats`.
Result<void> readAscendingInWindows(LogReader& reader, const TimeRange& range,
                                    std::uint32_t max_window_events, const EventCallback& on_event,
                                    ReaderStats& stats);

struct ReaderLimits {
  // Consecutive failed attempts of one request (timeouts, connection errors, 429, 5xx, malformed
  // pages) before the command gives up. Each retry waits as the daemon does.
  std::uint32_t max_attempts = 8;
  RetryBackoff backoff;
  // Where OrganizationLogsReader::ascending sorts on disk when the range does not fit in memory
  // (a private directory is created there and removed afterwards); empty: TMPDIR, else /tmp.
  std::filesystem::path spill_dir;
};

// Counts a reader's requests and ends one request's retries after max_attempts consecutive
// failures (defined in log_reader.cc).
class AttemptObserver;

// The real API: GET {base_url}/organization/audit_logs with the source's filters.
class AuditLogsReader final : public LogReader {
 public:
  // `clock` must outlive the reader. `stop` interrupts waits (rate limit, backoff) between
  // requests.
  AuditLogsReader(OpenAiSourceOptions options, std::string source_id, std::string organization_id,
                  Clock& clock, std::stop_token stop, ReaderLimits limits = {},
                  ProgressCallback progress = {});
  ~AuditLogsReader() override;
  AuditLogsReader(const AuditLogsReader&) = delete;
  AuditLogsReader& operator=(const AuditLogsReader&) = delete;

  Result<void> newestFirst(const TimeRange& range, const PageCallback& on_page) override;
  Result<void> ascending(const TimeRange& range, const EventCallback& on_event) override;
  bool hasLookup() const override { return false; }
  Result<std::optional<Event>> lookup(std::string_view id) override;
  ReaderStats stats() const override { return stats_; }

 private:
  Result<AuditLogPage> fetch(const AuditLogQuery& query);

  const std::uint32_t max_window_events_;
  std::stop_token stop_;
  ReaderLimits limits_;
  ProgressCallback progress_;
  ReaderStats stats_;
  std::unique_ptr<AttemptObserver> observer_;
  std::unique_ptr<OpenAiClient> client_;
};

// The seed variant: GET {base_url}/organization_logs, which lists in ingestion order (order=asc
// oldest-ingested first, order=desc the reverse; a late-indexed log comes after logs ingested
// before it even when it is older) and has no time or type filter, and
// GET {base_url}/organization_logs/{id}.
//   * newestFirst pages order=desc: most recently ingested first, which is newest first except for
//     late-indexed logs. With no time filter to ask for, finding every log of a range means
//     reading the whole log (a caller that needs only the first N stops early); events outside
//     the range, and of other types when options.event_types is set (a client-side filter), are
//     dropped and counted as not_matching.
//   * ascending reads the whole log once, order=asc, keeps the range and sorts it by
//     (effective_at, id) with an external merge sort (event_sorter.h): max_window_events events
//     in memory, more spilled as sorted runs under limits.spill_dir. Complete for everything
//     ingested before the read reached the end; a log listed twice is written once.
//   * lookup is a direct GET by id (404: nullopt).
// A page that ends at a position this read already continued from (a server going in circles) is
// retried with backoff like a failed request, and counts toward max_attempts. Besides the chunk,
// a read remembers one id per page.
class OrganizationLogsReader final : public LogReader {
 public:
  // `clock` must outlive the reader. `stop` interrupts waits (rate limit, backoff) between
  // requests.
  OrganizationLogsReader(OpenAiSourceOptions options, std::string source_id,
                         std::string organization_id, Clock& clock, std::stop_token stop,
                         ReaderLimits limits = {}, ProgressCallback progress = {});
  ~OrganizationLogsReader() override;
  OrganizationLogsReader(const OrganizationLogsReader&) = delete;
  OrganizationLogsReader& operator=(const OrganizationLogsReader&) = delete;

  Result<void> newestFirst(const TimeRange& range, const PageCallback& on_page) override;
  Result<void> ascending(const TimeRange& range, const EventCallback& on_event) override;
  bool hasLookup() const override { return true; }
  Result<std::optional<Event>> lookup(std::string_view id) override;
  ReaderStats stats() const override { return stats_; }

 private:
  // Pages the whole log in `order`, dropping (and counting) events that do not match, and hands
  // each page to `on_page`.
  Result<void> readAll(ListOrder order, const TimeRange& range, const PageCallback& on_page);
  Result<AuditLogPage> fetch(const std::optional<std::string>& after, ListOrder order);
  bool matches(const Event& event, const TimeRange& range) const;

  const std::uint32_t max_window_events_;
  const std::vector<std::string> event_types_;
  Clock& clock_;
  std::stop_token stop_;
  ReaderLimits limits_;
  ProgressCallback progress_;
  ReaderStats stats_;
  std::mt19937_64 random_;  // backoff jitter after a looping page
  std::unique_ptr<AttemptObserver> observer_;
  std::unique_ptr<OpenAiClient> client_;
};

// The reader for `options.api`.
Result<std::unique_ptr<LogReader>> makeLogReader(const OpenAiSourceOptions& options,
                                                 const std::string& source_id,
                                                 const std::string& organization_id, Clock& clock,
                                                 std::stop_token stop, ReaderLimits limits = {},
                                                 ProgressCallback progress = {});

}  // namespace siem::cli
