#include "agent/cli/log_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

namespace siem::cli {

// Counts what the client reports and ends a request's retries after max_attempts failures (by
// requesting stop on that request's own stop source, which makes fetchPage return kStopped).
class AuditLogsReader::Observer final : public PullObserver {
 public:
  explicit Observer(ReaderStats& stats) : stats_(stats) {}

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
      observer_(std::make_unique<Observer>(stats_)),
      client_(std::make_unique<OpenAiClient>(std::move(options), std::move(source_id),
                                             std::move(organization_id), clock, *observer_,
                                             std::function<double()>{}, limits.backoff)) {}

AuditLogsReader::~AuditLogsReader() = default;

Result<AuditLogPage> AuditLogsReader::fetch(const AuditLogQuery& query) {
  std::stop_source give_up;
  std::stop_callback forward(stop_, [&give_up] { give_up.request_stop(); });
  observer_->arm(&give_up, limits_.max_attempts);
  FetchResult result = client_->fetchPage(query, give_up.get_token());
  observer_->disarm();
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
  if (stop_.stop_requested()) return fail("interrupted");
  // The client announces each retry before the observer can stop it, so the last "retry N"
  // warning above refers to a retry that is not made.
  return fail(fmt::format(
      "giving up after {} failed attempts in a row (last problem: {}; the last retry announced "
      "above is not made)",
      observer_->failures(), observer_->lastError().empty() ? "unknown" : observer_->lastError()));
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
      break;
  }
  return fail(fmt::format(
      "source {} uses `api: organization_logs`, which the logs commands do not read yet; they "
      "read the audit_logs API (`api: audit_logs`)",
      source_id));
}

}  // namespace siem::cli
