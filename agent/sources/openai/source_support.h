// What the two OpenAI sources (audit_logs and organization_logs) do alike around their pull loops:
// the not-ready reason, stopping on an internal error, idling after a fatal one, and reading their
// checkpoint with its failure modes counted.
#pragma once

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <exception>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>

#include "agent/api/result.h"
#include "agent/core/checkpoint_store.h"
#include "agent/core/clock.h"

namespace siem {

// Why a source is not ready (empty when it is), set by the source's thread and read by /readyz.
class NotReadyReason {
 public:
  void set(std::string reason) {
    std::lock_guard lock(mutex_);
    reason_ = std::move(reason);
  }
  std::string get() const {
    std::lock_guard lock(mutex_);
    return reason_;
  }

 private:
  mutable std::mutex mutex_;
  std::string reason_;
};

// Runs a source's pull loop. An exception out of it stops the source rather than the agent: it is
// logged, counted as an "internal" error and makes the source not ready.
template <typename Telemetry, typename Body>
void runStoppingOnInternalError(std::string_view source_id, Telemetry& telemetry,
                                NotReadyReason& not_ready, Body&& body) {
  try {
    body();
  } catch (const std::exception& e) {
    spdlog::error("source {}: stopped by an internal error: {}", source_id, e.what());
    telemetry.onError("internal");
    not_ready.set(fmt::format("internal error: {}", e.what()));
  } catch (...) {
    spdlog::error("source {}: stopped by an unknown internal error", source_id);
    telemetry.onError("internal");
    not_ready.set("internal error");
  }
}

// Waits for the stop request of a source that cannot go on (it stays not ready until then).
inline void idleUntilStopped(Clock& clock, const std::stop_token& stop) {
  while (clock.sleepFor(std::chrono::hours(1), stop)) {
  }
}

// Reads checkpoint `name` of a source: nullopt when there is none yet (a first run), the state
// `parse(payload)` makes of it, or an error naming the file. A leftover temporary file is reported
// and removed; a corrupt or unreadable checkpoint is counted and left as is for the operator.
template <typename Telemetry, typename Parse>
auto readSourceCheckpoint(const CheckpointStore& store, const std::string& name,
                          std::string_view source_id, Telemetry& telemetry, Parse&& parse)
    -> Result<std::optional<typename decltype(parse(std::string_view{}))::value_type>> {
  CheckpointRead read = store.read(name, LeftoverPolicy::kRemove);
  if (read.leftover_warning) {
    spdlog::warn("source {}: {}", source_id, *read.leftover_warning);
    telemetry.checkpointError("checkpoint_leftover_temp");
  }
  switch (read.status) {
    case CheckpointStatus::kMissing:
      return std::nullopt;
    case CheckpointStatus::kOk: {
      auto state = parse(std::string_view(read.payload));
      if (!state) {
        telemetry.checkpointError("checkpoint_corrupt");
        return fail(fmt::format(
            "checkpoint {} is corrupt: {}. It was left as is: inspect it, or run `siem-agent "
            "checkpoint reset` for this source to start again from a chosen time",
            store.pathOf(name).string(), state.error().message));
      }
      return std::optional(std::move(*state));
    }
    case CheckpointStatus::kCorrupt:
      telemetry.checkpointError("checkpoint_corrupt");
      return fail(read.error);
    case CheckpointStatus::kError:
      telemetry.checkpointError("checkpoint_unreadable");
      return fail(read.error);
  }
  return fail("unreachable");
}

}  // namespace siem
