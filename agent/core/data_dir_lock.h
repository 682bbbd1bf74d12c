// An exclusive lock on data_dir, held for the life of a running agent, so that two agents never
// share cursors and offline tools (checkpoint reset) can refuse to touch a live data_dir.
#pragma once

#include <string>
#include <utility>

#include "agent/api/result.h"
#include "agent/core/unique_fd.h"

namespace siem {

class DataDirLock {
 public:
  // Creates data_dir if needed and takes the lock without waiting.
  static Result<DataDirLock> acquire(const std::string& data_dir);

 private:
  explicit DataDirLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // the lock lasts as long as the descriptor is open
};

}  // namespace siem
