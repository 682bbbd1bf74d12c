// The time-window cursor of the OpenAI audit-log source (pure logic: no I/O, no clock, no locks).
//
// The API lists newest first and has no "since id", so the cursor is time. State:
//   W (watermark, unix s) and `seen` (ids already delivered, with their effective_at, kept for
//   effective_at >= W - lookback).
// A cycle reads a window [start, now) over all its pages, drops ids already seen or still in
// flight, sorts the rest by (effective_at, id) and emits them. The next window starts where the
// last one may still gain late-indexed events: `lookback` before the time it was read (so steady
// polling re-reads the last lookback_secs), but never before the last window's start and never
// re-reading a range that was already older than lookback when it was read (so a backfill walks
// forward without overlap). The first window after a (re)start begins at max(origin, W - lookback).
// Acknowledgements move W:
//   * while events are in flight, W = the smallest effective_at still in flight (every earlier
//     event of the windows read so far has been delivered), never moving backwards;
//   * once everything emitted for a window is acknowledged, W = that window's end.
// Guarantee (what makes a crash safe): every event that was read but is not yet acknowledged has
// effective_at >= W - lookback, and every acknowledged event with effective_at >= W - lookback is
// in `seen`. After a restart the first query starts at W - lookback, so the unacknowledged tail is
// read and sent again, acknowledged events are suppressed, and nothing is skipped. (An event that
// the API indexes more than `lookback` after its effective_at can still be missed: that is what
// lookback_secs is for.)
#pragma once

#include <simdjson.h>

#include <climits>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/api/event.h"
#include "agent/api/result.h"
#include "agent/sources/openai/id_set.h"

namespace siem {

struct CursorState {
  std::int64_t watermark = 0;  // W: see above
  std::int64_t origin = 0;     // resolved start_at of the first run; no query starts before it
  std::unordered_map<std::string, std::int64_t> seen;  // id → effective_at

  bool operator==(const CursorState&) const = default;
};

// JSON: {"format":1,"watermark":W,"watermark_time":"<RFC 3339>","origin":O,"seen":{"id":t,...}}
// with `seen` ordered by (effective_at, id). watermark_time is informative and ignored on read.
std::string serializeCursorState(const CursorState& state);
Result<CursorState> parseCursorState(std::string_view json, simdjson::ondemand::parser& parser);

// [start, end) in unix seconds; empty when start >= end.
struct TimeWindow {
  std::int64_t start = 0;
  std::int64_t end = 0;
  std::int64_t read_at = 0;  // the `now` it was planned at (no page of it is read earlier)
  std::int64_t span() const { return end - start; }
  bool empty() const { return start >= end; }
};

// The span of the next window after `window` held more than `limit` events: `newest` are the
// events read before giving up (pages come newest first, so they are the newest of the window), and
// their density sets a span expected to hold about limit / 2. At most half the window's span, at
// least one second.
std::int64_t spanAfterOverflow(const TimeWindow& window, const std::vector<Event>& newest,
                               std::size_t limit);
// The span of the next window after `window` fitted with `count` events: again about limit / 2
// at its density, at most twice the larger of its span and `max_span` (the span it was planned
// with: a window cut short at the end of a backfill says little), at least one second.
std::int64_t spanAfterFit(const TimeWindow& window, std::size_t count, std::size_t limit,
                          std::int64_t max_span);

class WindowCursor {
 public:
  WindowCursor(CursorState state, std::int64_t lookback_secs);

  // The next window to read, ending at min(now, start + max_span) (max_span 0: no limit). Empty
  // when there is nothing to read yet.
  TimeWindow nextWindow(std::int64_t now, std::int64_t max_span) const;

  // False when `id` was already delivered or is in flight (collect only what is new, so a window's
  // memory is bounded by its new events).
  bool isNew(const std::string& id) const { return !state_.seen.contains(id) && !isPending(id); }
  // The same for an event whose effective_at is known: an event later than every id the cursor
  // holds is new without a lookup (the common case while a backfill walks forward).
  bool isNew(const std::string& id, std::int64_t effective_at) const {
    return effective_at > newest_known_ || isNew(id);
  }

  // Drops from `events` every id already delivered, still in flight, or repeated within `events`,
  // and sorts the rest by (effective_at, id). Returns how many were dropped.
  std::size_t selectNew(std::vector<Event>& events) const;
  // selectNew without moving any event: replaces `order` with the indices of the new events of
  // `events`, ascending by (effective_at, id). For a window's collection, which holds each id at
  // most once (a repeat of the same event is dropped too). Returns how many were dropped.
  std::size_t orderNew(const std::vector<Event>& events, std::vector<std::uint32_t>& order) const;

  // The pipeline took the event `id` (effective_at `effective_at`) under sequence number `seq`.
  // Calls come in emission order. An acknowledgement may already have covered `seq` (the sink was
  // faster than the emitter's return); that is handled.
  void emitted(std::uint64_t seq, std::string id, std::int64_t effective_at);
  // Every new event of `window` (as returned by nextWindow) has been emitted.
  void windowDone(const TimeWindow& window);
  // Every event emitted with seq <= upto reached a terminal state. Returns true when this
  // completed a window (the caller then persists at once).
  bool acknowledged(std::uint64_t upto);

  // Drops `seen` entries older than W - lookback; returns the state to persist.
  const CursorState& prunedState();

  std::int64_t watermark() const { return state_.watermark; }
  std::int64_t scannedUntil() const { return scanned_until_; }
  std::size_t inFlight() const { return pending_.size(); }
  std::size_t seenCount() const { return state_.seen.size(); }
  // Increases whenever the persisted part of the state changes.
  std::uint64_t version() const { return version_; }

 private:
  struct Pending {
    std::uint64_t seq;
    std::string id;
    std::int64_t effective_at;
  };
  struct WindowMark {
    std::uint64_t last_seq;  // the window is complete once this seq is acknowledged
    std::int64_t end;
  };

  void markSeen(std::string id, std::int64_t effective_at);
  // Whether `id` is in flight. The index of in-flight ids is built on the first lookup that needs
  // it and dropped when nothing is in flight: a backfill, whose events are all newer than what
  // is in flight (see isNew), never pays for it.
  bool isPending(std::string_view id) const;
  void advance();

  CursorState state_;
  std::int64_t lookback_;
  std::int64_t scanned_until_;  // end of the last window fully emitted (W after a restart)
  std::int64_t next_start_;     // where the next window begins
  std::int64_t completed_end_;  // end of the last window fully acknowledged
  std::uint64_t last_emitted_seq_ = 0;
  bool any_emitted_ = false;
  std::optional<std::uint64_t> acked_upto_;
  std::uint64_t version_ = 0;
  std::deque<Pending> pending_;  // in emission order; elements never move while queued
  // Views of every pending_[i].id while pending_indexed_. Built lazily by const lookups, so this
  // class is not safe for concurrent const calls (its caller serializes every call anyway).
  mutable IdViewSet pending_ids_;
  mutable bool pending_indexed_ = false;
  // The largest effective_at of any id ever put in `seen` or `pending_` (a bound, never lowered).
  std::int64_t newest_known_ = INT64_MIN;
  std::map<std::int64_t, std::size_t> pending_times_;  // effective_at → count in flight
  std::deque<WindowMark> marks_;
};

}  // namespace siem
