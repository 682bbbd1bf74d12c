#include "agent/schema/render.h"

#include "agent/schema/audit_log.h"
#include "agent/schema/ecs_encoder.h"
#include "agent/schema/ocsf_encoder.h"

namespace siem {

std::string renderEvent(const Event& event, Encoding encoding) {
  if (encoding == Encoding::kRaw) return event.raw;
  AuditLog log(event);
  std::string out;
  // Rendered events are typically 1.5-3x the input; one reservation avoids regrowth.
  out.reserve(event.raw.size() * 3 + 1024);
  if (encoding == Encoding::kEcs) {
    encodeEcs(log, out);
  } else {
    encodeOcsf(log, out);
  }
  return out;
}

}  // namespace siem
