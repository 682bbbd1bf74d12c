// Time as the agent's components see it. Injected so that tests are deterministic: a component
// never calls std::chrono clocks or sleeps directly when its behaviour depends on time.
#pragma once

#include <chrono>
#include <cstdint>
#include <stop_token>

namespace siem {

class Clock {
 public:
  virtual ~Clock() = default;

  // Wall-clock time (compared with event timestamps).
  virtual std::chrono::system_clock::time_point now() = 0;
  // Monotonic time (rate limits, intervals).
  virtual std::chrono::steady_clock::time_point monotonic() = 0;
  // Waits for `duration` or until `stop` is requested, whichever comes first. Returns false when
  // the wait ended because of `stop`.
  virtual bool sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) = 0;
};

// The real clocks. Thread-safe; sleeps wake at once when their stop token is requested.
class SystemClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() override;
  std::chrono::steady_clock::time_point monotonic() override;
  bool sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) override;
};

// Unix seconds of a wall-clock time point (floor).
std::int64_t unixSeconds(std::chrono::system_clock::time_point t);

}  // namespace siem
