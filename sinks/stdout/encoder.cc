#include "sinks/stdout/encoder.h"

#include <fmt/format.h>

#include "agent/core/time_spec.h"

namespace siem {
namespace {

std::string_view orDash(std::string_view s) { return s.empty() ? std::string_view("-") : s; }

// Keeps one summary on one line whatever the event carries.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out.push_back(static_cast<unsigned char>(c) < 0x20 ? '?' : c);
  return out;
}

}  // namespace

void appendStdoutLine(std::string& out, const Event& event, Encoding encoding,
                      StdoutFormat format) {
  if (format == StdoutFormat::kNdjson) {
    out += event.encoded(encoding);
    out += '\n';
    return;
  }
  const std::string_view actor = !event.actor_email.empty() ? event.actor_email : event.actor_id;
  fmt::format_to(std::back_inserter(out), "{}  {:<36}  {:<7}  {:<32}  {:<24}  {}\n",
                 formatRfc3339(event.effective_at), printable(event.type), toString(event.outcome),
                 printable(orDash(actor)), printable(orDash(event.project_id)),
                 printable(event.id));
}

}  // namespace siem
