// Durable small-state files (source cursors). Every write is atomic and checksummed; a file that
// fails its check is reported, never silently replaced: the operator decides (inspect it, or run
// `siem-agent checkpoint reset`).
//
// On-disk format: one header line, then the payload bytes verbatim:
//   siem-agent-checkpoint v1 crc32=<8 hex digits> length=<payload bytes>\n<payload>
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "agent/api/result.h"

namespace siem {

enum class CheckpointStatus : std::uint8_t {
  kMissing,  // no file: first run
  kOk,       // payload verified
  kCorrupt,  // present but failed its header or checksum check
  kError,    // present but could not be read (permissions, I/O error)
};

struct CheckpointRead {
  CheckpointStatus status = CheckpointStatus::kMissing;
  std::string payload;  // kOk only
  // kCorrupt/kError: operator-facing message naming the file and what to do.
  std::string error;
  // Set when a temporary file left by an interrupted write was found next to the checkpoint. The
  // checkpoint itself is untouched by this; the caller logs and counts it.
  std::optional<std::string> leftover_warning;
};

enum class LeftoverPolicy : std::uint8_t {
  kRemove,  // the owner of the checkpoint (the running source) cleans up after a crash
  kKeep,    // read-only inspection (the CLI) while an agent may be writing
};

// Not thread-safe for concurrent writes to the same name; callers serialize their own writes.
// Different names may be used from different threads.
class CheckpointStore {
 public:
  explicit CheckpointStore(std::filesystem::path dir);

  // Atomically replaces `name` with `payload`: temp file in the same directory, write, fsync,
  // rename over the old file, fsync the directory. Creates the directory when missing. On error the
  // previous file is intact. `name` must be a plain file name (no '/', not starting with '.').
  Result<void> write(std::string_view name, std::string_view payload) const;

  CheckpointRead read(std::string_view name,
                      LeftoverPolicy leftovers = LeftoverPolicy::kRemove) const;

  std::filesystem::path pathOf(std::string_view name) const { return dir_ / std::string(name); }
  std::filesystem::path tempPathOf(std::string_view name) const;
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

// The framing alone (exposed for tests and tools).
std::string frameCheckpoint(std::string_view payload);
// Returns the payload or a short description of what is wrong with `file_bytes`.
Result<std::string> unframeCheckpoint(std::string_view file_bytes);

}  // namespace siem
