#include "tests/fakes/openai_sim/list_query.h"

#include <charconv>

#include "tests/fakes/openai_sim/json_writer.h"

namespace siem::sim {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hexValue(text[i + 1]);
      const int lo = hexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

ApiError invalid(std::string param, std::string message, std::string code = {}) {
  ApiError e;
  e.param = std::move(param);
  e.message = std::move(message);
  e.code = std::move(code);
  return e;
}

std::optional<std::int64_t> parseInteger(std::string_view text) {
  std::int64_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The array name if `key` is `name[]` or `name[<digits>]`, else nullopt.
std::optional<std::string_view> arrayName(std::string_view key) {
  const auto open = key.find('[');
  if (open == std::string_view::npos || key.back() != ']') return std::nullopt;
  const std::string_view inside = key.substr(open + 1, key.size() - open - 2);
  for (char c : inside) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  return key.substr(0, open);
}

}  // namespace

std::string renderApiError(const ApiError& error) {
  std::string out = R"({"error":{"message":)";
  appendJsonString(out, error.message);
  out += R"(,"type":)";
  appendJsonString(out, error.type);
  out += R"(,"param":)";
  appendJsonStringOrNull(out, error.param);
  out += R"(,"code":)";
  appendJsonStringOrNull(out, error.code);
  out += "}}";
  return out;
}

QueryParams parseQueryString(std::string_view target) {
  QueryParams params;
  const auto q = target.find('?');
  std::string_view query = q == std::string_view::npos ? target : target.substr(q + 1);
  if (const auto hash = query.find('#'); hash != std::string_view::npos) {
    query = query.substr(0, hash);
  }
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    params.emplace_back(percentDecode(key, true), percentDecode(value, true));
  }
  return params;
}

tl::expected<ListQuery, ApiError> parseListQuery(const QueryParams& params, QueryDialect dialect) {
  ListQuery query;
  const bool audit = dialect != QueryDialect::kOrganizationLogs;
  bool limit_seen = false;
  for (const auto& [key, value] : params) {
    if (audit) {
      std::optional<std::int64_t>* bound = nullptr;
      if (key == "effective_at[gt]" || (dialect == QueryDialect::kControl && key == "gt")) {
        bound = &query.gt;
      } else if (key == "effective_at[gte]" ||
                 (dialect == QueryDialect::kControl && key == "gte")) {
        bound = &query.gte;
      } else if (key == "effective_at[lt]" || (dialect == QueryDialect::kControl && key == "lt")) {
        bound = &query.lt;
      } else if (key == "effective_at[lte]" ||
                 (dialect == QueryDialect::kControl && key == "lte")) {
        bound = &query.lte;
      }
      if (bound) {
        auto number = parseInteger(value);
        if (!number) {
          return tl::unexpected(invalid(
              key, "Invalid '" + key + "': expected an integer, but got '" + value + "' instead.",
              "invalid_type"));
        }
        *bound = *number;
        continue;
      }
      if (auto name = arrayName(key)) {
        std::vector<std::string>* list = nullptr;
        if (*name == "event_types") list = &query.event_types;
        if (*name == "project_ids") list = &query.project_ids;
        if (*name == "actor_ids") list = &query.actor_ids;
        if (*name == "actor_emails") list = &query.actor_emails;
        if (*name == "resource_ids") list = &query.resource_ids;
        if (list) {
          list->push_back(value);
          continue;
        }
      }
      if (key == "event_types" || key == "project_ids" || key == "actor_ids" ||
          key == "actor_emails" || key == "resource_ids") {
        return tl::unexpected(invalid(
            key, "Invalid type for '" + key + "': expected an array (send '" + key + "[]=...').",
            "invalid_type"));
      }
      if (key == "tenant_only") {
        if (value == "true") {
          query.tenant = TenantScope::kTenantOnly;
        } else if (value == "false") {
          query.tenant = TenantScope::kNonTenant;
        } else if (dialect == QueryDialect::kControl && value == "all") {
          query.tenant = TenantScope::kAll;
        } else {
          return tl::unexpected(invalid(
              key, "Invalid 'tenant_only': expected a boolean, but got '" + value + "' instead.",
              "invalid_type"));
        }
        continue;
      }
    }
    if (dialect == QueryDialect::kOrganizationLogs && key == "order") {
      if (value == "asc") {
        query.order = Order::kOldestFirst;
      } else if (value == "desc") {
        query.order = Order::kNewestFirst;
      } else {
        return tl::unexpected(invalid(
            key, "Invalid 'order': expected one of 'asc' or 'desc', but got '" + value + "'.",
            "invalid_value"));
      }
      continue;
    }
    if (key == "limit" && dialect != QueryDialect::kControl && !limit_seen) {
      limit_seen = true;
      auto number = parseInteger(value);
      if (!number) {
        return tl::unexpected(
            invalid(key, "Invalid 'limit': expected an integer, but got '" + value + "' instead.",
                    "invalid_type"));
      }
      if (*number < 1) {
        return tl::unexpected(invalid(key,
                                      "Invalid 'limit': integer below minimum value. Expected a "
                                      "value >= 1, but got " +
                                          std::to_string(*number) + " instead.",
                                      "integer_below_min_value"));
      }
      if (*number > 100) {
        return tl::unexpected(invalid(key,
                                      "Invalid 'limit': integer above maximum value. Expected a "
                                      "value <= 100, but got " +
                                          std::to_string(*number) + " instead.",
                                      "integer_above_max_value"));
      }
      query.limit = static_cast<int>(*number);
      continue;
    }
    if (key == "after" || key == "before") {
      if (value.empty()) {
        return tl::unexpected(
            invalid(key, "Invalid '" + key + "': empty cursor.", "invalid_value"));
      }
      (key == "after" ? query.after : query.before) = value;
      continue;
    }
  }
  if (query.after && query.before) {
    return tl::unexpected(
        invalid("before", "Only one of 'after' or 'before' may be supplied.", "invalid_value"));
  }
  return query;
}

}  // namespace siem::sim
