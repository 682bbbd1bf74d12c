// Rendering of audit events in the encodings sinks ask for (`encoding: ocsf | ecs | raw`).
// The mapping is described in docs/schema.md.
#pragma once

#include <string>

#include "agent/api/event.h"

namespace siem {

// Renders `event` in `encoding` as one compact JSON object (no trailing newline). Pure and
// thread-safe; reads event.raw, event.type, event.id, event.effective_at and
// event.source->organization_id (source may be null). kRaw returns event.raw unchanged.
//
// Never fails: input that is not a JSON object still yields a valid OCSF/ECS event carrying the
// raw text. The output is always valid UTF-8 JSON; see JsonWriter for the escaping, replacement
// and truncation rules. Each call parses event.raw with the calling thread's own parser.
std::string renderEvent(const Event& event, Encoding encoding);

}  // namespace siem
