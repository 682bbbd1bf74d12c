// The event types the simulator knows: the 145 values of OpenAI's AuditLogEventType enum, the two
// legacy `checkpoint_permission.*` names, and any "future" type a test or `--unknown-types` adds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace siem::sim {

using TypeIndex = std::uint16_t;

enum class TypeOrigin : std::uint8_t {
  kDocumented,  // one of the 145 enum values
  kLegacy,      // checkpoint_permission.created / .deleted (renamed in 2026-05)
  kUnknown,     // not in the enum: stands in for types newer than any client
};

struct EventTypeInfo {
  std::string_view name;  // points into the catalog; stable for the catalog's lifetime
  double weight = 0;      // relative frequency in generated traffic
  bool tenant_scoped = false;
  TypeOrigin origin = TypeOrigin::kDocumented;
};

// True for the types the real API returns only with `tenant_only=true`: every `tenant.*` type and
// the two role-binding events.
bool isTenantScoped(std::string_view type);

// Not thread-safe; the Simulator guards it.
class Catalog {
 public:
  Catalog();

  std::size_t size() const { return types_.size(); }
  const EventTypeInfo& at(TypeIndex index) const { return types_[index]; }
  std::optional<TypeIndex> find(std::string_view name) const;

  // Registers a type outside the enum (idempotent) and returns its index.
  TypeIndex addUnknown(std::string_view name);

  // Indexes of the documented + legacy types, for weighted drawing.
  const std::vector<TypeIndex>& knownTypes() const { return known_; }
  const std::vector<TypeIndex>& unknownTypes() const { return unknown_; }

  static constexpr std::size_t kDocumentedCount = 145;

 private:
  std::vector<EventTypeInfo> types_;
  std::deque<std::string> owned_names_;  // storage for added names (deque: stable addresses)
  std::unordered_map<std::string_view, TypeIndex> by_name_;
  std::vector<TypeIndex> known_;
  std::vector<TypeIndex> unknown_;
};

// Example "future" types for `--unknown-types`.
inline constexpr std::string_view kDefaultUnknownTypes[] = {
    "quantum.teleported", "flux_capacitor.charged", "tenant.holodeck.opened"};

}  // namespace siem::sim
