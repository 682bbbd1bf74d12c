#include "agent/schema/render.h"

#include "agent/schema/audit_log.h"
#include "agent/schema/ecs_encoder.h"
#include "agent/schema/ocsf_encoder.h"

namespace siem {

std::string renderEvent(const Event& event, Encoding encoding) {
  if (encoding == Encoding::kRaw) return event.raw;
  AuditLog log(event);
  return encoding == Encoding::kEcs ? encodeEcs(log) : encodeOcsf(log);
}

}  // namespace siem
