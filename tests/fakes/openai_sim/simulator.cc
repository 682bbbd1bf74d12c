#include "tests/fakes/openai_sim/simulator.h"

#include <limits>
#include <mutex>

#include "tests/fakes/openai_sim/json_writer.h"

namespace siem::sim {
namespace {

const Catalog& registerUnknownTypes(Catalog& catalog, double unknown_fraction) {
  if (unknown_fraction > 0) {
    for (std::string_view name : kDefaultUnknownTypes) catalog.addUnknown(name);
  }
  return catalog;
}

// Closes `{"object":"list","data":[...` with the first/last ids of `positions` (null when empty).
void appendEnvelopeTail(std::string& out, const EventStore& store,
                        const std::vector<std::size_t>& positions, bool has_more) {
  const auto append_id = [&](std::size_t position) {
    out.push_back('"');
    appendAuditLogId(out, store.idNumberAt(position));
    out.push_back('"');
  };
  out += R"(],"first_id":)";
  if (positions.empty()) {
    out += "null";
  } else {
    append_id(positions.front());
  }
  out += R"(,"last_id":)";
  if (positions.empty()) {
    out += "null";
  } else {
    append_id(positions.back());
  }
  out += R"(,"has_more":)";
  out += has_more ? "true" : "false";
  out += "}";
}

// Valid JSON, wrong schema: numeric id, array event, string created_at, string success.
void appendWrongTypesOrganizationLog(std::string& out, const EventStore& store,
                                     std::size_t position) {
  out += R"({"id":)";
  out += std::to_string(store.idNumberAt(position));
  out += R"(,"object":"organization.log","event":[)";
  appendJsonString(out, store.typeAt(position));
  out += R"(],"created_at":)";
  appendJsonString(out, std::to_string(store.effectiveAtAt(position)));
  out += R"(,"success":"yes","actor":"system"})";
}

}  // namespace

Simulator::Simulator(SimulatorOptions options)
    : options_(std::move(options)),
      generator_(options_.seed, registerUnknownTypes(catalog_, options_.unknown_fraction),
                 options_.unknown_fraction),
      store_(catalog_) {}

void Simulator::addBacklog(std::size_t count, std::int64_t end_time, std::int64_t span_secs) {
  std::unique_lock lock(mutex_);
  generator_.backlog(count, end_time, span_secs, [this](std::vector<GeneratedEvent>&& events) {
    generated_ += events.size();
    store_.insert(std::move(events));
  });
}

std::vector<std::string> Simulator::generate(std::size_t count, std::int64_t at,
                                             std::int64_t span_secs,
                                             const std::vector<std::string>& types) {
  std::unique_lock lock(mutex_);
  std::vector<TypeIndex> type_indexes;
  for (const std::string& name : types) type_indexes.push_back(catalog_.addUnknown(name));
  std::vector<GeneratedEvent> events;
  std::vector<std::string> ids;
  events.reserve(count);
  ids.reserve(count);
  Rng spread(mix64(static_cast<std::uint64_t>(at) ^ generated_));
  for (std::size_t i = 0; i < count; ++i) {
    const std::int64_t t = span_secs > 0 ? at - static_cast<std::int64_t>(spread.below(
                                                    static_cast<std::uint64_t>(span_secs) + 1))
                                         : at;
    std::optional<TypeIndex> type;
    if (!type_indexes.empty()) type = type_indexes[i % type_indexes.size()];
    events.push_back(generator_.generate(t, type));
    ids.push_back(formatAuditLogId(events.back().id_number));
  }
  generated_ += events.size();
  store_.insert(std::move(events));
  return ids;
}

tl::expected<std::size_t, ApiError> Simulator::auditLogs(const ListQuery& query, PageStyle style,
                                                         PageScratch& scratch) const {
  std::shared_lock lock(mutex_);
  std::vector<std::size_t>& positions = scratch.positions;
  auto selected = store_.select(query, static_cast<std::size_t>(query.limit),
                                options_.unknown_cursor, positions);
  if (!selected) return tl::unexpected(selected.error());
  std::string& out = scratch.body;
  out.clear();
  if (style != PageStyle::kWrongTypes) {
    std::size_t size = 160;
    for (std::size_t pos : positions) size += store_.auditLogJson(pos).size() + 1;
    out.reserve(size);
  }
  out += R"({"object":"list","data":[)";
  bool first = true;
  for (std::size_t pos : positions) {
    if (!first) out.push_back(',');
    first = false;
    if (style == PageStyle::kWrongTypes) {
      // Valid JSON, wrong schema: numeric id, array type, string effective_at.
      out += R"({"id":)";
      out += std::to_string(store_.idNumberAt(pos));
      out += R"(,"type":[)";
      appendJsonString(out, store_.typeAt(pos));
      out += R"(],"effective_at":)";
      appendJsonString(out, std::to_string(store_.effectiveAtAt(pos)));
      out += R"(,"actor":"system"})";
    } else {
      out += store_.auditLogJson(pos);
    }
  }
  const bool has_more = *selected || style == PageStyle::kForceHasMore;
  if (style == PageStyle::kWrongTypes) {
    out += R"(],"first_id":0,"last_id":false,"has_more":)";
    out += has_more ? R"("true"})" : R"("false"})";
  } else {
    appendEnvelopeTail(out, store_, positions, has_more);
  }
  return positions.size();
}

tl::expected<std::size_t, ApiError> Simulator::organizationLogs(const ListQuery& query,
                                                                PageStyle style,
                                                                PageScratch& scratch) const {
  std::shared_lock lock(mutex_);
  std::vector<std::size_t>& positions = scratch.positions;
  auto selected =
      store_.selectIngested(query, static_cast<std::size_t>(query.limit), options_.unknown_cursor,
                            style == PageStyle::kRepeatCursorPage, positions);
  if (!selected) return tl::unexpected(selected.error());
  std::string& out = scratch.body;
  out.clear();
  out += R"({"object":"list","data":[)";
  bool first = true;
  for (std::size_t pos : positions) {
    if (!first) out.push_back(',');
    first = false;
    if (style == PageStyle::kWrongTypes) {
      appendWrongTypesOrganizationLog(out, store_, pos);
    } else {
      store_.appendOrganizationLogJson(out, pos);
    }
  }
  const bool has_more = *selected || style == PageStyle::kForceHasMore;
  if (style == PageStyle::kWrongTypes) {
    out += R"(],"first_id":0,"last_id":false,"has_more":)";
    out += has_more ? R"("true"})" : R"("false"})";
  } else {
    appendEnvelopeTail(out, store_, positions, has_more);
  }
  return positions.size();
}

std::optional<std::string> Simulator::organizationLog(std::string_view id, PageStyle style) const {
  std::shared_lock lock(mutex_);
  auto pos = store_.find(id);
  if (!pos) return std::nullopt;
  std::string out;
  if (style == PageStyle::kWrongTypes) {
    appendWrongTypesOrganizationLog(out, store_, *pos);
  } else {
    store_.appendOrganizationLogJson(out, *pos);
  }
  return out;
}

tl::expected<std::string, ApiError> Simulator::ids(const ListQuery& query, bool tsv) const {
  std::shared_lock lock(mutex_);
  std::vector<std::size_t> positions;
  auto selected = store_.select(query, std::numeric_limits<std::size_t>::max(),
                                options_.unknown_cursor, positions);
  if (!selected) return tl::unexpected(selected.error());
  std::string out;
  out.reserve(positions.size() * (tsv ? 64 : 27));
  for (std::size_t pos : positions) {
    appendAuditLogId(out, store_.idNumberAt(pos));
    if (tsv) {
      out.push_back('\t');
      out += std::to_string(store_.effectiveAtAt(pos));
      out.push_back('\t');
      out += store_.typeAt(pos);
    }
    out.push_back('\n');
  }
  return out;
}

void Simulator::clear() {
  std::unique_lock lock(mutex_);
  store_.clear();
}

Simulator::Totals Simulator::totals() const {
  std::shared_lock lock(mutex_);
  return Totals{store_.size(), generated_, store_.jsonBytes(), store_.oldest(), store_.newest()};
}

}  // namespace siem::sim
