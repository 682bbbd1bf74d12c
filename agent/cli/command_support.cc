#include "agent/cli/command_support.h"

#include <fcntl.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <filesystem>
#include <system_error>

#include "agent/config/loader.h"
#include "agent/core/registry.h"
#include "agent/observability/logging.h"

namespace siem::cli {
namespace {

constexpr std::string_view kOpenAiType = "openai_audit_logs";
constexpr std::size_t kOutputBufferBytes = 1 << 20;

std::string listIds(const std::vector<const SourceConfig*>& sources) {
  std::string ids;
  for (const SourceConfig* s : sources) {
    if (!ids.empty()) ids.append(", ");
    ids.append(s->id);
  }
  return ids.empty() ? "none" : ids;
}

// Makes the rename of a file in `dir` durable.
void syncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

tl::expected<Config, int> loadConfigOrReport(const std::string& path) {
  const ComponentRegistry registry = builtinComponents();
  auto config = loadConfigFile(path, registry);
  if (!config) {
    for (const auto& message : config.error()) std::fprintf(stderr, "%s\n", message.c_str());
    std::fprintf(stderr, "%s: %zu configuration error(s)\n", path.c_str(), config.error().size());
    return tl::unexpected(kExitConfig);
  }
  return std::move(*config);
}

tl::expected<ChosenSource, int> chooseOpenAiSource(const Config& config,
                                                   const std::string& requested) {
  std::vector<const SourceConfig*> candidates;
  for (const auto& source : config.sources) {
    if (source.type == kOpenAiType) candidates.push_back(&source);
  }
  const SourceConfig* chosen = nullptr;
  if (requested.empty()) {
    if (candidates.size() != 1) {
      note(fmt::format("{}: {} sources of type {}; choose one with --source ID (ids: {})",
                       config.path, candidates.empty() ? "no" : "several", kOpenAiType,
                       listIds(candidates)));
      return tl::unexpected(kExitUsage);
    }
    chosen = candidates.front();
  } else {
    for (const SourceConfig* s : candidates) {
      if (s->id == requested) chosen = s;
    }
    if (chosen == nullptr) {
      note(fmt::format("{}: no source of type {} with id \"{}\" (ids: {})", config.path,
                       kOpenAiType, requested, listIds(candidates)));
      return tl::unexpected(kExitUsage);
    }
  }
  const auto* options = dynamic_cast<const OpenAiSourceOptions*>(chosen->options.get());
  if (options == nullptr) {
    note(fmt::format("source {} has no options", chosen->id));
    return tl::unexpected(kExitConfig);
  }
  return ChosenSource{chosen, options};
}

void setupCommandLogging(const Config& config) {
  LogConfig log = config.log;
  log.format = "text";
  setupLogging(log, config.secrets);
}

void note(std::string_view message) {
  std::string line = fmt::format("siem-agent: {}\n", message);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

InterruptWatcher::InterruptWatcher() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, &previous_);
  thread_ = std::jthread([this](const std::stop_token& stop) {
    const timespec tick{0, 100'000'000};
    while (!stop.stop_requested()) {
      if (sigtimedwait(&signals_, nullptr, &tick) < 0) continue;
      if (stop_.stop_requested()) {
        note("second signal: exiting now");
        std::_Exit(kExitFailure);
      }
      note("interrupted: stopping (a second signal exits at once)");
      stop_.request_stop();
    }
  });
}

InterruptWatcher::~InterruptWatcher() {
  thread_.request_stop();
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

Output::Output(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}

Output::Output(Output&& other) noexcept
    : file_(other.file_),
      path_(std::move(other.path_)),
      committed_(other.committed_),
      failed_(other.failed_) {
  other.file_ = nullptr;
  other.path_.clear();
}

Output::~Output() {
  if (file_ == nullptr || path_.empty()) return;
  std::fclose(file_);
  if (!committed_) std::remove((path_ + ".partial").c_str());
}

Result<Output> Output::open(const std::string& path) {
  if (path.empty() || path == "-") return Output(stdout, "");
  const std::string partial = path + ".partial";
  std::FILE* file = std::fopen(partial.c_str(), "wbe");
  if (file == nullptr) {
    return fail(
        fmt::format("cannot create {}: {}", partial, std::generic_category().message(errno)));
  }
  std::setvbuf(file, nullptr, _IOFBF, kOutputBufferBytes);
  return Output(file, path);
}

std::string Output::name() const { return path_.empty() ? "stdout" : path_; }

Result<void> Output::failure(const char* what) {
  const int err = errno;
  failed_ = true;
  const std::string where = path_.empty() ? "stdout" : path_ + ".partial";
  return fail(fmt::format("cannot {} {}: {}", what, where, std::generic_category().message(err)));
}

Result<void> Output::write(std::string_view bytes) {
  if (failed_) return fail(fmt::format("earlier write to {} failed", name()));
  if (bytes.empty()) return {};
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) return failure("write");
  return {};
}

Result<void> Output::commit() {
  if (failed_) return fail(fmt::format("earlier write to {} failed", name()));
  if (std::fflush(file_) != 0) return failure("write");
  if (path_.empty()) {
    committed_ = true;
    return {};
  }
  if (::fsync(::fileno(file_)) != 0) return failure("sync");
  const std::string partial = path_ + ".partial";
  if (std::rename(partial.c_str(), path_.c_str()) != 0) return failure("rename");
  committed_ = true;
  syncDirectory(std::filesystem::path(path_).parent_path());
  return {};
}

}  // namespace siem::cli
