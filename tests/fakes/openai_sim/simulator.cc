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

void appendEnvelopeTail(std::string& out, std::string_view first_id, std::string_view last_id,
                        bool has_more) {
  out += R"(],"first_id":)";
  appendJsonStringOrNull(out, first_id);
  out += R"(,"last_id":)";
  appendJsonStringOrNull(out, last_id);
  out += R"(,"has_more":)";
  out += has_more ? "true" : "false";
  out += "}";
}

// Valid JSON, wrong schema: numeric id, array event, string created_at, string success.
void appendWrongTypesOrganizationLog(std::string& out, const EventStore& store,
                                     std::size_t position) {
  out += R"({"id":)";
  out += std::to_string(*parseAuditLogId(store.idAt(position)));
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

tl::expected<RenderedPage, ApiError> Simulator::auditLogs(const ListQuery& query,
                                                          PageStyle style) const {
  std::shared_lock lock(mutex_);
  auto selection =
      store_.select(query, static_cast<std::size_t>(query.limit), options_.unknown_cursor);
  if (!selection) return tl::unexpected(selection.error());
  RenderedPage page;
  page.count = selection->positions.size();
  std::string& out = page.body;
  std::size_t size = 128;
  for (std::size_t pos : selection->positions) size += store_.auditLogJson(pos).size() + 1;
  out.reserve(size);
  out += R"({"object":"list","data":[)";
  bool first = true;
  for (std::size_t pos : selection->positions) {
    if (!first) out.push_back(',');
    first = false;
    if (style == PageStyle::kWrongTypes) {
      // Valid JSON, wrong schema: numeric id, array type, string effective_at.
      out += R"({"id":)";
      out += std::to_string(*parseAuditLogId(store_.idAt(pos)));
      out += R"(,"type":[)";
      appendJsonString(out, store_.typeAt(pos));
      out += R"(],"effective_at":)";
      appendJsonString(out, std::to_string(store_.effectiveAtAt(pos)));
      out += R"(,"actor":"system"})";
    } else {
      out += store_.auditLogJson(pos);
    }
  }
  const bool has_more = selection->has_more || style == PageStyle::kForceHasMore;
  if (style == PageStyle::kWrongTypes) {
    out += R"(],"first_id":0,"last_id":false,"has_more":)";
    out += has_more ? R"("true"})" : R"("false"})";
    return page;
  }
  const auto& positions = selection->positions;
  appendEnvelopeTail(out, positions.empty() ? std::string() : store_.idAt(positions.front()),
                     positions.empty() ? std::string() : store_.idAt(positions.back()), has_more);
  return page;
}

tl::expected<RenderedPage, ApiError> Simulator::organizationLogs(const ListQuery& query,
                                                                 PageStyle style) const {
  std::shared_lock lock(mutex_);
  auto selection =
      store_.selectIngested(query, static_cast<std::size_t>(query.limit), options_.unknown_cursor,
                            style == PageStyle::kRepeatCursorPage);
  if (!selection) return tl::unexpected(selection.error());
  RenderedPage page;
  page.count = selection->positions.size();
  std::string& out = page.body;
  out.reserve(64 + 512 * page.count);
  out += R"({"object":"list","data":[)";
  bool first = true;
  for (std::size_t pos : selection->positions) {
    if (!first) out.push_back(',');
    first = false;
    if (style == PageStyle::kWrongTypes) {
      appendWrongTypesOrganizationLog(out, store_, pos);
    } else {
      store_.appendOrganizationLogJson(out, pos);
    }
  }
  const bool has_more = selection->has_more || style == PageStyle::kForceHasMore;
  if (style == PageStyle::kWrongTypes) {
    out += R"(],"first_id":0,"last_id":false,"has_more":)";
    out += has_more ? R"("true"})" : R"("false"})";
    return page;
  }
  const auto& positions = selection->positions;
  appendEnvelopeTail(out, positions.empty() ? std::string() : store_.idAt(positions.front()),
                     positions.empty() ? std::string() : store_.idAt(positions.back()), has_more);
  return page;
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
  auto selection =
      store_.select(query, std::numeric_limits<std::size_t>::max(), options_.unknown_cursor);
  if (!selection) return tl::unexpected(selection.error());
  std::string out;
  out.reserve(selection->positions.size() * (tsv ? 64 : 27));
  for (std::size_t pos : selection->positions) {
    out += store_.idAt(pos);
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
