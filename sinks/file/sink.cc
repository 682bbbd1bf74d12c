#include "sinks/file/sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "sinks/file/encoder.h"

namespace siem {
namespace {

constexpr auto kIdleClose = std::chrono::minutes(5);

std::string errnoText(int err) { return std::strerror(err); }

}  // namespace

FileSink::FileSink(std::string path_pattern, bool fsync, Encoding encoding)
    : pattern_(std::move(path_pattern)), fsync_(fsync), encoding_(encoding) {}

FileSink::~FileSink() {
  for (auto& [path, f] : files_) {
    if (f.fd >= 0) ::close(f.fd);
  }
}

Result<int> FileSink::openLocked(const std::string& path) {
  auto it = files_.find(path);
  if (it != files_.end()) {
    it->second.last_used = std::chrono::steady_clock::now();
    return it->second.fd;
  }
  const std::filesystem::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    if (ec)
      return fail("cannot create directory " + p.parent_path().string() + ": " + ec.message());
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return fail("cannot open " + path + ": " + errnoText(errno));
  files_[path] = OpenFile{fd, std::chrono::steady_clock::now()};
  return fd;
}

void FileSink::closeIdleLocked(std::chrono::steady_clock::time_point now) {
  for (auto it = files_.begin(); it != files_.end();) {
    if (now - it->second.last_used > kIdleClose) {
      ::close(it->second.fd);
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
}

SendOutcome FileSink::sendSync(const Batch& batch) {
  // Group the batch by target file, keeping each event's index for per-event outcomes.
  using Entry = std::pair<std::string, std::vector<std::size_t>>;
  std::map<std::string, Entry> by_path;
  PathExpander expander(pattern_);
  const std::string* last_path = nullptr;
  Entry* entry = nullptr;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const Event& e = *batch.events[i];
    const std::string& path = expander.expand(e.effective_at);
    // Runs of events going to the same file (the usual case) skip the map.
    if (entry == nullptr || *last_path != path) {
      auto it = by_path.try_emplace(path).first;
      last_path = &it->first;
      entry = &it->second;
    }
    appendNdjsonLine(entry->first, e, encoding_);
    entry->second.push_back(i);
  }

  SendOutcome outcome;
  outcome.per_event.assign(batch.size(), Disposition::kDelivered);
  std::lock_guard lock(mutex_);
  for (auto& [path, entry] : by_path) {
    auto& [bytes, indices] = entry;
    std::string error;
    auto fd = openLocked(path);
    if (!fd) {
      error = fd.error().message;
    } else {
      // Where this batch starts, so a failed write can be cut off instead of leaving half a line.
      const off_t start = ::lseek(*fd, 0, SEEK_END);
      std::size_t done = 0;
      while (done < bytes.size()) {
        const ssize_t n = ::write(*fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
          if (errno == EINTR) continue;
          error = "cannot write " + path + ": " + errnoText(errno);
          break;
        }
        done += static_cast<std::size_t>(n);
      }
      if (error.empty() && fsync_ && ::fdatasync(*fd) != 0) {
        error = "cannot sync " + path + ": " + errnoText(errno);
      }
      if (!error.empty()) {
        if (start >= 0 && ::ftruncate(*fd, start) != 0)
          error += " (and could not cut the partial write)";
        // Reopen next time: the descriptor may be unusable (e.g. the file system went away).
        ::close(*fd);
        files_.erase(path);
      }
    }
    if (!error.empty()) {
      for (std::size_t i : indices) outcome.per_event[i] = Disposition::kRetry;
      outcome.error_type = "io";
      outcome.reason = error;
    }
  }
  closeIdleLocked(std::chrono::steady_clock::now());
  return outcome;
}

void FileSink::stop(std::chrono::steady_clock::time_point) {
  std::lock_guard lock(mutex_);
  for (auto& [path, f] : files_) {
    if (f.fd >= 0) ::close(f.fd);
  }
  files_.clear();
}

Result<std::unique_ptr<Sink>> createFileSink(const SinkConfig& config, SinkEnv& env) {
  const auto* options = dynamic_cast<const FileSinkOptions*>(config.options.get());
  if (options == nullptr || options->path.empty()) return fail("path is required");
  std::string pattern = options->path;
  if (pattern.front() != '/') pattern = env.config.data_dir + "/" + pattern;
  return std::make_unique<FileSink>(std::move(pattern), options->fsync, config.encoding);
}

}  // namespace siem
