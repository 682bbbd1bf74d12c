#include "agent/core/backoff.h"

#include <algorithm>

namespace siem {

std::chrono::milliseconds backoffDelay(const BackoffPolicy& policy, std::uint32_t attempt,
                                       double unit_random,
                                       std::optional<std::chrono::milliseconds> retry_after) {
  using std::chrono::milliseconds;
  const auto max_ms = static_cast<double>(std::max<std::int64_t>(policy.max.count(), 0));
  double ceiling = static_cast<double>(std::max<std::int64_t>(policy.initial.count(), 1));
  for (std::uint32_t i = 1; i < attempt && ceiling < max_ms; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, max_ms);
  const double r = std::clamp(unit_random, 0.0, 1.0);
  milliseconds delay{static_cast<std::int64_t>(ceiling * r)};
  if (retry_after && *retry_after > delay) delay = *retry_after;
  return delay;
}

}  // namespace siem
