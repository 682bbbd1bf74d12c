// `siem-agent logs list|get|export` (DESIGN §7): an operator reads a source's audit logs straight
// from the API, with the daemon's client, configuration and credentials. Data goes to stdout (or
// --output), notes and progress to stderr. Nothing here touches the source's cursor.
//
//   logs list   --config FILE [--source ID] [--limit N] [--since T] [--until T] [--type T]...
//               [--format table|json|ndjson|csv]
//       Without --since: the newest N logs (default 20) before --until (default now). With
//       --since: every log in [since, until), or the newest N of them with --limit. Newest first.
//       --type (repeatable, or comma-separated) replaces the source's event_types filter; the
//       source's other filters apply. organization_logs: most recently ingested first, and the
//       range and --type are applied here (that API has no filters).
//   logs get ID --config FILE [--source ID] [--since T] [--format pretty|raw]
//       One log in full. The audit_logs API has no get-by-id, so this scans newest first back to
//       --since (default 7d) and stops at the first match; exit 1 when it is not there.
//       organization_logs: a direct GET by id (--since unused).
//   logs export --config FILE [--source ID] --since T [--until T] --format ndjson|csv|ocsf
//               [--output FILE]
//       Every log in [since, until) once, ascending by (effective_at, id), read in bounded-memory
//       time windows (organization_logs: the whole log read once and the range sorted on disk
//       beside FILE, or in TMPDIR). --output is written as FILE.partial and renamed when
//       complete.
#pragma once

#include <memory>

#include "agent/cli/command_support.h"

namespace CLI {
class App;
}

namespace siem::cli {

// Registers `logs` and its subcommands on `app`.
std::unique_ptr<CliCommand> addLogsCommand(CLI::App& app);

}  // namespace siem::cli
