// The id cursor of the `api: organization_logs` variant (pure logic: no I/O, no clock, no locks).
//
// The variant lists oldest first with `order=asc`, in an append-only order (an event the server
// adds later never lands before one it listed earlier), so `after=<id>` is a resumable position:
// the cursor is the id of the last event of the delivered prefix. State:
//   last_id     the durable position: every event listed up to and including it was delivered
//               (or deliberately skipped); nullopt means "from the beginning of the log";
//   not_before  start_at, resolved once on the first run: events whose created_at is earlier are
//               read and skipped, never emitted (the variant has no time filter to ask for less);
//   newest_created_at  the newest created_at of the delivered prefix (for the lag metric).
// Reading runs ahead of the durable position: the source pages on in memory while events are in
// flight, and the durable last_id moves only over the acknowledged prefix:
//   * an emitted event becomes the position once every event emitted up to it is acknowledged;
//   * a skipped event (before not_before) becomes the position once everything emitted before it
//     is acknowledged (at once when nothing is in flight), so a restart does not re-read it.
// Guarantee: after a crash, resuming `after=last_id` re-reads exactly the unacknowledged tail.
// Within one run, ids emitted recently (a bounded set) are not emitted again when a misbehaving
// server lists them twice.
#pragma once

#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "agent/api/event.h"
#include "agent/api/result.h"

namespace siem {

struct IdCursorState {
  std::optional<std::string> last_id;
  std::int64_t not_before = 0;
  std::int64_t newest_created_at = 0;

  bool operator==(const IdCursorState&) const = default;
};

// JSON: {"format":1,"api":"organization_logs","last_id":"<id>"|null,"not_before":N,
// "not_before_time":"<RFC 3339>","newest_created_at":N}. not_before_time is informative and
// ignored on read; a file whose `api` is not organization_logs (e.g. the audit_logs source's
// checkpoint) is an error.
std::string serializeIdCursorState(const IdCursorState& state);
Result<IdCursorState> parseIdCursorState(std::string_view json, simdjson::ondemand::parser& parser);

class IdCursor {
 public:
  // `recent_capacity`: how many emitted ids are remembered for the within-run duplicate check.
  IdCursor(IdCursorState state, std::size_t recent_capacity);

  enum class Verdict : std::uint8_t {
    kNew,          // emit it
    kDuplicate,    // emitted earlier in this run: drop (counted by the caller)
    kBeforeStart,  // created before not_before: skip (counted by the caller), then skipped()
  };
  Verdict classify(const Event& event) const;
  // True when `id` was emitted recently in this run (what classify() calls kDuplicate).
  bool emittedRecently(const std::string& id) const { return recent_.contains(id); }

  // The pipeline took `id` under `seq`. Calls come in emission order; an acknowledgement may
  // already have covered `seq` (the sink was faster than the emitter's return): that is handled.
  void emitted(std::uint64_t seq, std::string id, std::int64_t created_at);
  // `id` was read and deliberately not emitted (kBeforeStart).
  void skipped(std::string id);
  // Every event emitted with seq <= upto reached a terminal state. Returns true when nothing is
  // in flight any more (the caller then persists at once).
  bool acknowledged(std::uint64_t upto);

  // The durable state: what may be persisted now.
  const IdCursorState& state() const { return state_; }
  // Increases whenever state() changes.
  std::uint64_t version() const { return version_; }
  // Events read but not yet passed by the durable position.
  std::size_t inFlight() const { return pending_.size(); }

 private:
  struct Pending {
    std::uint64_t seq;  // complete once this seq is acknowledged
    std::string id;
    std::optional<std::int64_t> created_at;  // nullopt: skipped, not delivered
  };

  void push(Pending pending);
  void drain();
  void rememberRecent(const std::string& id);

  IdCursorState state_;
  std::size_t recent_capacity_;
  std::uint64_t version_ = 0;
  std::uint64_t last_emitted_seq_ = 0;
  std::optional<std::uint64_t> acked_upto_;
  std::deque<Pending> pending_;  // in read order
  std::deque<std::string> recent_order_;
  std::unordered_set<std::string> recent_;
};

}  // namespace siem
