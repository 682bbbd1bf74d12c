#include "agent/core/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace siem {

Result<DataDirLock> DataDirLock::acquire(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return fail("cannot create data_dir " + data_dir + ": " + ec.message());
  const std::string path = data_dir + "/siem-agent.lock";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640));
  if (!fd.valid()) return fail("cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err == EWOULDBLOCK) {
      return fail("data_dir " + data_dir + " is in use by another siem-agent process (" + path +
                  " is locked)");
    }
    return fail("cannot lock " + path + ": " + std::strerror(err));
  }
  return DataDirLock(std::move(fd));
}

}  // namespace siem
