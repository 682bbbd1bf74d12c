#include "agent/api/event.h"

namespace siem {

std::string_view toString(Outcome outcome) {
  switch (outcome) {
    case Outcome::kSuccess:
      return "success";
    case Outcome::kFailure:
      return "failure";
    case Outcome::kUnknown:
      break;
  }
  return "unknown";
}

std::string_view toString(Encoding encoding) {
  switch (encoding) {
    case Encoding::kOcsf:
      return "ocsf";
    case Encoding::kEcs:
      return "ecs";
    case Encoding::kRaw:
      break;
  }
  return "raw";
}

std::size_t Event::memoryBytes() const {
  std::size_t n = sizeof(Event) + id.size() + type.size() + actor_type.size() + actor_id.size() +
                  actor_email.size() + project_id.size() + raw.size();
  for (const auto& r : rendered) n += r.size();
  return n;
}

}  // namespace siem
