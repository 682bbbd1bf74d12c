// What every operator command shares: exit codes, loading the configuration and choosing the
// source, logging to stderr, Ctrl-C handling, and an output that is either stdout or a file that
// appears only when complete.
#pragma once

#include <signal.h>

#include <cstdio>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>

#include <tl/expected.hpp>

#include "agent/api/result.h"
#include "agent/config/config.h"
#include "agent/sources/openai/config.h"

namespace siem::cli {

// DESIGN §7: 0 ok, 1 runtime failure, 2 usage error, 78 configuration error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitConfig = 78;

// A subcommand registered on the CLI11 app. The object owns the storage its options parse into,
// so it must outlive the parse.
class CliCommand {
 public:
  virtual ~CliCommand() = default;
  // True when the command line chose this command.
  virtual bool chosen() const = 0;
  // Runs it; returns the process exit code.
  virtual int run() = 0;
};

// Loads and validates `path` like `siem-agent validate`: on failure prints every error to stderr
// and returns kExitConfig.
tl::expected<Config, int> loadConfigOrReport(const std::string& path);

// The openai_audit_logs source a command works on: `requested`, or, when empty, the only source
// of that type. Otherwise prints a usage error listing the ids and returns kExitUsage.
struct ChosenSource {
  const SourceConfig* config = nullptr;
  const OpenAiSourceOptions* options = nullptr;
};
tl::expected<ChosenSource, int> chooseOpenAiSource(const Config& config,
                                                   const std::string& requested);

// spdlog's default logger for a command: text lines on stderr at the configured level, with
// every configured secret redacted.
void setupCommandLogging(const Config& config);

// One line on stderr, prefixed "siem-agent: ".
void note(std::string_view message);

// Turns SIGINT/SIGTERM into a stop request while it lives: the first signal asks the command to
// stop (it then cleans up, e.g. removes a partial export); a second one exits at once. Construct
// it before any other thread starts (the signal mask is inherited).
class InterruptWatcher {
 public:
  InterruptWatcher();
  ~InterruptWatcher();
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  std::stop_token token() const { return stop_.get_token(); }
  bool interrupted() const { return stop_.stop_requested(); }

 private:
  sigset_t signals_;
  sigset_t previous_;
  std::stop_source stop_;
  std::jthread thread_;
};

// Where a command writes its data: stdout, or a file that is written as `<path>.partial` and
// renamed to `path` (after fsync) only by commit(), so an interrupted or failed export never
// looks complete. A partial file is removed when the output is destroyed uncommitted.
class Output {
 public:
  static Result<Output> open(const std::string& path);  // "" or "-": stdout
  Output(Output&& other) noexcept;
  Output& operator=(Output&&) = delete;
  Output(const Output&) = delete;
  ~Output();

  // Buffered; an I/O error is sticky and reported by write() and commit().
  Result<void> write(std::string_view bytes);
  Result<void> commit();
  // What to call it in messages: the final path, or "stdout".
  std::string name() const;

 private:
  Output(std::FILE* file, std::string path);
  Result<void> failure(const char* what);

  std::FILE* file_;
  std::string path_;  // empty for stdout
  bool committed_ = false;
  bool failed_ = false;
};

}  // namespace siem::cli
