// `type: file`: appends NDJSON to files named by a strftime pattern (UTC, event time). A batch is
// delivered once its bytes are written and, with fsync on (the default), synced to disk.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent/api/result.h"
#include "agent/api/sink.h"
#include "agent/core/registry.h"
#include "sinks/file/config.h"

namespace siem {

class FileSink final : public SyncSink {
 public:
  // `path_pattern` is absolute (relative patterns were resolved against data_dir by the factory).
  FileSink(std::string path_pattern, bool fsync, Encoding encoding);
  ~FileSink() override;

  SendOutcome sendSync(const Batch& batch) override;
  void stop(std::chrono::steady_clock::time_point deadline) override;

 private:
  struct OpenFile {
    int fd = -1;
    std::chrono::steady_clock::time_point last_used;
  };
  Result<int> openLocked(const std::string& path);
  void closeIdleLocked(std::chrono::steady_clock::time_point now);

  std::string pattern_;
  bool fsync_;
  Encoding encoding_;
  std::mutex mutex_;  // guards files_ and serialises writes to one file
  std::map<std::string, OpenFile> files_;
};

Result<std::unique_ptr<Sink>> createFileSink(const SinkConfig& config, SinkEnv& env);

}  // namespace siem
