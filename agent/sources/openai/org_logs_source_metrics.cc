// The production wiring of OrganizationLogsSource to ComponentMetrics: the audit_logs source's
// observer (source_metrics.cc) plus the intentional-discard counter for events before start_at.
#include "agent/observability/metrics.h"
#include "agent/sources/openai/org_logs_source.h"

namespace siem {
namespace {

OrganizationLogsSourceDeps withMetrics(OrganizationLogsSourceDeps deps, ComponentMetrics* metrics) {
  if (metrics == nullptr) return deps;
  if (!deps.observer) deps.observer = makeOpenAiSourceMetricsObserver(*metrics);
  if (!deps.on_discarded) {
    deps.on_discarded = [metrics](std::uint64_t n) {
      metrics->discarded_intentional.Increment(static_cast<double>(n));
    };
  }
  return deps;
}

}  // namespace

OrganizationLogsSource::OrganizationLogsSource(const SourceConfig& config,
                                               const OpenAiSourceOptions& options,
                                               const std::filesystem::path& data_dir,
                                               const SourceInfo& info, ComponentMetrics* metrics,
                                               OrganizationLogsSourceDeps deps)
    : OrganizationLogsSource(config, options, data_dir, info,
                             withMetrics(std::move(deps), metrics)) {}

}  // namespace siem
