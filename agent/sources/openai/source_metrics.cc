// The production wiring of OpenAiAuditLogSource to ComponentMetrics. Kept apart from source.cc so
// that code using the observer-only constructor links without the metrics implementation.
#include <memory>

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
    metrics_.auditEvent(type, toString(outcome));
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
  ComponentMetrics& metrics_;
  prometheus::Counter& windows_halved_;
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
