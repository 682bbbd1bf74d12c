#include "agent/schema/event_types.h"

#include <array>
#include <unordered_map>

namespace siem {
namespace {

using C = EcsCategory;
using S = EcsSubject;

constexpr TypeRule login(std::string_view type, std::uint8_t activity) {
  TypeRule r;
  r.type = type;
  r.target = Target::kLogin;
  r.ocsf_class = OcsfClass::kAuthentication;
  r.activity_id = activity;
  r.ecs_category = C::kAuthentication;
  return r;
}

constexpr TypeRule entity(std::string_view type, std::uint8_t activity, std::string_view label,
                          EcsCategory category, EcsSubject subject = S::kNone) {
  TypeRule r;
  r.type = type;
  r.target = Target::kEntity;
  r.ocsf_class = OcsfClass::kEntityManagement;
  r.activity_id = activity;
  r.label = label;
  r.ecs_category = category;
  r.ecs_subject = subject;
  return r;
}

constexpr TypeRule withTarget(TypeRule r, Target target, OcsfClass cls) {
  r.target = target;
  r.ocsf_class = cls;
  return r;
}

constexpr TypeRule account(std::string_view type, std::uint8_t activity, std::string_view kind) {
  TypeRule r = entity(type, activity, kind, C::kIam, S::kUser);
  return withTarget(r, Target::kAccount, OcsfClass::kAccountChange);
}

constexpr TypeRule userAccess(std::string_view type, std::string_view kind) {
  TypeRule r = entity(type, 1, kind, C::kIam, S::kUser);
  return withTarget(r, Target::kUserAccess, OcsfClass::kUserAccess);
}

constexpr TypeRule membership(std::string_view type, std::uint8_t activity,
                              std::uint8_t project_activity) {
  TypeRule r = entity(type, activity, "User", C::kIam, S::kUser);
  return withTarget(r, Target::kMembership, OcsfClass::kAccountChange)
      .withProjectActivity(project_activity);
}

constexpr TypeRule group(std::string_view type, std::uint8_t activity) {
  TypeRule r = entity(type, activity, "Group", C::kIam, S::kGroup);
  return withTarget(r, Target::kGroup, OcsfClass::kGroupManagement).withName("data.group_name");
}

constexpr std::uint8_t verbActivity(std::string_view verb) {
  constexpr std::string_view kCreate[] = {"created", "registered", "added", "issued",
                                          "provisioned"};
  constexpr std::string_view kUpdate[] = {"updated",  "upserted", "accepted",
                                          "resolved", "migrated", "completed",
                                          "attached", "detached", "started"};
  constexpr std::string_view kDelete[] = {"deleted", "removed", "revoked"};
  constexpr std::string_view kEnable[] = {"enabled", "activated"};
  constexpr std::string_view kDisable[] = {"disabled", "deactivated", "archived"};
  for (auto v : kCreate)
    if (v == verb) return 1;
  for (auto v : kUpdate)
    if (v == verb) return 3;
  for (auto v : kDelete)
    if (v == verb) return 4;
  for (auto v : kEnable)
    if (v == verb) return 8;
  for (auto v : kDisable)
    if (v == verb) return 9;
  if (verb == "looked_up") return 2;
  return 99;
}

// tenant.* types: no payload schema is published, so the payload stays whole in `unmapped`.
constexpr TypeRule tenant(std::string_view type, EcsCategory category,
                          EcsSubject subject = S::kNone) {
  TypeRule r = entity(type, verbActivity(verbOf(type)), {}, category, subject);
  return withTarget(r, Target::kTenantEntity, OcsfClass::kEntityManagement);
}

constexpr TypeRule tenantUser(std::string_view type, std::uint8_t activity) {
  TypeRule r = entity(type, activity, "User", C::kIam, S::kUser);
  return withTarget(r, Target::kTenantUser, OcsfClass::kAccountChange);
}

constexpr TypeRule tenantGroupMember(std::string_view type, std::uint8_t activity) {
  TypeRule r = entity(type, activity, "Group", C::kIam, S::kGroup);
  return withTarget(r, Target::kTenantGroupMember, OcsfClass::kGroupManagement);
}

constexpr TypeRule roleAssignment(std::string_view type, std::uint8_t activity) {
  TypeRule r = entity(type, activity, "Role Assignment", C::kIam, S::kAdmin);
  r.target = Target::kRoleAssignment;
  return r;
}

// Severity 3 (Medium) marks changes that weaken an organization's controls.
constexpr std::uint8_t kMedium = 3;
constexpr std::uint8_t kLow = 2;

// clang-format off
constexpr TypeRule kRules[] = {
  entity("api_key.created", 1, "API Key", C::kIam),
  entity("api_key.updated", 3, "API Key", C::kIam),
  entity("api_key.deleted", 4, "API Key", C::kIam),
  entity("certificate.created", 1, "Certificate", C::kConfiguration),
  entity("certificate.updated", 3, "Certificate", C::kConfiguration),
  entity("certificate.deleted", 4, "Certificate", C::kConfiguration).withPrivate("certificate"),
  entity("certificates.activated", 8, "Certificate", C::kConfiguration).withList("certificates"),
  entity("certificates.deactivated", 9, "Certificate", C::kConfiguration)
      .withList("certificates").withSeverity(kMedium),
  entity("checkpoint.permission.created", 1, "Checkpoint Permission", C::kConfiguration),
  entity("checkpoint.permission.deleted", 4, "Checkpoint Permission", C::kConfiguration),
  entity("external_key.registered", 1, "External Key", C::kConfiguration),
  entity("external_key.removed", 4, "External Key", C::kConfiguration).withSeverity(kMedium),
  group("group.created", 6),
  entity("group.updated", 3, "Group", C::kIam, S::kGroup)
      .withEntityTypeId(3).withResultName("changes_requested.group_name"),
  group("group.deleted", 5),
  entity("invite.sent", 1, "Invite", C::kIam, S::kUser),
  entity("invite.accepted", 3, "Invite", C::kIam, S::kUser),
  entity("invite.deleted", 4, "Invite", C::kIam, S::kUser),
  entity("ip_allowlist.created", 1, "IP Allowlist", C::kConfiguration),
  entity("ip_allowlist.updated", 3, "IP Allowlist", C::kConfiguration),
  entity("ip_allowlist.deleted", 4, "IP Allowlist", C::kConfiguration).withSeverity(kMedium),
  entity("ip_allowlist.config.activated", 8, "IP Allowlist Configuration", C::kConfiguration)
      .withList("configs"),
  entity("ip_allowlist.config.deactivated", 9, "IP Allowlist Configuration", C::kConfiguration)
      .withList("configs").withSeverity(kMedium),
  login("login.succeeded", 1),
  login("login.failed", 1).withSeverity(kLow),
  login("logout.succeeded", 2),
  login("logout.failed", 2).withSeverity(kLow),
  entity("organization.updated", 3, "Organization", C::kConfiguration)
      .withEntityTypeId(4).withResultName("changes_requested.name|changes_requested.title"),
  entity("project.created", 1, "Project", C::kConfiguration).withName("data.name|data.title"),
  entity("project.updated", 3, "Project", C::kConfiguration)
      .withResultName("changes_requested.title|changes_requested.name"),
  entity("project.archived", 9, "Project", C::kConfiguration),
  entity("project.deleted", 4, "Project", C::kConfiguration),
  entity("rate_limit.updated", 3, "Rate Limit", C::kConfiguration),
  entity("rate_limit.deleted", 4, "Rate Limit", C::kConfiguration),
  entity("resource.deleted", 4, "Resource", C::kConfiguration),
  entity("tunnel.created", 1, "Tunnel", C::kConfiguration),
  entity("tunnel.updated", 3, "Tunnel", C::kConfiguration),
  entity("tunnel.deleted", 4, "Tunnel", C::kConfiguration),
  entity("workload_identity_provider.created", 1, "Workload Identity Provider",
         C::kConfiguration),
  entity("workload_identity_provider.updated", 3, "Workload Identity Provider",
         C::kConfiguration),
  entity("workload_identity_provider.deleted", 4, "Workload Identity Provider",
         C::kConfiguration),
  entity("workload_identity_provider_mapping.created", 1, "Workload Identity Provider Mapping",
         C::kConfiguration),
  entity("workload_identity_provider_mapping.updated", 3, "Workload Identity Provider Mapping",
         C::kConfiguration),
  entity("workload_identity_provider_mapping.deleted", 4, "Workload Identity Provider Mapping",
         C::kConfiguration),
  entity("role.created", 1, "Role", C::kIam, S::kAdmin).withName("role_name"),
  entity("role.updated", 3, "Role", C::kIam, S::kAdmin)
      .withResultName("changes_requested.role_name"),
  entity("role.deleted", 4, "Role", C::kIam, S::kAdmin),
  roleAssignment("role.assignment.created", 1),
  roleAssignment("role.assignment.deleted", 4),
  entity("role.bound_to_resource", 3, "Role", C::kIam, S::kAdmin).withUidKey("role_id"),
  entity("role.unbound_from_resource", 3, "Role", C::kIam, S::kAdmin).withUidKey("role_id"),
  entity("scim.enabled", 8, "SCIM Provisioning", C::kConfiguration),
  entity("scim.disabled", 9, "SCIM Provisioning", C::kConfiguration).withSeverity(kMedium),
  account("service_account.created", 1, "Service"),
  userAccess("service_account.updated", "Service"),
  account("service_account.deleted", 6, "Service"),
  membership("user.added", 1, 3),
  userAccess("user.updated", "User"),
  membership("user.deleted", 6, 4),
  tenant("tenant.metadata.updated", C::kConfiguration),
  tenant("tenant.microsoft_entra_mapping.upserted", C::kIam),
  tenant("tenant.microsoft_entra_mapping.deleted", C::kIam),
  tenant("tenant.workload_identity.provider.created", C::kConfiguration),
  tenant("tenant.workload_identity.provider.updated", C::kConfiguration),
  tenant("tenant.workload_identity.provider.archived", C::kConfiguration),
  tenant("tenant.workload_identity.mapping.created", C::kConfiguration),
  tenant("tenant.workload_identity.mapping.updated", C::kConfiguration),
  tenant("tenant.workload_identity.mapping.archived", C::kConfiguration),
  tenant("tenant.workload_identity.binding.created", C::kConfiguration),
  tenant("tenant.workload_identity.principal.provisioned", C::kIam, S::kUser),
  tenant("tenant.workload_identity.access_token.issued", C::kIam),
  tenant("tenant.admin_api_key.created", C::kIam),
  tenant("tenant.admin_api_key.updated", C::kIam),
  tenant("tenant.admin_api_key.deleted", C::kIam),
  tenant("tenant.project_api_key.created", C::kIam),
  tenant("tenant.chatgpt_access_token.revoked", C::kIam),
  tenant("tenant.migration.completed", C::kConfiguration),
  tenant("tenant.sso.migrated", C::kConfiguration),
  tenant("tenant.domains.migrated", C::kConfiguration),
  tenant("tenant.sso_connection.created", C::kConfiguration),
  tenant("tenant.sso_connection.updated", C::kConfiguration),
  tenant("tenant.sso_connection.deleted", C::kConfiguration),
  tenant("tenant.sso_connection.setup.started", C::kConfiguration),
  tenant("tenant.policy.created", C::kConfiguration),
  tenant("tenant.policy.updated", C::kConfiguration),
  tenant("tenant.policy.deleted", C::kConfiguration),
  tenant("tenant.policy.attached", C::kConfiguration),
  tenant("tenant.policy.detached", C::kConfiguration),
  tenant("tenant.principal_authentication_policy.resolved", C::kConfiguration),
  tenant("tenant.scim.setup.started", C::kConfiguration),
  tenant("tenant.scim.deletion.requested", C::kConfiguration),
  tenant("tenant.scim.directory.created", C::kConfiguration),
  tenant("tenant.product_access_policy.updated", C::kConfiguration),
  tenant("tenant.resource_share_grant.created", C::kIam),
  tenant("tenant.resource_share_grant.updated", C::kIam),
  tenant("tenant.resource_share_grant.accepted", C::kIam),
  tenant("tenant.resource_share_grant.declined", C::kIam),
  tenant("tenant.resource_share_grant.revoked", C::kIam),
  tenant("tenant.resource_share_grant.deleted", C::kIam),
  tenant("tenant.service_account.updated", C::kIam, S::kUser),
  tenant("tenant.service_account.deleted", C::kIam, S::kUser),
  tenant("tenant.service_account.token.revoked", C::kIam),
  tenant("tenant.billing.overage_limit.updated", C::kConfiguration),
  tenant("tenant.billing.alerts.updated", C::kConfiguration),
  tenant("tenant.billing.info.updated", C::kConfiguration),
  tenant("tenant.usage_limit.workspace.updated", C::kConfiguration),
  tenant("tenant.usage_limit.group.updated", C::kConfiguration),
  tenant("tenant.usage_limit.user.updated", C::kConfiguration),
  tenant("tenant.usage_limit.increase_request.updated", C::kConfiguration),
  tenant("tenant.usage_limit.increase_request.resolved", C::kConfiguration),
  tenant("tenant.group.created", C::kIam, S::kGroup),
  tenant("tenant.group.updated", C::kIam, S::kGroup),
  tenant("tenant.group.deleted", C::kIam, S::kGroup),
  tenantGroupMember("tenant.group.member.added", 3),
  tenantGroupMember("tenant.group.member.removed", 4),
  tenant("tenant.migration_rollout.status.updated", C::kConfiguration),
  tenant("tenant.migration_rollout.tier.updated", C::kConfiguration),
  tenant("tenant.role.metadata.updated", C::kIam, S::kAdmin),
  tenant("tenant.custom_role.created", C::kIam, S::kAdmin),
  tenant("tenant.custom_role.updated", C::kIam, S::kAdmin),
  tenant("tenant.custom_role.deleted", C::kIam, S::kAdmin),
  tenant("tenant.role_assignment.created", C::kIam, S::kAdmin),
  tenant("tenant.role_assignment.deleted", C::kIam, S::kAdmin),
  tenant("tenant.resource_role_assignment.created", C::kIam, S::kAdmin),
  tenant("tenant.resource_role_assignment.deleted", C::kIam, S::kAdmin),
  tenant("tenant.resource_access.updated", C::kIam),
  tenant("tenant.resource_access.deleted", C::kIam),
  tenant("tenant.ads_account.onboarding.redemption", C::kConfiguration),
  tenant("tenant.session_policy.created", C::kConfiguration),
  tenant("tenant.session_policy.updated", C::kConfiguration),
  tenant("tenant.session_policy.deleted", C::kConfiguration),
  tenant("tenant.session_revocation.started", C::kIam),
  tenant("tenant.third_party_app_policy.updated", C::kConfiguration),
  tenantUser("tenant.user.added", 1),
  tenant("tenant.user.updated", C::kIam, S::kUser),
  tenantUser("tenant.user.removed", 6),
  tenant("tenant.user.looked_up", C::kIam, S::kUser),
  tenant("tenant.user.invited", C::kIam, S::kUser),
  tenant("tenant.membership.revoked", C::kIam, S::kUser),
  tenant("tenant.api_organization_invite.upserted", C::kIam, S::kUser),
  tenant("tenant.api_organization_invite.deleted", C::kIam, S::kUser),
  tenant("tenant.chatgpt_workspace_invite.upserted", C::kIam, S::kUser),
  tenant("tenant.membership.accepted", C::kIam, S::kUser),
  tenant("tenant.membership.declined", C::kIam, S::kUser),
  tenant("tenant.workspace_invite_email_settings.updated", C::kConfiguration),
  // Legacy spellings (2025 revisions of the API) of checkpoint.permission.*.
  entity("checkpoint_permission.created", 1, "Checkpoint Permission", C::kConfiguration),
  entity("checkpoint_permission.deleted", 4, "Checkpoint Permission", C::kConfiguration),
};
// clang-format on

constexpr std::size_t kDocumentedCount = 145;
constexpr std::size_t kLegacyCount = 2;
static_assert(std::size(kRules) == kDocumentedCount + kLegacyCount);

constexpr std::array<std::string_view, kDocumentedCount> makeDocumented() {
  std::array<std::string_view, kDocumentedCount> names{};
  for (std::size_t i = 0; i < kDocumentedCount; ++i) names[i] = kRules[i].type;
  return names;
}
constexpr std::array<std::string_view, kDocumentedCount> kDocumented = makeDocumented();

constexpr std::array<std::string_view, kLegacyCount> kLegacy = {kRules[kDocumentedCount].type,
                                                                kRules[kDocumentedCount + 1].type};

constexpr TypeRule kUnknownRule{};

}  // namespace

const TypeRule& ruleFor(std::string_view type) {
  static const std::unordered_map<std::string_view, const TypeRule*> kIndex = [] {
    std::unordered_map<std::string_view, const TypeRule*> index;
    index.reserve(std::size(kRules) * 2);
    for (const TypeRule& r : kRules) index.emplace(r.type, &r);
    return index;
  }();
  const auto it = kIndex.find(type);
  return it == kIndex.end() ? kUnknownRule : *it->second;
}

std::span<const std::string_view> documentedEventTypes() { return kDocumented; }

std::span<const std::string_view> legacyEventTypes() { return kLegacy; }

std::uint8_t activityForVerb(std::string_view verb) { return verbActivity(verb); }

}  // namespace siem
