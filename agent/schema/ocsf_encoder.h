// Renders one audit log as an OCSF 1.8.0 event (see docs/schema.md for the mapping).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "agent/schema/audit_log.h"
#include "agent/schema/event_types.h"

namespace siem {

inline constexpr std::string_view kOcsfVersion = "1.8.0";

// The class and activity a log maps to: the type's rule, adjusted for the two shape-dependent
// cases (seed-shape api_request events → API Activity; user.added/deleted scoped to a project →
// Group Management).
struct Classification {
  const TypeRule* rule;
  Target target;
  OcsfClass cls;
  int activity_id;
};
Classification classify(const AuditLog& log);

// The OCSF JSON object for `log`. Marks the members it maps as consumed in `log`'s leftover
// trackers (so a log is encoded once). Uses the calling thread's scratch buffer.
std::string encodeOcsf(AuditLog& log);

// Captions of the OCSF enums the encoder emits (exposed for tests and the docs).
std::string_view ocsfClassName(OcsfClass cls);
std::string_view ocsfActivityName(OcsfClass cls, std::uint8_t activity_id);

}  // namespace siem
