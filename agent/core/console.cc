#include "agent/core/console.h"

#include <cstdio>
#include <mutex>

namespace siem {

bool writeStdout(std::string_view bytes) {
  // Standard output is one process-wide resource; this lock is the only thing guarding it.
  static std::mutex stdout_mutex;
  std::lock_guard lock(stdout_mutex);
  if (std::fwrite(bytes.data(), 1, bytes.size(), stdout) != bytes.size()) return false;
  return std::fflush(stdout) == 0;
}

}  // namespace siem
