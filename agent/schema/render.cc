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

void renderInto(Event& event, std::span<const Encoding> encodings) {
  for (const Encoding encoding : encodings) {
    if (encoding == Encoding::kRaw) continue;
    std::string& slot = event.rendered[static_cast<std::size_t>(encoding)];
    if (slot.empty()) slot = renderEvent(event, encoding);
  }
}

}  // namespace siem
