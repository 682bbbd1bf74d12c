// Capped exponential backoff with full jitter, shared by every retry loop in the agent.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace siem {

struct BackoffPolicy {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{60'000};
};

// The delay before retry number `attempt` (1 = first retry): uniform in
// [0, min(max, initial * 2^(attempt-1))] using `unit_random` in [0, 1), then raised to
// `retry_after` when the peer asked for at least that (never above it by jitter alone, never
// below it). A peer asking for more than `max` is honoured: its word wins over our cap.
std::chrono::milliseconds backoffDelay(const BackoffPolicy& policy, std::uint32_t attempt,
                                       double unit_random,
                                       std::optional<std::chrono::milliseconds> retry_after);

}  // namespace siem
