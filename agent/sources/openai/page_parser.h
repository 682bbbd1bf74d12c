// Decodes one page of GET /organization/audit_logs into owned Events.
//
// Accepted element shapes (both map onto the same Event fields):
//   * the real API: {id, type, effective_at, actor{type, session{user{id,email}} |
//     api_key{id, type, user{id,email}, service_account{id}}}, project{id}, "<type>": {...}}
//   * the seed description: {id, event, created_at, actor{type, id, name}, success, ...}
// Unknown types and unknown fields are kept: Event::raw holds the element's exact bytes.
//
// Invalid UTF-8: simdjson rejects it for the whole page, and the server would send the same bytes
// again on a retry, so rejecting would stall the source for good. Instead every invalid sequence is
// replaced by U+FFFD and the page is parsed again; AuditLogPage::utf8_repaired tells the caller to
// count it. Events of such a page carry the repaired bytes in `raw`.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/api/event.h"
#include "agent/api/result.h"

namespace siem {

struct AuditLogPage {
  std::vector<Event> events;  // in page order (newest first from the real API)
  bool has_more = false;
  std::optional<std::string> first_id;  // null or absent → nullopt
  std::optional<std::string> last_id;
  bool utf8_repaired = false;
};

// `body` is copied into a padded buffer first. Errors name what is wrong ("data[3]: `id` is
// missing or not a string") and never include the body. One parser per thread.
Result<AuditLogPage> parseAuditLogPage(std::string_view body, simdjson::ondemand::parser& parser);

// Zero-copy variant: `body` must have SIMDJSON_PADDING readable bytes after its end.
Result<AuditLogPage> parseAuditLogPage(simdjson::padded_string_view body,
                                       simdjson::ondemand::parser& parser);

// One audit-log object on its own (either shape), e.g. a line of an NDJSON file. `raw` is the
// object's bytes without surrounding whitespace.
Result<Event> parseAuditLogObject(std::string_view json, simdjson::ondemand::parser& parser);

// Outcome rule shared with the mapper: seed `success:false` → failure, `success:true` → success;
// otherwise types ending in ".failed" → failure, everything else → success.
Outcome outcomeOf(std::string_view type, std::optional<bool> success);

// Replaces every invalid UTF-8 sequence in `bytes` with U+FFFD. Returns the number replaced.
std::size_t repairUtf8(std::string& bytes);

}  // namespace siem
