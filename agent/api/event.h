// The event model shared by sources, the router, the schema encoders and every sink.
// Dependency-free on purpose: nothing here includes a third-party header.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace siem {

enum class Outcome : std::uint8_t { kUnknown, kSuccess, kFailure };

// How a sink wants events rendered. kRaw is the original audit-log object, byte for byte.
enum class Encoding : std::uint8_t { kRaw = 0, kOcsf = 1, kEcs = 2 };
inline constexpr std::size_t kEncodingCount = 3;

std::string_view toString(Outcome outcome);
std::string_view toString(Encoding encoding);

// Identity of a configured source. Owned by the pipeline; outlives every event that points at it.
struct SourceInfo {
  std::string id;               // config key, e.g. "openai_prod"
  std::string type;             // "openai_audit_logs", "file"
  std::string organization_id;  // optional; OCSF tenant and metric label
  std::uint32_t index = 0;      // position in the pipeline's source table
};

// One audit event, owned. Built by a source, completed by the pipeline (seq, rendered forms), then
// shared read-only (EventPtr) by every sink it is routed to. Never mutated after it is shared.
struct Event {
  std::string id;  // audit-log id; dedupe key and default Kafka key
  std::string type;
  std::int64_t effective_at = 0;  // unix seconds
  Outcome outcome = Outcome::kUnknown;
  std::string actor_type;   // "session", "api_key" (or seed-shape actor type); empty if no actor
  std::string actor_id;     // user id, service-account id or key id
  std::string actor_email;  // may be empty
  std::string project_id;   // may be empty
  std::string raw;          // the original JSON object

  // Filled by the pipeline.
  const SourceInfo* source = nullptr;
  std::uint64_t seq = 0;  // per-source, strictly increasing in emission order
  std::chrono::steady_clock::time_point received_at{};
  // Rendered forms for the encodings some routed sink asked for (empty otherwise). kRaw is unused:
  // encoded(kRaw) returns `raw`.
  std::array<std::string, kEncodingCount> rendered;
  // Bit (1 << e) is set once rendered[e] holds the final form for encoding e (possibly the raw
  // text after a failed render), so that no later stage renders it again.
  std::uint8_t rendered_mask = 0;

  const std::string& encoded(Encoding encoding) const {
    return encoding == Encoding::kRaw ? raw : rendered[static_cast<std::size_t>(encoding)];
  }
  // Approximate memory held by this event; used for the byte bounds of queues.
  std::size_t memoryBytes() const;
};

using EventPtr = std::shared_ptr<const Event>;

// A group of events handed to a sink in one send. Immutable once built.
struct Batch {
  std::vector<EventPtr> events;
  std::size_t bytes = 0;  // sum of encoded sizes in the sink's encoding
  std::size_t size() const { return events.size(); }
};

using BatchPtr = std::shared_ptr<const Batch>;

}  // namespace siem
