// The simulated organization: catalog, generator and store behind one reader/writer lock, with
// the operations the HTTP layer needs rendered as response bodies.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "tests/fakes/openai_sim/catalog.h"
#include "tests/fakes/openai_sim/event_store.h"
#include "tests/fakes/openai_sim/generator.h"
#include "tests/fakes/openai_sim/list_query.h"

namespace siem::sim {

struct SimulatorOptions {
  std::uint64_t seed = 1;
  double unknown_fraction = 0;  // > 0 registers kDefaultUnknownTypes and mixes them in
  UnknownCursorPolicy unknown_cursor = UnknownCursorPolicy::kError;
  std::function<std::int64_t()> now;  // unix seconds; injected so tests of the sim are exact
};

// How a page body is written (the fault kinds that need a real page use the odd styles).
enum class PageStyle : std::uint8_t {
  kNormal,
  kWrongTypes,    // same envelope/events, but ids are numbers, effective_at strings, etc.
  kForceHasMore,  // has_more is true whatever the store says
  // organization_logs only: `after=<id>` answers with the page that ends at <id> (the previous
  // page again) and has_more true, so a client following last_id never advances.
  kRepeatCursorPage,
};

// Storage a response is built in. Reused across requests (see SimServer), so a warm one makes
// serving a page allocation-free: the page is the events' pre-rendered JSON copied into `body`.
struct PageScratch {
  std::string body;
  std::vector<std::size_t> positions;
};

// Thread-safe: list/get/ids take a shared lock, generate/clear an exclusive one.
class Simulator {
 public:
  explicit Simulator(SimulatorOptions options);

  std::int64_t now() const { return options_.now(); }

  void addBacklog(std::size_t count, std::int64_t end_time, std::int64_t span_secs);

  // `count` new events with effective_at drawn from [at - span_secs, at]. Type names not in the
  // catalog are registered as unknown types. Returns the new ids.
  std::vector<std::string> generate(std::size_t count, std::int64_t at, std::int64_t span_secs,
                                    const std::vector<std::string>& types);

  // GET /v1/organization/audit_logs: replaces scratch.body with the page; returns its event count.
  tl::expected<std::size_t, ApiError> auditLogs(const ListQuery& query, PageStyle style,
                                                PageScratch& scratch) const;
  // GET /v1/organization_logs: all events (tenant-scoped or not) in ingestion order (see
  // EventStore::selectIngested), seed-shaped. kWrongTypes gives seed-shaped fields of the wrong
  // JSON types; kRepeatCursorPage the looping cursor. Writes like auditLogs().
  tl::expected<std::size_t, ApiError> organizationLogs(const ListQuery& query, PageStyle style,
                                                       PageScratch& scratch) const;
  // GET /v1/organization_logs/{id} (kWrongTypes: the object with fields of the wrong types).
  std::optional<std::string> organizationLog(std::string_view id,
                                             PageStyle style = PageStyle::kNormal) const;
  // GET /_sim/ids: every matching id, newest first, one per line (`tsv`: id, effective_at, type).
  tl::expected<std::string, ApiError> ids(const ListQuery& query, bool tsv) const;

  void clear();

  struct Totals {
    std::size_t events = 0;
    std::uint64_t generated = 0;
    std::size_t json_bytes = 0;
    std::optional<std::int64_t> oldest, newest;
  };
  Totals totals() const;

 private:
  SimulatorOptions options_;
  mutable std::shared_mutex mutex_;  // guards catalog_, generator_, store_, generated_
  Catalog catalog_;
  EventGenerator generator_;
  EventStore store_;
  std::uint64_t generated_ = 0;
};

}  // namespace siem::sim
