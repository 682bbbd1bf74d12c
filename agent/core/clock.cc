#include "agent/core/clock.h"

#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace siem {

std::chrono::system_clock::time_point SystemClock::now() {
  return std::chrono::system_clock::now();
}

std::chrono::steady_clock::time_point SystemClock::monotonic() {
  return std::chrono::steady_clock::now();
}

bool SystemClock::sleepFor(std::chrono::nanoseconds duration, std::stop_token stop) {
  if (stop.stop_requested()) return false;
  if (duration <= std::chrono::nanoseconds::zero()) return true;
  // A private condition variable per wait: only the stop token ever wakes it.
  std::mutex mutex;
  std::condition_variable_any cv;
  std::unique_lock lock(mutex);
  cv.wait_for(lock, stop, duration, [] { return false; });
  return !stop.stop_requested();
}

std::int64_t unixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace siem
