#include "agent/sources/openai/window.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "agent/core/json_escape.h"
#include "agent/core/time_spec.h"

namespace siem {

std::string serializeCursorState(const CursorState& state) {
  std::vector<std::pair<std::int64_t, const std::string*>> seen;
  seen.reserve(state.seen.size());
  for (const auto& [id, t] : state.seen) seen.emplace_back(t, &id);
  std::sort(seen.begin(), seen.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first < b.first : *a.second < *b.second;
  });
  std::string out;
  out.reserve(128 + seen.size() * 48);
  out.append(
      fmt::format("{{\"format\":1,\"watermark\":{},\"watermark_time\":\"{}\",\"origin\":{},"
                  "\"seen\":{{",
                  state.watermark, formatRfc3339(state.watermark), state.origin));
  bool first = true;
  for (const auto& [t, id] : seen) {
    if (!first) out.push_back(',');
    first = false;
    out.append("\n");
    appendJsonString(out, *id);
    out.append(fmt::format(":{}", t));
  }
  out.append("}}\n");
  return out;
}

Result<CursorState> parseCursorState(std::string_view json, simdjson::ondemand::parser& parser) {
  namespace od = simdjson::ondemand;
  simdjson::padded_string padded(json);
  od::document doc;
  auto bad = [](std::string_view what) { return fail(fmt::format("cursor state: {}", what)); };
  if (parser.iterate(padded).get(doc)) return bad("not valid JSON");
  od::object top;
  if (doc.get_object().get(top)) return bad("not a JSON object");
  CursorState state;
  bool has_format = false;
  bool has_watermark = false;
  for (auto field_result : top) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key))
      return bad("not valid JSON");
    if (key == "format") {
      std::int64_t format = 0;
      if (field.value().get_int64().get(format)) return bad("`format` is not an integer");
      if (format != 1) return bad(fmt::format("unsupported format {}", format));
      has_format = true;
    } else if (key == "watermark") {
      if (field.value().get_int64().get(state.watermark))
        return bad("`watermark` is not an integer");
      has_watermark = true;
    } else if (key == "origin") {
      if (field.value().get_int64().get(state.origin)) return bad("`origin` is not an integer");
    } else if (key == "seen") {
      od::object seen;
      if (field.value().get_object().get(seen)) return bad("`seen` is not an object");
      for (auto entry_result : seen) {
        od::field entry;
        std::string_view id;
        std::int64_t t = 0;
        if (std::move(entry_result).get(entry) || entry.unescaped_key().get(id))
          return bad("not valid JSON");
        if (entry.value().get_int64().get(t)) return bad("a `seen` time is not an integer");
        state.seen.insert_or_assign(std::string(id), t);
      }
    }
  }
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) return bad("content after the object");
  if (!has_format) return bad("`format` is missing");
  if (!has_watermark) return bad("`watermark` is missing");
  return state;
}

std::int64_t spanAfterOverflow(const TimeWindow& window, const std::vector<Event>& newest,
                               std::size_t limit) {
  const std::int64_t half = std::max<std::int64_t>(1, window.span() / 2);
  if (newest.empty()) return half;
  std::int64_t oldest = window.end;
  for (const Event& e : newest) oldest = std::min(oldest, e.effective_at);
  // `newest` covers [oldest, end): its density tells how long a span holds limit / 2.
  const auto covered = static_cast<double>(std::max<std::int64_t>(1, window.end - oldest));
  const double target = std::max(1.0, static_cast<double>(limit) / 2);
  const double span = target * covered / static_cast<double>(newest.size());
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(span), 1, half);
}

std::int64_t spanAfterFit(const TimeWindow& window, std::size_t count, std::size_t limit,
                          std::int64_t max_span) {
  const std::int64_t span = std::max<std::int64_t>(1, window.span());
  const std::int64_t most = 2 * std::max(span, max_span);
  if (count == 0) return most;
  const double target = std::max(1.0, static_cast<double>(limit) / 2);
  const double next = static_cast<double>(span) * target / static_cast<double>(count);
  return std::clamp<std::int64_t>(static_cast<std::int64_t>(next), 1, most);
}

WindowCursor::WindowCursor(CursorState state, std::int64_t lookback_secs)
    : state_(std::move(state)),
      lookback_(std::max<std::int64_t>(lookback_secs, 0)),
      scanned_until_(state_.watermark),
      next_start_(std::max(state_.origin, state_.watermark - lookback_)),
      completed_end_(state_.watermark) {
  for (const auto& [id, t] : state_.seen) newest_known_ = std::max(newest_known_, t);
}

TimeWindow WindowCursor::nextWindow(std::int64_t now, std::int64_t max_span) const {
  TimeWindow w;
  w.start = next_start_;
  w.end = now;
  w.read_at = now;
  if (max_span > 0 && w.end - w.start > max_span) w.end = w.start + max_span;
  return w;
}

std::size_t WindowCursor::selectNew(std::vector<Event>& events) const {
  // Decide first, move afterwards: the views in `in_window` point into the untouched vector.
  std::vector<std::uint8_t> keep(events.size(), 0);
  {
    IdViewSet in_window;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      keep[i] = isNew(e.id, e.effective_at) && in_window.insert(e.id);
    }
  }
  const std::size_t before = events.size();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < before; ++i) {
    if (!keep[i]) continue;
    if (kept != i) events[kept] = std::move(events[i]);
    ++kept;
  }
  events.erase(events.begin() + static_cast<std::ptrdiff_t>(kept), events.end());
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return a.effective_at != b.effective_at ? a.effective_at < b.effective_at : a.id < b.id;
  });
  return before - kept;
}

std::size_t WindowCursor::orderNew(const std::vector<Event>& events,
                                   std::vector<std::uint32_t>& order) const {
  order.clear();
  order.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    if (isNew(events[i].id, events[i].effective_at)) order.push_back(static_cast<std::uint32_t>(i));
  }
  const auto less = [&](std::uint32_t a, std::uint32_t b) {
    const Event& x = events[a];
    const Event& y = events[b];
    return x.effective_at != y.effective_at ? x.effective_at < y.effective_at : x.id < y.id;
  };
  std::sort(order.begin(), order.end(), less);
  // Sorting puts a repeated event next to itself.
  const auto same = [&](std::uint32_t a, std::uint32_t b) {
    return events[a].effective_at == events[b].effective_at && events[a].id == events[b].id;
  };
  order.erase(std::unique(order.begin(), order.end(), same), order.end());
  return events.size() - order.size();
}

void WindowCursor::markSeen(std::string id, std::int64_t effective_at) {
  newest_known_ = std::max(newest_known_, effective_at);
  state_.seen.insert_or_assign(std::move(id), effective_at);
  ++version_;
}

void WindowCursor::emitted(std::uint64_t seq, std::string id, std::int64_t effective_at) {
  last_emitted_seq_ = seq;
  any_emitted_ = true;
  if (acked_upto_ && seq <= *acked_upto_) {
    if (effective_at >= state_.watermark - lookback_) markSeen(std::move(id), effective_at);
    return;
  }
  newest_known_ = std::max(newest_known_, effective_at);
  pending_.push_back(Pending{seq, std::move(id), effective_at});
  if (pending_indexed_) pending_ids_.insert(pending_.back().id);
  ++pending_times_[effective_at];
  advance();
}

void WindowCursor::windowDone(const TimeWindow& window) {
  scanned_until_ = std::max(scanned_until_, window.end);
  // Events in [window.start, read_at - lookback) were indexed when the window was read; the rest
  // may still gain late ones and is read again.
  next_start_ = std::max(next_start_,
                         std::max(window.start, std::min(window.end, window.read_at - lookback_)));
  bool all_acked = !any_emitted_ || (acked_upto_ && last_emitted_seq_ <= *acked_upto_);
  if (all_acked) {
    completed_end_ = std::max(completed_end_, window.end);
    advance();
  } else {
    marks_.push_back(WindowMark{last_emitted_seq_, window.end});
  }
}

bool WindowCursor::acknowledged(std::uint64_t upto) {
  if (acked_upto_ && upto <= *acked_upto_) return false;
  acked_upto_ = upto;
  std::size_t done = 0;
  for (; done < pending_.size() && pending_[done].seq <= upto; ++done) {
    const Pending& p = pending_[done];
    if (pending_indexed_) pending_ids_.erase(p.id);
    auto it = pending_times_.find(p.effective_at);
    if (--it->second == 0) pending_times_.erase(it);
  }
  bool completed = false;
  while (!marks_.empty() && marks_.front().last_seq <= upto) {
    completed_end_ = std::max(completed_end_, marks_.front().end);
    marks_.pop_front();
    completed = true;
  }
  advance();
  // Only what the next prune would keep goes to `seen`: W never moves back, and no window reads
  // before W - lookback again. (A backfill acknowledges mostly events far older than that.)
  const std::int64_t keep_from = state_.watermark - lookback_;
  for (; done > 0; --done) {
    Pending& p = pending_.front();
    if (p.effective_at >= keep_from) markSeen(std::move(p.id), p.effective_at);
    pending_.pop_front();
  }
  if (pending_.empty() && pending_indexed_) {
    pending_ids_.clear();
    pending_indexed_ = false;
  }
  return completed;
}

bool WindowCursor::isPending(std::string_view id) const {
  if (pending_.empty()) return false;
  if (!pending_indexed_) {
    for (const Pending& p : pending_) pending_ids_.insert(p.id);
    pending_indexed_ = true;
  }
  return pending_ids_.contains(id);
}

void WindowCursor::advance() {
  std::int64_t candidate = pending_times_.empty() ? completed_end_ : pending_times_.begin()->first;
  if (candidate > state_.watermark) {
    state_.watermark = candidate;
    ++version_;
  }
}

const CursorState& WindowCursor::prunedState() {
  const std::int64_t keep_from = state_.watermark - lookback_;
  std::erase_if(state_.seen, [keep_from](const auto& entry) { return entry.second < keep_from; });
  return state_;
}

}  // namespace siem
