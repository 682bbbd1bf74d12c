#include "agent/core/router.h"

#include <algorithm>

namespace siem {

bool globMatch(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t star_text = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_text = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_text;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

std::uint32_t indexOf(const std::vector<std::string>& ids, const std::string& id) {
  auto it = std::find(ids.begin(), ids.end(), id);
  return it == ids.end() ? UINT32_MAX : static_cast<std::uint32_t>(it - ids.begin());
}

bool anyGlob(const std::vector<std::string>& globs, std::string_view text) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& g) { return globMatch(g, text); });
}

bool anyEqual(const std::vector<std::string>& values, std::string_view text) {
  return std::any_of(values.begin(), values.end(), [&](const std::string& v) { return v == text; });
}

}  // namespace

Router::Router(const std::vector<RouteConfig>& routes, const std::vector<std::string>& source_ids,
               const std::vector<std::string>& sink_ids)
    : sink_count_(sink_ids.size()) {
  for (const auto& r : routes) {
    CompiledRoute c;
    c.name = r.name;
    c.when = r.when;
    c.from.assign(source_ids.size(), false);
    for (const auto& f : r.from) {
      if (f == "*") {
        c.from.assign(source_ids.size(), true);
      } else if (auto i = indexOf(source_ids, f); i != UINT32_MAX) {
        c.from[i] = true;
      }
    }
    for (const auto& t : r.to) {
      if (auto i = indexOf(sink_ids, t); i != UINT32_MAX) c.sinks.push_back(i);
    }
    routes_.push_back(std::move(c));
  }
}

bool Router::matches(const RouteCondition& when, const Event& event) {
  if (!when.type_globs.empty() && !anyGlob(when.type_globs, event.type)) return false;
  if (!when.outcome.empty() && when.outcome != toString(event.outcome)) return false;
  if (!when.actor_types.empty() && !anyEqual(when.actor_types, event.actor_type)) return false;
  if (!when.actor_email_globs.empty() && !anyGlob(when.actor_email_globs, event.actor_email))
    return false;
  if (!when.project_ids.empty() && !anyEqual(when.project_ids, event.project_id)) return false;
  return true;
}

void Router::match(std::uint32_t source_index, const Event& event,
                   std::vector<std::uint32_t>& out) const {
  out.clear();
  for (const auto& r : routes_) {
    if (source_index >= r.from.size() || !r.from[source_index]) continue;
    if (!matches(r.when, event)) continue;
    out.insert(out.end(), r.sinks.begin(), r.sinks.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
}

}  // namespace siem
