#include "agent/sources/openai/id_cursor.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

#include "agent/core/json_escape.h"
#include "agent/core/time_spec.h"

namespace siem {

std::string serializeIdCursorState(const IdCursorState& state) {
  std::string out = R"({"format":1,"api":"organization_logs","last_id":)";
  if (state.last_id) {
    appendJsonString(out, *state.last_id);
  } else {
    out.append("null");
  }
  out.append(fmt::format(R"(,"not_before":{},"not_before_time":"{}","newest_created_at":{}}})",
                         state.not_before, formatRfc3339(state.not_before),
                         state.newest_created_at));
  out.push_back('\n');
  return out;
}

Result<IdCursorState> parseIdCursorState(std::string_view json,
                                         simdjson::ondemand::parser& parser) {
  namespace od = simdjson::ondemand;
  simdjson::padded_string padded(json);
  od::document doc;
  auto bad = [](std::string_view what) { return fail(fmt::format("cursor state: {}", what)); };
  if (parser.iterate(padded).get(doc)) return bad("not valid JSON");
  od::object top;
  if (doc.get_object().get(top)) return bad("not a JSON object");
  IdCursorState state;
  bool has_format = false;
  bool has_api = false;
  bool has_last_id = false;
  bool has_not_before = false;
  for (auto field_result : top) {
    od::field field;
    std::string_view key;
    if (std::move(field_result).get(field) || field.unescaped_key().get(key)) {
      return bad("not valid JSON");
    }
    od::value value = field.value();
    if (key == "format") {
      std::int64_t format = 0;
      if (value.get_int64().get(format)) return bad("`format` is not an integer");
      if (format != 1) return bad(fmt::format("unsupported format {}", format));
      has_format = true;
    } else if (key == "api") {
      std::string_view api;
      if (value.get_string().get(api)) return bad("`api` is not a string");
      if (api != "organization_logs") {
        return bad(fmt::format("written for api {}, not organization_logs", api));
      }
      has_api = true;
    } else if (key == "last_id") {
      od::json_type type;
      if (value.type().get(type)) return bad("not valid JSON");
      if (type != od::json_type::null) {
        std::string_view id;
        if (value.get_string().get(id)) return bad("`last_id` is not a string or null");
        if (id.empty()) return bad("`last_id` is empty");
        state.last_id.emplace(id);
      }
      has_last_id = true;
    } else if (key == "not_before") {
      if (value.get_int64().get(state.not_before)) return bad("`not_before` is not an integer");
      has_not_before = true;
    } else if (key == "newest_created_at") {
      if (value.get_int64().get(state.newest_created_at)) {
        return bad("`newest_created_at` is not an integer");
      }
    }
  }
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) return bad("content after the object");
  if (!has_format) return bad("`format` is missing");
  if (!has_api) return bad("`api` is missing");
  if (!has_last_id) return bad("`last_id` is missing");
  if (!has_not_before) return bad("`not_before` is missing");
  return state;
}

IdCursor::IdCursor(IdCursorState state, std::size_t recent_capacity)
    : state_(std::move(state)), recent_capacity_(recent_capacity) {}

IdCursor::Verdict IdCursor::classify(const Event& event) const {
  if (recent_.contains(event.id)) return Verdict::kDuplicate;
  if (event.effective_at < state_.not_before) return Verdict::kBeforeStart;
  return Verdict::kNew;
}

void IdCursor::emitted(std::uint64_t seq, std::string id, std::int64_t created_at) {
  last_emitted_seq_ = seq;
  rememberRecent(id);
  push(Pending{seq, std::move(id), created_at});
}

void IdCursor::skipped(std::string id) {
  // Ordered after the last emitted event: it may become the position once that one is
  // acknowledged (at once when nothing is in flight).
  if (pending_.empty()) {
    state_.last_id = std::move(id);
    ++version_;
    return;
  }
  push(Pending{last_emitted_seq_, std::move(id), std::nullopt});
}

bool IdCursor::acknowledged(std::uint64_t upto) {
  if (acked_upto_ && upto <= *acked_upto_) return false;
  acked_upto_ = upto;
  const std::size_t before = pending_.size();
  drain();
  return before > 0 && pending_.empty();
}

void IdCursor::push(Pending pending) {
  pending_.push_back(std::move(pending));
  drain();
}

void IdCursor::drain() {
  if (!acked_upto_) return;
  bool moved = false;
  while (!pending_.empty() && pending_.front().seq <= *acked_upto_) {
    Pending& p = pending_.front();
    state_.last_id = std::move(p.id);
    if (p.created_at) {
      state_.newest_created_at = std::max(state_.newest_created_at, *p.created_at);
    }
    pending_.pop_front();
    moved = true;
  }
  if (moved) ++version_;
}

void IdCursor::rememberRecent(const std::string& id) {
  if (recent_capacity_ == 0) return;
  if (!recent_.insert(id).second) return;
  recent_order_.push_back(id);
  if (recent_order_.size() > recent_capacity_) {
    recent_.erase(recent_order_.front());
    recent_order_.pop_front();
  }
}

}  // namespace siem
