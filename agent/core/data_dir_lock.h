// An exclusive lock on data_dir, held for the life of a running agent, so that two agents never
// share cursors and offline tools (checkpoint reset) can refuse to touch a live data_dir.
#pragma once

#include <string>

#include "agent/api/result.h"

namespace siem {

class DataDirLock {
 public:
  // Creates data_dir if needed and takes the lock without waiting.
  static Result<DataDirLock> acquire(const std::string& data_dir);
  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&&) = delete;
  DataDirLock(const DataDirLock&) = delete;
  ~DataDirLock();

 private:
  explicit DataDirLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace siem
