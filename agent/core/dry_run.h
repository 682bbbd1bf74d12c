// The stand-in used by `siem-agent run --dry-run`: every sink becomes a printer of what it would
// have sent. (Sources are built with SourceEnv::dry_run, so their cursors move in memory only.)
#pragma once

#include <memory>
#include <string>

#include "agent/api/sink.h"

namespace siem {

// Prints "<sink id>\t<event in the sink's encoding>" per event to stdout; always delivered.
std::unique_ptr<Sink> makeDryRunSink(std::string sink_id, Encoding encoding);

}  // namespace siem
