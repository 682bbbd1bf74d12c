// Points in time as operators write them: in `start_at` and in the CLI's --since/--until/--to.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/api/result.h"

namespace siem {

// Resolves `spec` to unix seconds. Accepted forms:
//   * a duration back from `now_unix`: a positive integer with a unit s, m, h or d ("90m", "24h",
//     "30d"), also compound ("1h30m");
//   * RFC 3339: "2026-11-01T00:00:00Z", "2026-11-01T02:00:00+02:00", fractional seconds allowed
//     (truncated toward the earlier second);
//   * unix seconds: "1761955200".
// Anything else is an error whose message quotes the accepted forms.
Result<std::int64_t> parseTimeSpec(std::string_view spec, std::int64_t now_unix);

// Formats unix seconds as RFC 3339 UTC ("2026-11-01T00:00:00Z").
std::string formatRfc3339(std::int64_t unix_seconds);

}  // namespace siem
