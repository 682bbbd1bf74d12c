// What both OpenAI sources (audit_logs and organization_logs) count for stats() and forward to
// their observer. `Stats` needs `retries`, `events_emitted`, `checkpoint_writes` and an `errors`
// map keyed by error type. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "agent/api/event.h"
#include "agent/sources/openai/client.h"
#include "agent/sources/openai/source.h"

namespace siem {

template <typename Stats>
class SourceTelemetry : public PullObserver {
 public:
  explicit SourceTelemetry(std::shared_ptr<OpenAiSourceObserver> next) : next_(std::move(next)) {}

  void onHttpRequest(int status, double seconds) override {
    if (next_) next_->onHttpRequest(status, seconds);
  }
  void onError(std::string_view error_type) override {
    count(error_type);
    if (next_) next_->onError(error_type);
  }
  void onRetry(std::chrono::milliseconds delay) override {
    update([](Stats& s) { ++s.retries; });
    if (next_) next_->onRetry(delay);
  }
  void onUtf8Repaired() override {
    count("invalid_utf8");
    if (next_) next_->onUtf8Repaired();
  }

  void checkpointError(std::string_view error_type) {
    count(error_type);
    if (next_) next_->onCheckpointError(error_type);
  }
  void eventEmitted(std::string_view type, Outcome outcome, std::size_t bytes) {
    update([](Stats& s) { ++s.events_emitted; });
    if (next_) next_->onEventEmitted(type, outcome, bytes);
  }
  void cursor(std::int64_t watermark, std::int64_t now_unix, bool persisted) {
    if (persisted) update([](Stats& s) { ++s.checkpoint_writes; });
    if (next_) next_->onCursor(watermark, now_unix, persisted);
  }
  template <typename F>
  void update(F&& f) {
    std::lock_guard lock(mutex_);
    f(stats_);
  }
  Stats snapshot() const {
    std::lock_guard lock(mutex_);
    return stats_;
  }

 protected:
  OpenAiSourceObserver* next() const { return next_.get(); }

 private:
  void count(std::string_view error_type) {
    std::lock_guard lock(mutex_);
    auto it = stats_.errors.find(error_type);
    if (it == stats_.errors.end()) it = stats_.errors.emplace(std::string(error_type), 0).first;
    ++it->second;
  }

  std::shared_ptr<OpenAiSourceObserver> next_;
  mutable std::mutex mutex_;  // guards stats_
  Stats stats_;
};

}  // namespace siem
