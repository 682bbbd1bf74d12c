// Renders one audit log as an Elastic Common Schema 8.x document (see docs/schema.md).
#pragma once

#include <string>
#include <string_view>

#include "agent/schema/audit_log.h"

namespace siem {

inline constexpr std::string_view kEcsVersion = "8.17.0";

// The ECS JSON object for `log`. `event.original` always carries the original text (see
// docs/schema.md for why). Marks the members it maps as consumed in `log`. Uses the calling
// thread's scratch buffer.
std::string encodeEcs(AuditLog& log);

}  // namespace siem
