#include "tests/fakes/openai_sim/event_store.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>

#include "tests/fakes/openai_sim/json_writer.h"

namespace siem::sim {

StringTable::StringTable() {
  strings_.emplace_back();
  index_.emplace(strings_.back(), 0);
}

std::uint32_t StringTable::intern(std::string_view text) {
  if (text.empty()) return 0;
  if (auto it = index_.find(text); it != index_.end()) return it->second;
  const auto id = static_cast<std::uint32_t>(strings_.size());
  strings_.emplace_back(text);
  index_.emplace(strings_.back(), id);
  return id;
}

std::optional<std::uint32_t> StringTable::find(std::string_view text) const {
  if (auto it = index_.find(text); it != index_.end()) return it->second;
  return std::nullopt;
}

std::string_view Arena::store(std::string_view text) {
  if (text.size() > kBlockSize) {
    // Oversized: its own block, kept before the current one so the current stays open.
    auto block = std::make_unique<char[]>(text.size());
    std::memcpy(block.get(), text.data(), text.size());
    const char* data = block.get();
    blocks_.insert(blocks_.empty() ? blocks_.end() : blocks_.end() - 1, std::move(block));
    bytes_ += text.size();
    return {data, text.size()};
  }
  if (kBlockSize - used_ < text.size()) {
    blocks_.push_back(std::make_unique<char[]>(kBlockSize));
    used_ = 0;
  }
  char* data = blocks_.back().get() + used_;
  std::memcpy(data, text.data(), text.size());
  used_ += text.size();
  bytes_ += text.size();
  return {data, text.size()};
}

void Arena::clear() {
  blocks_.clear();
  used_ = kBlockSize;
  bytes_ = 0;
}

void EventStore::insert(std::vector<GeneratedEvent> events) {
  if (events.empty()) return;
  std::vector<Record> fresh;
  fresh.reserve(events.size());
  for (GeneratedEvent& e : events) {
    Record r;
    r.effective_at = e.effective_at;
    r.id_number = e.id_number;
    r.json = arena_.store(e.json);
    r.type = e.type;
    r.actor_kind = e.actor_kind;
    r.tenant_scoped = catalog_.at(e.type).tenant_scoped;
    r.user = strings_.intern(e.user_id);
    r.email = strings_.intern(e.user_email);
    r.service_account = strings_.intern(e.service_account_id);
    r.api_key = strings_.intern(e.api_key_id);
    r.actor_name = strings_.intern(e.actor_name);
    r.project = strings_.intern(e.project_id);
    r.resource = strings_.intern(e.resource_id);
    r.target_name = strings_.intern(e.target_name);
    fresh.push_back(r);
  }
  std::sort(fresh.begin(), fresh.end());
  for (const Record& r : fresh) {
    entry_of_id_.emplace(r.id_number, IdEntry{r.effective_at, ingested_.size()});
    ingested_.push_back(r.id_number);
  }
  const auto old_size = static_cast<std::ptrdiff_t>(records_.size());
  const bool in_order = records_.empty() || records_.back() < fresh.front();
  records_.insert(records_.end(), fresh.begin(), fresh.end());
  if (!in_order) {
    // Late-indexed events land inside the stored range: merge only the affected tail.
    auto first_affected =
        std::upper_bound(records_.begin(), records_.begin() + old_size, records_[old_size]);
    std::inplace_merge(first_affected, records_.begin() + old_size, records_.end());
  }
}

void EventStore::clear() {
  records_.clear();
  records_.shrink_to_fit();
  entry_of_id_.clear();
  ingested_.clear();
  ingested_.shrink_to_fit();
  arena_.clear();
}

std::optional<std::size_t> EventStore::positionOf(std::uint64_t id_number) const {
  const auto it = entry_of_id_.find(id_number);
  if (it == entry_of_id_.end()) return std::nullopt;
  Record key;
  key.effective_at = it->second.effective_at;
  key.id_number = id_number;
  const auto pos = std::lower_bound(records_.begin(), records_.end(), key);
  if (pos == records_.end() || pos->id_number != id_number) return std::nullopt;
  return static_cast<std::size_t>(pos - records_.begin());
}

std::optional<std::size_t> EventStore::find(std::string_view id) const {
  const auto number = parseAuditLogId(id);
  if (!number) return std::nullopt;
  return positionOf(*number);
}

tl::expected<bool, ApiError> EventStore::selectIngested(const ListQuery& query, std::size_t limit,
                                                        UnknownCursorPolicy unknown_cursor,
                                                        bool repeat_cursor_page,
                                                        std::vector<std::size_t>& positions) const {
  positions.clear();
  bool has_more = false;
  const auto n = static_cast<std::ptrdiff_t>(ingested_.size());
  // "Forward" is the response order: toward later ingestion with order=asc.
  const std::ptrdiff_t forward = query.order == Order::kOldestFirst ? 1 : -1;
  std::ptrdiff_t start = forward > 0 ? 0 : n - 1;
  std::ptrdiff_t step = forward;
  bool reverse_at_end = false;
  if (query.after || query.before) {
    const std::string& cursor = query.after ? *query.after : *query.before;
    const auto number = parseAuditLogId(cursor);
    const auto it = number ? entry_of_id_.find(*number) : entry_of_id_.end();
    if (it == entry_of_id_.end()) {
      if (unknown_cursor == UnknownCursorPolicy::kEmptyPage) return false;
      const std::string param = query.after ? "after" : "before";
      return tl::unexpected(ApiError{
          400, "Invalid '" + param + "': no organization log with id '" + cursor + "' exists.",
          "invalid_request_error", param, "invalid_value"});
    }
    const auto p = static_cast<std::ptrdiff_t>(it->second.sequence);
    if (query.after && !repeat_cursor_page) {
      start = p + forward;
    } else {
      // `before`: the page just ahead of the cursor; the repeated page ends at the cursor itself.
      // Both are walked backwards and returned in response order.
      step = -forward;
      start = query.after ? p : p + step;
      reverse_at_end = true;
    }
  }
  for (std::ptrdiff_t i = start; i >= 0 && i < n; i += step) {
    if (positions.size() == limit) {
      has_more = true;
      break;
    }
    if (auto pos = positionOf(ingested_[static_cast<std::size_t>(i)])) positions.push_back(*pos);
  }
  if (reverse_at_end) std::reverse(positions.begin(), positions.end());
  return has_more || repeat_cursor_page;
}

std::string EventStore::idAt(std::size_t position) const {
  return formatAuditLogId(records_[position].id_number);
}

std::optional<std::int64_t> EventStore::oldest() const {
  if (records_.empty()) return std::nullopt;
  return records_.front().effective_at;
}

std::optional<std::int64_t> EventStore::newest() const {
  if (records_.empty()) return std::nullopt;
  return records_.back().effective_at;
}

namespace {

// Sentinel that no record carries: a requested value the store has never seen matches nothing.
constexpr std::uint32_t kNoSuchValue = std::numeric_limits<std::uint32_t>::max();

std::vector<std::uint32_t> lookUp(const StringTable& table,
                                  const std::vector<std::string>& values) {
  std::vector<std::uint32_t> ids;
  for (const std::string& v : values) {
    auto id = table.find(v);
    ids.push_back(id && *id != 0 ? *id : kNoSuchValue);
  }
  return ids;
}

bool contains(const std::vector<std::uint32_t>& set, std::uint32_t value) {
  return value != 0 && std::find(set.begin(), set.end(), value) != set.end();
}

}  // namespace

tl::expected<bool, ApiError> EventStore::select(const ListQuery& query, std::size_t limit,
                                                UnknownCursorPolicy unknown_cursor,
                                                std::vector<std::size_t>& positions) const {
  positions.clear();
  // --- compile the filters ---
  std::vector<bool> wanted_types;
  if (!query.event_types.empty()) {
    wanted_types.assign(catalog_.size(), false);
    for (std::size_t i = 0; i < query.event_types.size(); ++i) {
      const std::string& name = query.event_types[i];
      const std::string param = "event_types[" + std::to_string(i) + "]";
      auto index = catalog_.find(name);
      if (!index) {
        return tl::unexpected(ApiError{400,
                                       "Invalid value for '" + param + "': '" + name +
                                           "' is not a valid audit log event type.",
                                       "invalid_request_error", param, "invalid_value"});
      }
      const bool tenant = catalog_.at(*index).tenant_scoped;
      if (query.tenant == TenantScope::kTenantOnly && !tenant) {
        return tl::unexpected(ApiError{400,
                                       "When 'tenant_only' is true, all supplied event types must "
                                       "be tenant-scoped; '" +
                                           name + "' is not.",
                                       "invalid_request_error", param, "invalid_value"});
      }
      if (query.tenant == TenantScope::kNonTenant && tenant) {
        return tl::unexpected(ApiError{400,
                                       "'" + name +
                                           "' is a tenant-scoped event type; it requires "
                                           "'tenant_only=true'.",
                                       "invalid_request_error", param, "invalid_value"});
      }
      wanted_types[*index] = true;
    }
  }
  const auto projects = lookUp(strings_, query.project_ids);
  const auto actors = lookUp(strings_, query.actor_ids);
  const auto emails = lookUp(strings_, query.actor_emails);
  const auto resources = lookUp(strings_, query.resource_ids);

  const auto matches = [&](const Record& r) {
    if (query.tenant == TenantScope::kNonTenant && r.tenant_scoped) return false;
    if (query.tenant == TenantScope::kTenantOnly && !r.tenant_scoped) return false;
    if (!wanted_types.empty() && !wanted_types[r.type]) return false;
    if (!projects.empty() && !contains(projects, r.project)) return false;
    if (!actors.empty() && !contains(actors, r.user) && !contains(actors, r.service_account) &&
        !contains(actors, r.api_key)) {
      return false;
    }
    if (!emails.empty() && !contains(emails, r.email)) return false;
    if (!resources.empty() && !contains(resources, r.resource)) return false;
    return true;
  };

  // --- the time window as a range [begin, end) of the ascending store ---
  std::int64_t lo = std::numeric_limits<std::int64_t>::min();
  std::int64_t hi = std::numeric_limits<std::int64_t>::max();
  if (query.gte) lo = std::max(lo, *query.gte);
  if (query.gt) {
    if (*query.gt == hi) return false;
    lo = std::max(lo, *query.gt + 1);
  }
  if (query.lte) hi = std::min(hi, *query.lte);
  if (query.lt) {
    if (*query.lt == std::numeric_limits<std::int64_t>::min()) return false;
    hi = std::min(hi, *query.lt - 1);
  }
  if (lo > hi) return false;
  const auto by_time_lo = [](const Record& r, std::int64_t t) { return r.effective_at < t; };
  const auto by_time_hi = [](std::int64_t t, const Record& r) { return t < r.effective_at; };
  const auto begin = static_cast<std::ptrdiff_t>(
      std::lower_bound(records_.begin(), records_.end(), lo, by_time_lo) - records_.begin());
  const auto end = static_cast<std::ptrdiff_t>(
      std::upper_bound(records_.begin(), records_.end(), hi, by_time_hi) - records_.begin());

  // --- cursor ---
  // "Forward" is the response order: toward older events when newest-first.
  const std::ptrdiff_t forward = query.order == Order::kNewestFirst ? -1 : 1;
  std::ptrdiff_t start = forward < 0 ? end - 1 : begin;
  std::ptrdiff_t step = forward;
  bool reverse_at_end = false;
  if (query.after || query.before) {
    const std::string& cursor = query.after ? *query.after : *query.before;
    const auto pos = find(cursor);
    if (!pos) {
      if (unknown_cursor == UnknownCursorPolicy::kEmptyPage) return false;
      const std::string param = query.after ? "after" : "before";
      return tl::unexpected(
          ApiError{400, "Invalid '" + param + "': no audit log with id '" + cursor + "' exists.",
                   "invalid_request_error", param, "invalid_value"});
    }
    const auto p = static_cast<std::ptrdiff_t>(*pos);
    if (query.after) {
      start = p + forward;
    } else {
      // `before`: the page just ahead of the cursor, still returned in response order.
      step = -forward;
      start = p + step;
      reverse_at_end = true;
    }
  }
  if (step < 0) {
    start = std::min(start, end - 1);
  } else {
    start = std::max(start, begin);
  }

  bool has_more = false;
  for (std::ptrdiff_t i = start; i >= begin && i < end; i += step) {
    if (!matches(records_[static_cast<std::size_t>(i)])) continue;
    if (positions.size() == limit) {
      has_more = true;
      break;
    }
    positions.push_back(static_cast<std::size_t>(i));
  }
  if (reverse_at_end) std::reverse(positions.begin(), positions.end());
  return has_more;
}

namespace {

constexpr std::array<std::string_view, 6> kRequestModels = {
    "gpt-4o", "gpt-4o-mini", "o3-mini", "gpt-4.1", "text-embedding-3-small", "whisper-1"};

// `api_key.created` -> `api_key`; `tenant.user.added` -> `user`; `ip_allowlist.config.activated`
// -> `ip_allowlist_config`; sign-ins target the user.
std::string targetType(std::string_view type) {
  if (type.starts_with("login.") || type.starts_with("logout.")) return "user";
  if (type.starts_with("tenant.")) type.remove_prefix(7);
  std::string family(type.substr(0, type.rfind('.')));
  std::replace(family.begin(), family.end(), '.', '_');
  return family;
}

}  // namespace

void EventStore::appendOrganizationLogJson(std::string& out, std::size_t position) const {
  const Record& r = records_[position];
  const std::string_view type = catalog_.at(r.type).name;
  out += R"({"id":)";
  appendJsonString(out, formatAuditLogId(r.id_number));
  out += R"(,"object":"organization.log","event":)";
  appendJsonString(out, type);
  out += R"(,"created_at":)";
  appendJsonInt(out, r.effective_at);
  out += R"(,"success":)";
  out += type.ends_with(".failed") ? "false" : "true";
  out += R"(,"actor":)";
  switch (r.actor_kind) {
    case ActorKind::kAbsent:
    case ActorKind::kNull:
      out += R"({"type":"system","id":null,"name":"OpenAI"})";
      break;
    case ActorKind::kSession:
      out += R"({"type":"user","id":)";
      appendJsonStringOrNull(out, strings_.view(r.user));
      out += R"(,"name":)";
      appendJsonStringOrNull(out, strings_.view(r.actor_name));
      out += "}";
      break;
    case ActorKind::kUserApiKey:
    case ActorKind::kServiceAccountApiKey:
      out += r.actor_kind == ActorKind::kUserApiKey ? R"({"type":"api_key","id":)"
                                                    : R"({"type":"service_account","id":)";
      appendJsonStringOrNull(
          out,
          strings_.view(r.actor_kind == ActorKind::kUserApiKey ? r.api_key : r.service_account));
      out += R"(,"name":)";
      appendJsonStringOrNull(out, strings_.view(r.actor_name));
      out += "}";
      break;
  }
  out += R"(,"target":{"type":)";
  appendJsonString(out, targetType(type));
  out += R"(,"id":)";
  appendJsonStringOrNull(out, strings_.view(r.resource != 0 ? r.resource : r.user));
  out += R"(,"name":)";
  appendJsonStringOrNull(out, strings_.view(r.target_name));
  out += "}";
  // Actions taken with an API key carry the request that performed them (two in three).
  const std::uint64_t h = mix64(r.id_number);
  if ((r.actor_kind == ActorKind::kUserApiKey ||
       r.actor_kind == ActorKind::kServiceAccountApiKey) &&
      h % 3 != 0) {
    out += R"(,"api_request":{"id":)";
    std::string request_id = "req_";
    const std::uint64_t h2 = mix64(h);
    for (int shift = 60; shift >= 0; shift -= 4) {
      request_id.push_back("0123456789abcdef"[((h ^ h2) >> shift) & 0xF]);
      request_id.push_back("0123456789abcdef"[(h2 >> shift) & 0xF]);
    }
    appendJsonString(out, request_id);
    out += R"(,"model":)";
    appendJsonString(out, kRequestModels[(h >> 8) % kRequestModels.size()]);
    out += R"(,"response_body_truncated":)";
    out += (h >> 16) % 5 == 0 ? "true" : "false";
    out += R"(,"prompt_truncated":)";
    out += (h >> 24) % 7 == 0 ? "true" : "false";
    out += "}";
  }
  out += "}";
}

}  // namespace siem::sim
