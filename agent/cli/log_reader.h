// Reading audit logs for the operator commands (`siem-agent logs list|get|export`).
//
// LogReader is the seam between the commands and an API variant: a command asks for pages newest
// first, for a complete ascending export, or for one log by id, and never builds requests itself.
// AuditLogsReader serves the real API (GET /organization/audit_logs) with the daemon's own
// OpenAiClient, so requests, authentication, the client-side rate limit and the retry policy
// (backoff, Retry-After) are the daemon's; the one difference is that a command gives up after
// ReaderLimits::max_attempts consecutive failures of one request instead of retrying forever.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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
  virtual Result<void> newestFirst(const TimeRange& range, const PageCallback& on_page) = 0;

  // Every event in `range` exactly once, ascending by (effective_at, id), in memory bounded by the
  // source's max_window_events. Same error and early-stop behaviour as newestFirst.
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
};

// The real API: GET {base_url}/organization/audit_logs with the source's filters.
class AuditLogsReader final : public LogReader {
 public:
  // `clock` must outlive the reader. `stop` interrupts waits (rate limit, backoff) between
  // requests.
  AuditLogsReader(OpenAiSourceOptions options, std::string source_id, std::string organization_id,
                  Clock& clock, std::stop_token stop, ReaderLimits limits = {},
                  ProgressCallback progress = {});
  ~AuditLogsReader() override;

  Result<void> newestFirst(const TimeRange& range, const PageCallback& on_page) override;
  Result<void> ascending(const TimeRange& range, const EventCallback& on_event) override;
  bool hasLookup() const override { return false; }
  Result<std::optional<Event>> lookup(std::string_view id) override;
  ReaderStats stats() const override { return stats_; }

 private:
  class Observer;

  Result<AuditLogPage> fetch(const AuditLogQuery& query);

  const std::uint32_t max_window_events_;
  std::stop_token stop_;
  ReaderLimits limits_;
  ProgressCallback progress_;
  ReaderStats stats_;
  std::unique_ptr<Observer> observer_;
  std::unique_ptr<OpenAiClient> client_;
};

// The reader for `options.api`. Fails, with a message for the operator, for a variant the
// commands do not serve yet (api: organization_logs).
Result<std::unique_ptr<LogReader>> makeLogReader(const OpenAiSourceOptions& options,
                                                 const std::string& source_id,
                                                 const std::string& organization_id, Clock& clock,
                                                 std::stop_token stop, ReaderLimits limits = {},
                                                 ProgressCallback progress = {});

}  // namespace siem::cli
