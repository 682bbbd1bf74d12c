// Copies parsed input values (simdjson DOM) into a JsonWriter, enforcing the writer's limits.
#pragma once

#include <simdjson.h>

#include "agent/schema/json_writer.h"

namespace siem {

// Writes `value` as one JSON value. Strings go through the writer (escaping, U+FFFD replacement,
// length limit). An array or object that would open deeper than JsonWriter::kMaxDepth is written
// instead as one string holding its compact JSON text (itself subject to the length limit), so
// nothing is dropped silently and the output depth stays bounded.
void writeJsonValue(JsonWriter& w, simdjson::dom::element value);

}  // namespace siem
