#include "agent/core/dead_letter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "agent/core/json_escape.h"
#include "agent/core/time_spec.h"

namespace siem {
namespace {

bool looksLikeJsonObject(std::string_view s) {
  return s.size() >= 2 && s.front() == '{' && s.back() == '}';
}

}  // namespace

DeadLetterFile::DeadLetterFile(std::string dir, std::string sink_id, Encoding encoding)
    : dir_(std::move(dir)),
      sink_id_(std::move(sink_id)),
      encoding_(encoding),
      path_(dir_ + "/" + sink_id_ + ".ndjson") {}

Result<void> DeadLetterFile::write(std::span<const EventPtr> events,
                                   std::span<const std::string> reasons) {
  const auto now = std::chrono::system_clock::now();
  const std::string time = formatRfc3339(
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
  std::string out;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = *events[i];
    out += "{\"time\":";
    appendJsonString(out, time);
    out += ",\"sink\":";
    appendJsonString(out, sink_id_);
    out += ",\"source\":";
    appendJsonString(out, e.source ? std::string_view(e.source->id) : std::string_view());
    out += ",\"id\":";
    appendJsonString(out, e.id);
    out += ",\"type\":";
    appendJsonString(out, e.type);
    out += ",\"reason\":";
    appendJsonString(out, i < reasons.size() ? std::string_view(reasons[i]) : std::string_view());
    out += ",\"encoding\":";
    appendJsonString(out, toString(encoding_));
    out += ",\"event\":";
    const std::string& body = e.encoded(encoding_).empty() ? e.raw : e.encoded(encoding_);
    if (looksLikeJsonObject(body) && body.find('\n') == std::string::npos) {
      out += body;
    } else {
      appendJsonString(out, body);
    }
    out += "}\n";
  }

  std::lock_guard lock(mutex_);
  if (!fd_.valid()) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) return fail("cannot create dead-letter directory " + dir_ + ": " + ec.message());
    fd_ = UniqueFd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
    if (!fd_.valid())
      return fail("cannot open dead-letter file " + path_ + ": " + std::strerror(errno));
  }
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::write(fd_.get(), out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot write dead-letter file " + path_ + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_.get()) != 0) {
    return fail("cannot sync dead-letter file " + path_ + ": " + std::strerror(errno));
  }
  return {};
}

}  // namespace siem
