// A Clock for tests: wall time is set by the test; sleeps are recorded, advance monotonic time
// by the requested amount and return almost at once (a 1 ms real pause keeps polling loops from
// spinning), or at once when stopped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include "agent/core/clock.h"

namespace siem::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(std::int64_t unix_now) : wall_(std::chrono::seconds(unix_now)) {}

  std::chrono::system_clock::time_point now() override {
    std::lock_guard lock(mutex_);
    return std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(wall_));
  }
  std::chrono::steady_clock::time_point monotonic() override {
    std::lock_guard lock(mutex_);
    return std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(mono_));
  }
  bool sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) override {
    {
      std::lock_guard lock(mutex_);
      sleeps_.push_back(duration);
      if (duration > std::chrono::nanoseconds::zero()) mono_ += duration;
    }
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait_for(lock, stop, std::chrono::milliseconds(1), [] { return false; });
    return !stop.stop_requested();
  }

  void setNow(std::int64_t unix_now) {
    std::lock_guard lock(mutex_);
    wall_ = std::chrono::seconds(unix_now);
  }
  void advance(std::chrono::nanoseconds d) {
    std::lock_guard lock(mutex_);
    wall_ += d;
    mono_ += d;
  }
  std::vector<std::chrono::nanoseconds> sleeps() const {
    std::lock_guard lock(mutex_);
    return sleeps_;
  }

 private:
  mutable std::mutex mutex_;  // guards everything below
  std::chrono::nanoseconds wall_;
  std::chrono::nanoseconds mono_{std::chrono::hours(1)};
  std::vector<std::chrono::nanoseconds> sleeps_;
};

}  // namespace siem::testing
