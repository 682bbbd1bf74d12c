// Deterministic generator of realistic OpenAI audit-log events (shapes per the OpenAPI spec's
// AuditLog schema and its examples). Same seed + same calls => same events, byte for byte.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fakes/openai_sim/catalog.h"

namespace siem::sim {

// splitmix64: a tiny, portable, seedable generator (std distributions differ between libraries).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  std::uint64_t below(std::uint64_t bound);  // uniform-ish in [0, bound); bound > 0
  double unit();                             // [0, 1)
  bool chance(double probability) { return unit() < probability; }

 private:
  std::uint64_t state_;
};

// The splitmix64 finalizer: a bijection on 64-bit values, so distinct inputs give distinct ids.
std::uint64_t mix64(std::uint64_t value);

// Audit-log ids are `audit_log-` + 16 lower-case hex digits; ordering the strings equals ordering
// the numbers, which lets the store keep ids as integers.
std::string formatAuditLogId(std::uint64_t number);
// Appends the id to `out` (unquoted) without a temporary string.
void appendAuditLogId(std::string& out, std::uint64_t number);
std::optional<std::uint64_t> parseAuditLogId(std::string_view id);

enum class ActorKind : std::uint8_t {
  kAbsent,                // no `actor` key
  kNull,                  // "actor": null (system actions)
  kSession,               // dashboard session of a user
  kUserApiKey,            // API key owned by a user
  kServiceAccountApiKey,  // API key owned by a service account
};

// One generated event: the rendered JSON plus the fields the API filters on.
struct GeneratedEvent {
  std::int64_t effective_at = 0;
  std::uint64_t id_number = 0;
  TypeIndex type = 0;
  ActorKind actor_kind = ActorKind::kAbsent;
  std::string user_id;             // session user or key owner (may be empty)
  std::string user_email;          // may be empty
  std::string service_account_id;  // key owner when kServiceAccountApiKey
  std::string api_key_id;          // tracking id of the acting key
  std::string actor_name;          // email or service-account name (seed shape)
  std::string project_id;          // empty when the event has no `project`
  std::string resource_id;         // payload `id` (what `resource_ids[]` matches)
  std::string target_name;         // display name of the target when one is known
  std::string json;                // the AuditLog object, rendered once
};

struct World;  // users, projects, service accounts, keys... derived from the seed

// Not thread-safe; the Simulator guards it.
class EventGenerator {
 public:
  // `unknown_fraction` of drawn events get a type from catalog.unknownTypes() (when any).
  EventGenerator(std::uint64_t seed, const Catalog& catalog, double unknown_fraction);
  ~EventGenerator();
  EventGenerator(const EventGenerator&) = delete;
  EventGenerator& operator=(const EventGenerator&) = delete;

  // `count` events spread over [end_time - span_secs, end_time], in bursts that share a second,
  // handed to `sink` in chunks of ascending time (so the store appends without re-sorting and
  // peak memory stays at one chunk). A backlog of kEveryTypeThreshold events or more contains
  // every catalog type at least once.
  void backlog(std::size_t count, std::int64_t end_time, std::int64_t span_secs,
               const std::function<void(std::vector<GeneratedEvent>&&)>& sink);

  // One event at `effective_at`; its type is drawn by weight unless given.
  GeneratedEvent generate(std::int64_t effective_at, std::optional<TypeIndex> type = std::nullopt);

  static constexpr std::size_t kEveryTypeThreshold = 1000;

 private:
  TypeIndex drawType();

  const Catalog& catalog_;
  double unknown_fraction_;
  Rng rng_;
  std::uint64_t id_salt_;
  std::uint64_t id_counter_ = 0;
  std::unique_ptr<World> world_;
  std::vector<double> cumulative_weights_;  // over catalog_.knownTypes()
};

}  // namespace siem::sim
