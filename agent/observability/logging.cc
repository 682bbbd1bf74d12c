#include "agent/observability/logging.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <utility>

#include "agent/core/json_escape.h"

namespace siem {
namespace {

std::string_view levelName(spdlog::level::level_enum level, LogFormat format) {
  const bool json = format == LogFormat::kJson;
  switch (level) {
    case spdlog::level::trace:
      return json ? "trace" : "TRACE";
    case spdlog::level::debug:
      return json ? "debug" : "DEBUG";
    case spdlog::level::info:
      return json ? "info" : "INFO";
    case spdlog::level::warn:
      return json ? "warn" : "WARN";
    case spdlog::level::err:
      return json ? "error" : "ERROR";
    case spdlog::level::critical:
      return json ? "critical" : "CRITICAL";
    default:
      return json ? "off" : "OFF";
  }
}

// 2026-11-25T19:50:45.123Z
void appendTimestamp(std::string& out, std::chrono::system_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  auto seconds = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = seconds.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  const std::size_t n = std::strftime(buffer, sizeof(buffer), "%Y-%m-%dT%H:%M:%S", &tm);
  out.append(buffer, n);
  char fraction[8];
  std::snprintf(fraction, sizeof(fraction), ".%03dZ", static_cast<int>(millis));
  out.append(fraction);
}

void appendTextEscaped(std::string& out, std::string_view text) {
  constexpr char kHex[] = "0123456789abcdef";
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\n') {
      out.append("\\n");
    } else if (c == '\r') {
      out.append("\\r");
    } else if (c == '\t') {
      out.append("\\t");
    } else if (byte < 0x20 || byte == 0x7F) {
      out.append("\\x");
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0F]);
    } else {
      out.push_back(c);
    }
  }
}

}  // namespace

SecretRedactor::SecretRedactor(std::vector<std::string> secrets) {
  for (auto& secret : secrets) {
    if (secret.size() >= kMinSecretLength) secrets_.push_back(std::move(secret));
  }
}

std::string SecretRedactor::redact(std::string_view text) const {
  // Mark every byte covered by some occurrence first, then replace each covered run, so secrets
  // that overlap or contain one another leave nothing behind.
  std::vector<bool> covered;
  for (const auto& secret : secrets_) {
    for (auto pos = text.find(secret); pos != std::string_view::npos;
         pos = text.find(secret, pos + 1)) {
      if (covered.empty()) covered.resize(text.size(), false);
      std::fill(covered.begin() + static_cast<std::ptrdiff_t>(pos),
                covered.begin() + static_cast<std::ptrdiff_t>(pos + secret.size()), true);
    }
  }
  if (covered.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!covered[i]) {
      out.push_back(text[i]);
    } else if (i == 0 || !covered[i - 1]) {
      out.append(kMarker);
    }
  }
  return out;
}

std::string formatLogLine(LogFormat format, spdlog::level::level_enum level,
                          std::chrono::system_clock::time_point time, std::string_view logger,
                          std::string_view message) {
  std::string line;
  line.reserve(message.size() + 96);
  if (format == LogFormat::kJson) {
    line.append(R"({"ts":")");
    appendTimestamp(line, time);
    line.append(R"(","level":")");
    line.append(levelName(level, format));
    line.append(R"(","msg":)");
    appendJsonString(line, message);
    line.append(R"(,"logger":)");
    appendJsonString(line, logger);
    line.append("}\n");
  } else {
    appendTimestamp(line, time);
    line.push_back(' ');
    line.append(levelName(level, format));
    line.push_back(' ');
    appendTextEscaped(line, message);
    line.push_back('\n');
  }
  return line;
}

LogSink::LogSink(LogFormat format, SecretRedactor redactor, std::ostream& out)
    : format_(format), redactor_(std::move(redactor)), out_(out) {}

void LogSink::sink_it_(const spdlog::details::log_msg& msg) {
  const std::string message =
      redactor_.redact(std::string_view(msg.payload.data(), msg.payload.size()));
  const std::string line =
      formatLogLine(format_, msg.level, msg.time,
                    std::string_view(msg.logger_name.data(), msg.logger_name.size()), message);
  out_.write(line.data(), static_cast<std::streamsize>(line.size()));
  out_.flush();
}

void LogSink::flush_() { out_.flush(); }

void LogSink::set_pattern_(const std::string&) {}

void LogSink::set_formatter_(std::unique_ptr<spdlog::formatter>) {}

LogFormat parseLogFormat(std::string_view format) {
  return format == "text" ? LogFormat::kText : LogFormat::kJson;
}

spdlog::level::level_enum parseLogLevel(std::string_view level) {
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "warn") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> makeLogger(const LogConfig& cfg, std::vector<std::string> secrets,
                                           std::ostream& out) {
  auto sink = std::make_shared<LogSink>(parseLogFormat(cfg.format),
                                        SecretRedactor(std::move(secrets)), out);
  auto logger = std::make_shared<spdlog::logger>(std::string(kLoggerName), std::move(sink));
  logger->set_level(parseLogLevel(cfg.level));
  return logger;
}

void setupLogging(const LogConfig& cfg, std::vector<std::string> secrets) {
  setupLogging(cfg, std::move(secrets), std::cerr);
}

void setupLogging(const LogConfig& cfg, std::vector<std::string> secrets, std::ostream& out) {
  spdlog::set_default_logger(makeLogger(cfg, std::move(secrets), out));
}

std::string LogLimiter::Verdict::suffix() const {
  if (suppressed == 0) return {};
  return " (" + std::to_string(suppressed) + " similar messages suppressed)";
}

LogLimiter::LogLimiter(Clock::duration interval, std::size_t max_keys)
    : interval_(interval), max_keys_(max_keys) {}

LogLimiter::Verdict LogLimiter::shouldLog(std::string_view key, Clock::time_point now) {
  const std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) {
      // An entry with nothing held back and an expired interval behaves exactly like no entry.
      std::erase_if(entries_, [&](const auto& item) {
        return item.second.suppressed == 0 && now - item.second.last_emitted >= interval_;
      });
    }
    // Still full: let the message through untracked rather than lose it.
    if (entries_.size() >= max_keys_) return Verdict{true, 0};
    entries_.emplace(std::string(key), Entry{now, 0});
    return Verdict{true, 0};
  }
  Entry& entry = it->second;
  if (now - entry.last_emitted < interval_) {
    ++entry.suppressed;
    return Verdict{false, entry.suppressed};
  }
  const Verdict verdict{true, entry.suppressed};
  entry.last_emitted = now;
  entry.suppressed = 0;
  return verdict;
}

}  // namespace siem
