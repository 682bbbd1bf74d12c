// The mapping table: how each OpenAI audit-log type maps to an OCSF 1.8.0 class and activity, and
// to ECS categorization. One row per documented type (145) plus the legacy spellings; anything else
// gets the rule for unknown types. See docs/schema.md for the reasoning behind each row.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace siem {

enum class OcsfClass : std::uint16_t {
  kAccountChange = 3001,
  kAuthentication = 3002,
  kEntityManagement = 3004,
  kUserAccess = 3005,
  kGroupManagement = 3006,
  kApiActivity = 6003,
};

// Which part of the payload is the target of the action, and so which class-specific attributes
// are filled.
enum class Target : std::uint8_t {
  kLogin,              // Authentication; the subject is the actor's user
  kEntity,             // Entity Management; entity (and entity_result) from the payload
  kRoleAssignment,     // Entity Management; entity.user or entity.group from the principal
  kAccount,            // Account Change; user from the payload id
  kUserAccess,         // User Access Management; user + privileges from changes_requested.role
  kMembership,         // user.added/user.deleted: Group Management with a project, else Account
  kGroup,              // Group Management; group from the payload
  kTenantUser,         // Account Change; payload kept whole in unmapped
  kTenantGroupMember,  // Group Management; payload kept whole in unmapped
  kTenantEntity,       // Entity Management; payload kept whole in unmapped
  kUnknown,            // Entity Management, activity 99; payload kept whole in unmapped
  kApiRequest,         // API Activity (seed-shape api_request events)
};

enum class EcsCategory : std::uint8_t { kAuthentication, kIam, kConfiguration, kWeb };
// An extra ECS event.type naming what kind of thing changed, if any.
enum class EcsSubject : std::uint8_t { kNone, kUser, kGroup, kAdmin };

struct TypeRule {
  std::string_view type;
  Target target = Target::kUnknown;
  OcsfClass ocsf_class = OcsfClass::kEntityManagement;
  std::uint8_t activity_id = 99;
  // kMembership only: the activity when the event is scoped to a project (Group Management).
  std::uint8_t project_activity_id = 0;
  std::uint8_t severity_id = 1;
  // Entity type caption ("API Key"), or the user kind ("Service", "User") for user targets.
  std::string_view label;
  // Payload paths ("data.name", alternatives separated by '|') of the target's name, and of its
  // new name on updates. Plain `name` is always tried last.
  std::string_view name_path = "name";
  std::string_view result_name_path;
  std::string_view uid_key = "id";
  std::uint8_t entity_type_id = 99;  // managed_entity.type_id
  // Bulk payloads: the member holding the array of affected objects.
  std::string_view list_key;
  // A payload member that stays in `unmapped` instead of entity.data (certificate PEM bodies).
  std::string_view private_key;
  EcsCategory ecs_category = EcsCategory::kConfiguration;
  EcsSubject ecs_subject = EcsSubject::kNone;

  constexpr TypeRule withSeverity(std::uint8_t v) const {
    TypeRule r = *this;
    r.severity_id = v;
    return r;
  }
  constexpr TypeRule withName(std::string_view path) const {
    TypeRule r = *this;
    r.name_path = path;
    return r;
  }
  constexpr TypeRule withResultName(std::string_view path) const {
    TypeRule r = *this;
    r.result_name_path = path;
    return r;
  }
  constexpr TypeRule withUidKey(std::string_view k) const {
    TypeRule r = *this;
    r.uid_key = k;
    return r;
  }
  constexpr TypeRule withEntityTypeId(std::uint8_t v) const {
    TypeRule r = *this;
    r.entity_type_id = v;
    return r;
  }
  constexpr TypeRule withList(std::string_view k) const {
    TypeRule r = *this;
    r.list_key = k;
    return r;
  }
  constexpr TypeRule withPrivate(std::string_view k) const {
    TypeRule r = *this;
    r.private_key = k;
    return r;
  }
  constexpr TypeRule withProjectActivity(std::uint8_t v) const {
    TypeRule r = *this;
    r.project_activity_id = v;
    return r;
  }
};

// The rule for `type`. Never fails: a type not in the table gets the unknown-type rule
// (Entity Management, activity 99), whose `type` member is empty.
const TypeRule& ruleFor(std::string_view type);

// The 145 event types of OpenAI's AuditLogEventType enum, in the order of the specification.
std::span<const std::string_view> documentedEventTypes();

// Legacy spellings that are mapped too (checkpoint_permission.*).
std::span<const std::string_view> legacyEventTypes();

// The activity an unlisted verb maps to in the generic tenant rule: created → 1, updated → 3,
// deleted → 4, enabled → 8, disabled → 9, looked_up → 2, ... and 99 for anything else.
std::uint8_t activityForVerb(std::string_view verb);

// "api_key.created" → "created"; a type without a dot is its own verb.
constexpr std::string_view verbOf(std::string_view type) {
  const auto dot = type.rfind('.');
  return dot == std::string_view::npos ? type : type.substr(dot + 1);
}
// "api_key.created" → "api_key"; a type without a dot is its own family.
constexpr std::string_view familyOf(std::string_view type) {
  const auto dot = type.rfind('.');
  return dot == std::string_view::npos ? type : type.substr(0, dot);
}

}  // namespace siem
