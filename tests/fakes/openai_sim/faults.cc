#include "tests/fakes/openai_sim/faults.h"

#include <array>
#include <utility>

#include <simdjson.h>

namespace siem::sim {
namespace {

constexpr std::array<std::pair<std::string_view, FaultKind>, 11> kNames = {{
    {"429", FaultKind::kTooManyRequests},
    {"500", FaultKind::kInternalError},
    {"503", FaultKind::kUnavailable},
    {"slow", FaultKind::kSlow},
    {"malformed", FaultKind::kMalformed},
    {"truncated", FaultKind::kTruncated},
    {"wrong_types", FaultKind::kWrongTypes},
    {"missing_data", FaultKind::kMissingData},
    {"has_more_empty", FaultKind::kHasMoreEmpty},
    {"loop_cursor", FaultKind::kLoopCursor},
    {"drop_connection", FaultKind::kDropConnection},
}};

tl::expected<std::int64_t, std::string> readInteger(simdjson::dom::element value,
                                                    std::string_view key, std::int64_t min) {
  std::int64_t n = 0;
  if (value.get(n) != simdjson::SUCCESS || n < min) {
    std::string message(key);
    message += " must be an integer >= ";
    message += std::to_string(min);
    return tl::unexpected(std::move(message));
  }
  return n;
}

}  // namespace

std::string_view toString(FaultKind kind) {
  for (const auto& [name, k] : kNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::optional<FaultKind> faultKindFromString(std::string_view name) {
  for (const auto& [n, k] : kNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

tl::expected<Fault, std::string> parseFault(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS) {
    return tl::unexpected(std::string("body is not valid JSON"));
  }
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) {
    return tl::unexpected(std::string("body must be a JSON object"));
  }
  Fault fault;
  bool have_kind = false;
  for (auto [key, value] : object) {
    const auto integer = [&value = value, &key = key](std::int64_t min) {
      return readInteger(value, key, min);
    };
    if (key == "kind") {
      std::string_view name;
      if (value.get(name) != simdjson::SUCCESS) {
        return tl::unexpected(std::string("'kind' must be a string"));
      }
      auto kind = faultKindFromString(name);
      if (!kind) {
        std::string message = "unknown fault kind: ";
        message += name;
        return tl::unexpected(message);
      }
      fault.kind = *kind;
      have_kind = true;
    } else if (key == "count") {
      auto n = integer(1);
      if (!n) return tl::unexpected(n.error());
      fault.count = static_cast<std::uint32_t>(*n);
    } else if (key == "retry_after_secs") {
      auto n = integer(0);
      if (!n) return tl::unexpected(n.error());
      fault.retry_after_secs = *n;
    } else if (key == "retry_after_ms") {
      auto n = integer(0);
      if (!n) return tl::unexpected(n.error());
      fault.retry_after_ms = *n;
    } else if (key == "delay_ms") {
      auto n = integer(0);
      if (!n) return tl::unexpected(n.error());
      fault.delay_ms = *n;
    } else {
      std::string message = "unknown field: ";
      message += key;
      return tl::unexpected(message);
    }
  }
  if (!have_kind) return tl::unexpected(std::string("'kind' is required"));
  return fault;
}

void FaultQueue::push(Fault fault) {
  std::lock_guard lock(mutex_);
  queue_.push_back(fault);
}

std::optional<Fault> FaultQueue::take() {
  std::lock_guard lock(mutex_);
  if (queue_.empty()) return std::nullopt;
  Fault unit = queue_.front();
  unit.count = 1;
  if (--queue_.front().count == 0) queue_.pop_front();
  return unit;
}

std::size_t FaultQueue::pending() const {
  std::lock_guard lock(mutex_);
  std::size_t total = 0;
  for (const Fault& f : queue_) total += f.count;
  return total;
}

void FaultQueue::clear() {
  std::lock_guard lock(mutex_);
  queue_.clear();
}

}  // namespace siem::sim
