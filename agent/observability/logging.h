// The agent's log output: spdlog's default logger writing one line per message to stderr, as JSON
// or text, with every configured secret redacted whatever logged it.
#pragma once

#include <spdlog/logger.h>
#include <spdlog/sinks/base_sink.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "agent/config/config.h"

namespace siem {

inline constexpr std::string_view kLoggerName = "siem-agent";

enum class LogFormat { kJson, kText };

// Replaces every occurrence of a secret by "[REDACTED]". Secrets shorter than 4 bytes are ignored
// (they would blank out ordinary words). Overlapping or adjacent occurrences collapse into one
// marker. Immutable after construction, so thread-safe.
class SecretRedactor {
 public:
  static constexpr std::size_t kMinSecretLength = 4;
  static constexpr std::string_view kMarker = "[REDACTED]";

  explicit SecretRedactor(std::vector<std::string> secrets);
  std::string redact(std::string_view text) const;

 private:
  std::vector<std::string> secrets_;
};

// One output line, newline included. JSON:
//   {"ts":"2026-11-25T19:50:45.123Z","level":"info","msg":"...","logger":"siem-agent"}
// text:
//   2026-11-25T19:50:45.123Z INFO message
// Times are UTC with milliseconds. In text, control characters of the message are escaped
// (\n, \t, \xNN) so a message can never forge a second line.
std::string formatLogLine(LogFormat format, spdlog::level::level_enum level,
                          std::chrono::system_clock::time_point time, std::string_view logger,
                          std::string_view message);

// A sink that redacts then formats itself: set_pattern()/set_formatter() are ignored, so no later
// call can turn redaction off. Writes each line to `out` and flushes it. `out` must outlive the
// sink.
class LogSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  LogSink(LogFormat format, SecretRedactor redactor, std::ostream& out);

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override;
  void flush_() override;
  void set_pattern_(const std::string& pattern) override;
  void set_formatter_(std::unique_ptr<spdlog::formatter> sink_formatter) override;

 private:
  const LogFormat format_;
  const SecretRedactor redactor_;
  std::ostream& out_;  // guarded by base_sink's mutex
};

// "json" (default) or "text".
LogFormat parseLogFormat(std::string_view format);
// trace|debug|info|warn|error; anything else is info (config validation rejects it earlier).
spdlog::level::level_enum parseLogLevel(std::string_view level);

// A logger named "siem-agent" writing to `out` per `cfg`, redacting `secrets`.
std::shared_ptr<spdlog::logger> makeLogger(const LogConfig& cfg, std::vector<std::string> secrets,
                                           std::ostream& out);

// Installs makeLogger(cfg, secrets, std::cerr) as spdlog's default logger. Called by main()
// before any thread starts. The overload with `out` is for tests; `out` must outlive the logger.
void setupLogging(const LogConfig& cfg, std::vector<std::string> secrets);
void setupLogging(const LogConfig& cfg, std::vector<std::string> secrets, std::ostream& out);

// Keeps a repeating message (a flapping receiver, a retry loop) from flooding the log: under each
// key at most one message per interval is let through, and the next one let through reports how
// many were held back. Keys must come from a small fixed set (component id + condition), never
// from data. Thread-safe; time is passed in so tests are deterministic.
class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Verdict {
    bool emit = false;
    std::uint64_t suppressed = 0;  // messages held back under this key since the last emitted one
    explicit operator bool() const { return emit; }
    // "" or " (N similar messages suppressed)", to append to the emitted message.
    std::string suffix() const;
  };

  explicit LogLimiter(Clock::duration interval, std::size_t max_keys = 1024);

  Verdict shouldLog(std::string_view key, Clock::time_point now);

 private:
  struct Entry {
    Clock::time_point last_emitted;
    std::uint64_t suppressed = 0;
  };

  const Clock::duration interval_;
  const std::size_t max_keys_;
  std::mutex mutex_;  // guards entries_
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace siem
