// The production wiring of OpenAiAuditLogSource to ComponentMetrics. Kept apart from source.cc so
// that code using the observer-only constructor links without the metrics implementation.
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agent/observability/metrics.h"
#include "agent/sources/openai/source.h"

namespace siem {
namespace {

class MetricsObserver final : public OpenAiSourceObserver {
 public:
  explicit MetricsObserver(ComponentMetrics& metrics)
      : metrics_(metrics),
        windows_halved_(metrics.extraCounter(
            "openai_windows_halved_total",
            "Backfill windows of an OpenAI audit-log source that held more than "
            "max_window_events and were read again at half their span.")) {}

  void onHttpRequest(int status, double seconds) override { metrics_.httpRequest(status, seconds); }
  void onError(std::string_view error_type) override { metrics_.error(error_type, "pull"); }
  void onRetry(std::chrono::milliseconds /*delay*/) override { metrics_.retries.Increment(); }
  void onUtf8Repaired() override { metrics_.error("invalid_utf8", "pull"); }
  void onEventEmitted(std::string_view type, Outcome outcome, std::size_t bytes) override {
    metrics_.received_events.Increment();
    metrics_.received_bytes.Increment(static_cast<double>(bytes));
    auditCounter(type, outcome).Increment();
  }
  void onCheckpointError(std::string_view error_type) override {
    metrics_.error(error_type, "checkpoint");
  }
  void onCursor(std::int64_t watermark, std::int64_t now_unix, bool persisted) override {
    metrics_.source_lag.Set(static_cast<double>(std::max<std::int64_t>(0, now_unix - watermark)));
    if (persisted) metrics_.checkpoint_timestamp.Set(static_cast<double>(watermark));
  }
  void onWindowHalved() override { windows_halved_.Increment(); }

 private:
  // The audit_events_total child for the pair, remembered per type: the metrics' own lookup
  // (a lock and a map keyed by the pair) is paid once per type instead of once per event.
  prometheus::Counter& auditCounter(std::string_view type, Outcome outcome) {
    const auto o = static_cast<std::size_t>(outcome);
    auto it = audit_counters_.find(type);
    if (it == audit_counters_.end() || o >= kOutcomes) {
      // Types beyond the bound are not remembered (the metrics map them to "other" anyway).
      if (audit_counters_.size() >= kMaxRememberedTypes || o >= kOutcomes)
        return metrics_.auditEventCounter(type, toString(outcome));
      it = audit_counters_.emplace(std::string(type), ByOutcome{}).first;
    }
    prometheus::Counter*& counter = it->second[o];
    if (counter == nullptr) counter = &metrics_.auditEventCounter(type, toString(outcome));
    return *counter;
  }

  static constexpr std::size_t kMaxRememberedTypes = 1024;
  static constexpr std::size_t kOutcomes = 3;  // Outcome's values
  using ByOutcome = std::array<prometheus::Counter*, kOutcomes>;
  struct TypeHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  ComponentMetrics& metrics_;
  prometheus::Counter& windows_halved_;
  // Used by onEventEmitted only, which a source calls from its own thread.
  std::unordered_map<std::string, ByOutcome, TypeHash, std::equal_to<>> audit_counters_;
};

OpenAiSourceDeps withMetrics(OpenAiSourceDeps deps, ComponentMetrics* metrics) {
  if (metrics != nullptr && !deps.observer)
    deps.observer = std::make_shared<MetricsObserver>(*metrics);
  return deps;
}

}  // namespace

std::shared_ptr<OpenAiSourceObserver> makeOpenAiSourceMetricsObserver(ComponentMetrics& metrics) {
  return std::make_shared<MetricsObserver>(metrics);
}

OpenAiAuditLogSource::OpenAiAuditLogSource(const SourceConfig& config,
                                           const OpenAiSourceOptions& options,
                                           const std::filesystem::path& data_dir,
                                           const SourceInfo& info, ComponentMetrics* metrics,
                                           OpenAiSourceDeps deps)
    : OpenAiAuditLogSource(config, options, data_dir, info, withMetrics(std::move(deps), metrics)) {
}

}  // namespace siem
