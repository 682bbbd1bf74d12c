// Points in time as operators write them: in `start_at` and on the command line (--since, --until,
// --to). Pure functions: no locale, no local time zone, no clock (the caller passes `now`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/api/result.h"

namespace siem {

// Parses one of
//   * RFC 3339: 2026-11-01T00:00:00Z, 2026-11-01T02:00:00+02:00, 2026-11-01T00:00:00.250Z
//     ('t'/'z' and a space separator are accepted; fractional seconds are truncated), or a bare
//     date 2026-11-01 (midnight UTC);
//   * a duration back from `now_unix`: <digits><unit>... with units s, m, h, d, w, e.g. 90m,
//     24h, 30d, 2160h, 1h30m;
//   * unix seconds: digits only.
// Returns unix seconds, or an error whose message quotes `text` and shows the accepted forms.
Result<std::int64_t> parseTimeSpec(std::string_view text, std::int64_t now_unix);

// Parses a duration as accepted by parseTimeSpec (90s, 24h, 1h30m) into seconds.
Result<std::int64_t> parseDurationSecs(std::string_view text);

// Formats unix seconds as RFC 3339 in UTC, e.g. 2026-11-01T00:00:00Z.
std::string formatRfc3339(std::int64_t unix_secs);

}  // namespace siem
