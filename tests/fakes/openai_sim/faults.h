// Injected failures for the API endpoints: a FIFO of {kind, remaining count}; each API request
// that passes authentication takes one unit from the head.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace siem::sim {

enum class FaultKind : std::uint8_t {
  kTooManyRequests,  // "429": error body, Retry-After and/or retry-after-ms when configured
  kInternalError,    // "500"
  kUnavailable,      // "503"
  kSlow,             // answer normally after delay_ms
  kMalformed,        // 200 with a body that is not JSON
  kTruncated,        // 200 announcing the full Content-Length, connection closed halfway
  kWrongTypes,       // 200 with valid JSON whose fields have the wrong types
  kMissingData,      // 200 with an envelope that has no `data`
  kHasMoreEmpty,     // 200 with data [], has_more true, ids null
  kLoopCursor,       // 200 with the first page of the query again (ignores after/before)
  kDropConnection,   // connection closed without any response bytes
};

std::string_view toString(FaultKind kind);
std::optional<FaultKind> faultKindFromString(std::string_view name);

struct Fault {
  FaultKind kind = FaultKind::kInternalError;
  std::uint32_t count = 1;
  std::optional<std::int64_t> retry_after_secs;  // 429: Retry-After header
  std::optional<std::int64_t> retry_after_ms;    // 429: retry-after-ms header
  std::int64_t delay_ms = 2000;                  // slow
};

// Parses the JSON body of POST /_sim/fault.
tl::expected<Fault, std::string> parseFault(std::string_view json);

// Thread-safe.
class FaultQueue {
 public:
  void push(Fault fault);
  std::optional<Fault> take();  // one unit of the head fault, if any
  std::size_t pending() const;  // sum of remaining counts
  void clear();

 private:
  mutable std::mutex mutex_;  // guards queue_
  std::deque<Fault> queue_;
};

}  // namespace siem::sim
