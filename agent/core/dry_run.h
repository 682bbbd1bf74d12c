// Stand-ins used by `siem-agent run --dry-run`: every sink becomes a printer of what it would have
// sent, and every source forgets acknowledgements so no cursor moves.
#pragma once

#include <memory>
#include <string>

#include "agent/api/sink.h"
#include "agent/api/source.h"

namespace siem {

// Prints "<sink id>\t<event in the sink's encoding>" per event to stdout; always delivered.
std::unique_ptr<Sink> makeDryRunSink(std::string sink_id, Encoding encoding);

// Forwards run() and readiness to `inner` but drops acknowledged() and commit().
std::unique_ptr<Source> makeNonCommittingSource(std::unique_ptr<Source> inner);

}  // namespace siem
