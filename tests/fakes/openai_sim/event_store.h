// The simulator's event store: every event rendered once, kept sorted by (effective_at, id), with
// an id index, so a page costs O(log n + scanned) and never copies the store. It also remembers
// the order events were ingested in (each insert() batch sorted by (effective_at, id), batches in
// call order), which the seed `organization_logs` variant pages by: an id cursor over that order is
// complete because the order is append-only (an event added later, even with an older
// effective_at, always comes after every event added before it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <tl/expected.hpp>

#include "tests/fakes/openai_sim/catalog.h"
#include "tests/fakes/openai_sim/generator.h"
#include "tests/fakes/openai_sim/list_query.h"

namespace siem::sim {

// Interns the identifiers events are filtered on. Id 0 is the empty string ("none").
class StringTable {
 public:
  StringTable();
  std::uint32_t intern(std::string_view text);
  std::optional<std::uint32_t> find(std::string_view text) const;
  std::string_view view(std::uint32_t id) const { return strings_[id]; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
      return std::hash<std::string_view>{}(text);
    }
  };
  std::deque<std::string> strings_;  // deque: views stay valid as it grows
  std::unordered_map<std::string_view, std::uint32_t, Hash, std::equal_to<>> index_;
};

// Append-only storage for rendered JSON; one allocation per large block, not per event.
class Arena {
 public:
  std::string_view store(std::string_view text);
  void clear();
  std::size_t bytes() const { return bytes_; }

 private:
  static constexpr std::size_t kBlockSize = 32 << 20;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::size_t used_ = kBlockSize;  // bytes used in blocks_.back()
  std::size_t bytes_ = 0;
};

enum class UnknownCursorPolicy : std::uint8_t { kError, kEmptyPage };

// Not thread-safe; the Simulator guards it (readers shared, writers exclusive).
class EventStore {
 public:
  explicit EventStore(const Catalog& catalog) : catalog_(catalog) {}

  void insert(std::vector<GeneratedEvent> events);
  void clear();

  std::size_t size() const { return records_.size(); }
  std::size_t jsonBytes() const { return arena_.bytes(); }

  // Applies every filter of `query` and pages from its cursor: replaces `positions` with the
  // selected store positions in response order (the caller's vector, so a warm one allocates
  // nothing) and returns has_more. `limit` overrides query.limit (SIZE_MAX = everything, for
  // /_sim/ids). Errors are 400s about the query (unknown event type, tenant scope mismatch,
  // unknown cursor under kError).
  tl::expected<bool, ApiError> select(const ListQuery& query, std::size_t limit,
                                      UnknownCursorPolicy unknown_cursor,
                                      std::vector<std::size_t>& positions) const;

  // The seed variant's listing: every event (no filters), in ingestion order (`order` asc) or its
  // reverse (desc), paged by `after`/`before` like select(). With `repeat_cursor_page` (the
  // `loop_cursor` fault) an `after=<id>` request gets the page that ends at <id> instead, with
  // has_more true: the previous page again, so the cursor never advances.
  tl::expected<bool, ApiError> selectIngested(const ListQuery& query, std::size_t limit,
                                              UnknownCursorPolicy unknown_cursor,
                                              bool repeat_cursor_page,
                                              std::vector<std::size_t>& positions) const;

  std::optional<std::size_t> find(std::string_view id) const;

  // The AuditLog object exactly as generated.
  std::string_view auditLogJson(std::size_t position) const { return records_[position].json; }
  // The same event in the seed document's shape (rendered on demand).
  void appendOrganizationLogJson(std::string& out, std::size_t position) const;

  std::string idAt(std::size_t position) const;
  std::uint64_t idNumberAt(std::size_t position) const { return records_[position].id_number; }
  std::int64_t effectiveAtAt(std::size_t position) const { return records_[position].effective_at; }
  std::string_view typeAt(std::size_t position) const {
    return catalog_.at(records_[position].type).name;
  }
  std::optional<std::int64_t> oldest() const;
  std::optional<std::int64_t> newest() const;

 private:
  struct Record {
    std::int64_t effective_at = 0;
    std::uint64_t id_number = 0;
    std::string_view json;  // in arena_
    TypeIndex type = 0;
    ActorKind actor_kind = ActorKind::kAbsent;
    bool tenant_scoped = false;
    std::uint32_t user = 0, email = 0, service_account = 0, api_key = 0, actor_name = 0;
    std::uint32_t project = 0, resource = 0, target_name = 0;

    bool operator<(const Record& other) const {
      return effective_at != other.effective_at ? effective_at < other.effective_at
                                                : id_number < other.id_number;
    }
  };

  struct IdEntry {
    std::int64_t effective_at = 0;
    std::size_t sequence = 0;  // index in ingested_
  };

  std::optional<std::size_t> positionOf(std::uint64_t id_number) const;

  const Catalog& catalog_;
  std::vector<Record> records_;  // ascending (effective_at, id); responses read it backwards
  std::unordered_map<std::uint64_t, IdEntry> entry_of_id_;
  std::vector<std::uint64_t> ingested_;  // id numbers in ingestion order
  StringTable strings_;
  Arena arena_;
};

}  // namespace siem::sim
