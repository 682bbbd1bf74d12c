#include "agent/cli/log_reader.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_set>

#include "agent/cli/event_sorter.h"

namespace siem::cli {

// Counts what the client reports and ends a request's retries after max_attempts failures (by
// requesting stop on that request's own stop source, which makes the client return kStopped).
class AttemptObserver final : public PullObserver {
 public:
  explicit AttemptObserver(ReaderStats& stats) : stats_(stats) {}

  // Starts counting the failures of one request; `give_up` must outlive the request.
  void arm(std::stop_source* give_up, std::uint32_t max_attempts) {
    give_up_ = give_up;
    max_attempts_ = std::max<std::uint32_t>(1, max_attempts);
    failures_ = 0;
    last_error_.clear();
  }
  void disarm() { give_up_ = nullptr; }
  std::uint32_t failures() const { return failures_; }
  const std::string& lastError() const { return last_error_; }

  void onHttpRequest(int /*status*/, double /*seconds*/) override { ++stats_.requests; }
  void onError(std::string_view error_type) override { last_error_.assign(error_type); }
  void onRetry(std::chrono::milliseconds /*delay*/) override {
    ++failures_;
    if (failures_ >= max_attempts_) {
      if (give_up_ != nullptr) give_up_->request_stop();
      return;
    }
    ++stats_.retries;
  }
  void onUtf8Repaired() override {}

 private:
  ReaderStats& stats_;
  std::stop_source* give_up_ = nullptr;
  std::uint32_t max_attempts_ = 1;
  std::uint32_t failures_ = 0;
  std::string last_error_;
};

namespace {

// The attempts of one request: its stop source is triggered by the reader's stop and by the
// observer after max_attempts failures.
class AttemptScope {
 public:
  AttemptScope(AttemptObserver& observer, const std::stop_token& outer, std::uint32_t max_attempts)
      : observer_(observer), forward_(outer, Forward{&give_up_}) {
    observer_.arm(&give_up_, max_attempts);
  }
  ~AttemptScope() { observer_.disarm(); }
  AttemptScope(const AttemptScope&) = delete;
  AttemptScope& operator=(const AttemptScope&) = delete;

  std::stop_token token() const { return give_up_.get_token(); }

 private:
  struct Forward {
    std::stop_source* target;
    void operator()() const { target->request_stop(); }
  };
  AttemptObserver& observer_;
  std::stop_source give_up_;  // before forward_, which may fire while it is constructed
  std::stop_callback<Forward> forward_;
};

// Why a request ended without an answer: the reader was stopped, or the attempts ran out.
tl::unexpected<Error> stoppedError(const std::stop_token& outer, const AttemptObserver& observer) {
  if (outer.stop_requested()) return fail("interrupted");
  // The client announces each retry before the observer can stop it, so the last "retry N"
  // warning above refers to a retry that is not made.
  return fail(fmt::format(
      "giving up after {} failed attempts in a row (last problem: {}; the last retry announced "
      "above is not made)",
      observer.failures(), observer.lastError().empty() ? "unknown" : observer.lastError()));
}

}  // namespace

Result<void> readAscendingInWindows(LogReader& reader, const TimeRange& range,
                                    std::uint32_t max_window_events, const EventCallback& on_event,
                                    ReaderStats& stats) {
  const std::size_t max_events = std::max<std::uint32_t>(1, max_window_events);
  const std::int64_t whole = range.until - range.since;
  std::int64_t start = range.since;
  std::int64_t span = 0;  // 0: up to range.until
  std::vector<Event> events;
  std::unordered_set<std::string> ids;
  while (start < range.until) {
    const std::int64_t end = span > 0 ? std::min(range.until, start + span) : range.until;
    events.clear();
    ids.clear();
    bool overflow = false;
    std::int64_t oldest = end;
    auto read = reader.newestFirst(TimeRange{start, end}, [&](std::vector<Event>& page) {
      for (Event& event : page) {
        if (!ids.insert(event.id).second) {
          ++stats.duplicates;
          continue;
        }
        oldest = std::min(oldest, event.effective_at);
        events.push_back(std::move(event));
      }
      if (events.size() > max_events && end - start > 1) {
        overflow = true;
        return false;
      }
      return true;
    });
    if (!read) return read;
    if (overflow) {
      ++stats.windows_halved;
      // [oldest, end) alone already holds more than max_events (pages come newest first).
      span = std::max<std::int64_t>(1, std::min((end - start) / 2, (end - oldest) / 2));
      continue;
    }
    std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
      return a.effective_at != b.effective_at ? a.effective_at < b.effective_at : a.id < b.id;
    });
    for (Event& event : events) {
      if (!on_event(event)) return {};
    }
    if (span > 0 && events.size() < max_events / 4) span = std::min(span * 2, whole);
    start = end;
  }
  return {};
}

AuditLogsReader::AuditLogsReader(OpenAiSourceOptions options, std::string source_id,
                                 std::string organization_id, Clock& clock, std::stop_token stop,
                                 ReaderLimits limits, ProgressCallback progress)
    : max_window_events_(options.max_window_events),
      stop_(std::move(stop)),
      limits_(limits),
      progress_(std::move(progress)),
      observer_(std::make_unique<AttemptObserver>(stats_)),
      client_(std::make_unique<OpenAiClient>(std::move(options), std::move(source_id),
                                             std::move(organization_id), clock, *observer_,
                                             std::function<double()>{}, limits.backoff)) {}

AuditLogsReader::~AuditLogsReader() = default;

Result<AuditLogPage> AuditLogsReader::fetch(const AuditLogQuery& query) {
  FetchResult result;
  {
    AttemptScope attempts(*observer_, stop_, limits_.max_attempts);
    result = client_->fetchPage(query, attempts.token());
  }
  switch (result.status) {
    case FetchStatus::kPage:
      ++stats_.pages;
      return std::move(result.page);
    case FetchStatus::kUnauthorized:
    case FetchStatus::kRejected:
      return fail(std::move(result.message));
    case FetchStatus::kStopped:
      break;
  }
  return stoppedError(stop_, *observer_);
}

Result<void> AuditLogsReader::newestFirst(const TimeRange& range, const PageCallback& on_page) {
  std::optional<std::string> after;
  while (range.since < range.until) {
    auto page = fetch(AuditLogQuery{range.since, range.until, after});
    if (!page) return tl::unexpected(std::move(page.error()));
    stats_.events_read += page->events.size();
    const auto outside = std::erase_if(page->events, [&range](const Event& event) {
      return event.effective_at < range.since || event.effective_at >= range.until;
    });
    stats_.out_of_range += outside;
    if (progress_) progress_(stats_);
    if (!on_page(page->events)) return {};
    if (!page->has_more) return {};
    after = std::move(page->last_id);
  }
  return {};
}

Result<void> AuditLogsReader::ascending(const TimeRange& range, const EventCallback& on_event) {
  return readAscendingInWindows(*this, range, max_window_events_, on_event, stats_);
}

Result<std::optional<Event>> AuditLogsReader::lookup(std::string_view /*id*/) {
  return fail("the audit_logs API has no get-by-id");
}

OrganizationLogsReader::OrganizationLogsReader(OpenAiSourceOptions options, std::string source_id,
                                               std::string organization_id, Clock& clock,
                                               std::stop_token stop, ReaderLimits limits,
                                               ProgressCallback progress)
    : max_window_events_(options.max_window_events),
      event_types_(options.event_types),
      clock_(clock),
      stop_(std::move(stop)),
      limits_(std::move(limits)),
      progress_(std::move(progress)),
      random_(std::random_device{}()),
      observer_(std::make_unique<AttemptObserver>(stats_)),
      client_(std::make_unique<OpenAiClient>(std::move(options), std::move(source_id),
                                             std::move(organization_id), clock, *observer_,
                                             std::function<double()>{}, limits_.backoff)) {}

OrganizationLogsReader::~OrganizationLogsReader() = default;

bool OrganizationLogsReader::matches(const Event& event, const TimeRange& range) const {
  if (event.effective_at < range.since || event.effective_at >= range.until) return false;
  return event_types_.empty() ||
         std::find(event_types_.begin(), event_types_.end(), event.type) != event_types_.end();
}

Result<AuditLogPage> OrganizationLogsReader::fetch(const std::optional<std::string>& after,
                                                   ListOrder order) {
  FetchResult result;
  {
    AttemptScope attempts(*observer_, stop_, limits_.max_attempts);
    result = client_->fetchOrganizationLogsPage(after, attempts.token(), order);
  }
  switch (result.status) {
    case FetchStatus::kPage:
      ++stats_.pages;
      return std::move(result.page);
    case FetchStatus::kUnauthorized:
    case FetchStatus::kRejected:
      return fail(std::move(result.message));
    case FetchStatus::kStopped:
      break;
  }
  return stoppedError(stop_, *observer_);
}

Result<void> OrganizationLogsReader::readAll(ListOrder order, const TimeRange& range,
                                             const PageCallback& on_page) {
  if (range.since >= range.until) return {};
  std::optional<std::string> after;
  // Positions this read continued from: in an append-only list no later page can end at one.
  std::unordered_set<std::string> continued_from;
  std::uint32_t loops = 0;  // consecutive looping answers to the same request
  for (;;) {
    auto page = fetch(after, order);
    if (!page) return tl::unexpected(std::move(page.error()));
    if (page->has_more && page->last_id && continued_from.contains(*page->last_id)) {
      ++loops;
      observer_->onError("cursor_loop");
      if (loops >= std::max<std::uint32_t>(1, limits_.max_attempts)) {
        return fail(fmt::format(
            "giving up after {} failed attempts in a row: the API is going in circles (the page "
            "after {} ends at {}, which this read already continued from)",
            loops, after.value_or("the start"), *page->last_id));
      }
      ++stats_.retries;
      const auto delay =
          retryDelay(limits_.backoff, loops,
                     std::uniform_real_distribution<double>(0.0, 1.0)(random_), std::nullopt);
      spdlog::warn(
          "looping cursor: the page after {} ends at {}, which this read already "
          "continued from; asking again in {} ms",
          after.value_or("the start"), *page->last_id, delay.count());
      if (!clock_.sleepFor(delay, stop_)) return fail("interrupted");
      continue;
    }
    loops = 0;
    stats_.events_read += page->events.size();
    stats_.not_matching += std::erase_if(
        page->events, [this, &range](const Event& event) { return !matches(event, range); });
    if (progress_) progress_(stats_);
    if (!on_page(page->events)) return {};
    if (!page->has_more) return {};
    if (after) continued_from.insert(std::move(*after));
    after = std::move(page->last_id);
  }
}

Result<void> OrganizationLogsReader::newestFirst(const TimeRange& range,
                                                 const PageCallback& on_page) {
  return readAll(ListOrder::kDescending, range, on_page);
}

Result<void> OrganizationLogsReader::ascending(const TimeRange& range,
                                               const EventCallback& on_event) {
  EventSorter sorter(max_window_events_, limits_.spill_dir);
  Result<void> added;
  auto read = readAll(ListOrder::kAscending, range, [&](std::vector<Event>& page) {
    for (Event& event : page) {
      added = sorter.add(std::move(event));
      if (!added) return false;
    }
    return true;
  });
  Result<void> done = read;
  if (done && !added) done = added;
  if (done) {
    // The merge makes no requests, so a stop is noticed here.
    done = sorter.finish(
        [this, &on_event](Event& event) { return !stop_.stop_requested() && on_event(event); });
    if (done && stop_.stop_requested()) done = fail("interrupted");
  }
  stats_.duplicates += sorter.duplicates();
  stats_.sorted_runs += sorter.runsWritten();
  return done;
}

Result<std::optional<Event>> OrganizationLogsReader::lookup(std::string_view id) {
  if (id.empty()) return std::optional<Event>();
  LookupResult result;
  {
    AttemptScope attempts(*observer_, stop_, limits_.max_attempts);
    result = client_->fetchOrganizationLog(id, attempts.token());
  }
  switch (result.status) {
    case LookupStatus::kFound:
      return std::optional<Event>(std::move(result.event));
    case LookupStatus::kNotFound:
      return std::optional<Event>();
    case LookupStatus::kUnauthorized:
    case LookupStatus::kRejected:
      return fail(std::move(result.message));
    case LookupStatus::kStopped:
      break;
  }
  return stoppedError(stop_, *observer_);
}

Result<std::unique_ptr<LogReader>> makeLogReader(const OpenAiSourceOptions& options,
                                                 const std::string& source_id,
                                                 const std::string& organization_id, Clock& clock,
                                                 std::stop_token stop, ReaderLimits limits,
                                                 ProgressCallback progress) {
  switch (options.api) {
    case OpenAiApiVariant::kAuditLogs:
      return std::unique_ptr<LogReader>(
          std::make_unique<AuditLogsReader>(options, source_id, organization_id, clock,
                                            std::move(stop), limits, std::move(progress)));
    case OpenAiApiVariant::kOrganizationLogs:
      return std::unique_ptr<LogReader>(
          std::make_unique<OrganizationLogsReader>(options, source_id, organization_id, clock,
                                                   std::move(stop), limits, std::move(progress)));
  }
  return fail("unknown API variant");
}

}  // namespace siem::cli
