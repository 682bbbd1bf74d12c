// `siem-agent checkpoint show|reset` (DESIGN §7): inspect or move the cursor of an
// openai_audit_logs source (<data_dir>/checkpoints/<source>.json, see sources/openai/source.h;
// with `api: organization_logs` <data_dir>/checkpoints/<source>.organization_logs.json, see
// sources/openai/org_logs_source.h).
//
//   checkpoint show  --config FILE [--source ID] [--format text|json]
//       The watermark (RFC 3339 and unix seconds), the origin, how many recent ids are remembered,
//       and the file; for organization_logs the last delivered id, not_before and the newest
//       created_at delivered. Safe while an agent runs (it reads a consistent, checksummed file).
//   checkpoint reset --config FILE [--source ID] [--to T]
//       Refused while an agent holds the data_dir lock. With --to: watermark and origin become T
//       and no ids are remembered, so the next run reads from T exactly (events from T on are
//       delivered again); for organization_logs, whose cursor is a position in ingestion order,
//       the next run reads the log from the beginning and delivers the logs created at or after T.
//       Without --to: the checkpoint is removed and the next run starts at the source's start_at.
//       Prints what changed.
#pragma once

#include <memory>

#include "agent/cli/command_support.h"

namespace CLI {
class App;
}

namespace siem::cli {

// Registers `checkpoint show|reset` on `app`.
std::unique_ptr<CliCommand> addCheckpointCommand(CLI::App& app);

}  // namespace siem::cli
