// Parsing and validation of the list endpoints' query strings, with OpenAI-shaped errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <tl/expected.hpp>

namespace siem::sim {

// An error the simulator answers with `{"error":{"message","type","param","code"}}`.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // empty => null
  std::string code;   // empty => null
};

std::string renderApiError(const ApiError& error);

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Splits `path?query` (or a bare query) into percent-decoded key/value pairs in order; `+` in a
// value is a space. Brackets may arrive raw or as %5B/%5D: both decode to the same key.
QueryParams parseQueryString(std::string_view target);

enum class TenantScope : std::uint8_t {
  kNonTenant,   // tenant_only absent or false: only non-tenant-scoped events
  kTenantOnly,  // tenant_only=true: only tenant-scoped events
  kAll,         // simulator extension (`/_sim/ids?tenant_only=all`): both
};

enum class Order : std::uint8_t { kNewestFirst, kOldestFirst };

struct ListQuery {
  std::optional<std::int64_t> gt, gte, lt, lte;  // effective_at bounds (unix seconds)
  int limit = 20;
  std::optional<std::string> after;
  std::optional<std::string> before;
  Order order = Order::kNewestFirst;
  std::vector<std::string> event_types;
  std::vector<std::string> project_ids;
  std::vector<std::string> actor_ids;
  std::vector<std::string> actor_emails;
  std::vector<std::string> resource_ids;
  TenantScope tenant = TenantScope::kNonTenant;
};

enum class QueryDialect : std::uint8_t {
  kAuditLogs,         // GET /v1/organization/audit_logs: the real API's parameters
  kOrganizationLogs,  // GET /v1/organization_logs: limit, after, before, order
  kControl,           // GET /_sim/ids: audit-log filters, plus bare gt/gte/lt/lte, no limit,
                      // tenant_only=all
};

// Validates every parameter it knows; unknown parameters are ignored (as most HTTP APIs do for
// GET). Event-type names are checked by the caller against the catalog.
tl::expected<ListQuery, ApiError> parseListQuery(const QueryParams& params, QueryDialect dialect);

}  // namespace siem::sim
