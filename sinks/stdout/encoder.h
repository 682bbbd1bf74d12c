// Pure rendering for the stdout sink.
#pragma once

#include <string>

#include "agent/api/event.h"
#include "sinks/stdout/config.h"

namespace siem {

// Appends one line (with '\n') for `event`: the encoded event (ndjson) or a human-readable
// summary "TIME  TYPE  OUTCOME  ACTOR  PROJECT  ID" (text).
void appendStdoutLine(std::string& out, const Event& event, Encoding encoding, StdoutFormat format);

}  // namespace siem
