#include "tests/fakes/openai_sim/catalog.h"

namespace siem::sim {
namespace {

struct Seed {
  std::string_view name;
  double weight;
};

// AuditLogEventType in the order of the OpenAPI spec, with a relative frequency: sign-ins and API
// key churn dominate a real organization's log, tenant administration is rare.
constexpr Seed kDocumented[] = {
    {"api_key.created", 60},
    {"api_key.updated", 25},
    {"api_key.deleted", 30},
    {"certificate.created", 1.0},
    {"certificate.updated", 1.0},
    {"certificate.deleted", 1.0},
    {"certificates.activated", 1.0},
    {"certificates.deactivated", 1.0},
    {"checkpoint.permission.created", 2},
    {"checkpoint.permission.deleted", 1},
    {"external_key.registered", 1.0},
    {"external_key.removed", 1.0},
    {"group.created", 3},
    {"group.updated", 2},
    {"group.deleted", 1},
    {"invite.sent", 12},
    {"invite.accepted", 8},
    {"invite.deleted", 3},
    {"ip_allowlist.created", 1.0},
    {"ip_allowlist.updated", 1.0},
    {"ip_allowlist.deleted", 1.0},
    {"ip_allowlist.config.activated", 1.0},
    {"ip_allowlist.config.deactivated", 1.0},
    {"login.succeeded", 220},
    {"login.failed", 40},
    {"logout.succeeded", 90},
    {"logout.failed", 3},
    {"organization.updated", 2},
    {"project.created", 8},
    {"project.updated", 8},
    {"project.archived", 3},
    {"project.deleted", 1},
    {"rate_limit.updated", 6},
    {"rate_limit.deleted", 2},
    {"resource.deleted", 2},
    {"tunnel.created", 1.0},
    {"tunnel.updated", 1.0},
    {"tunnel.deleted", 1.0},
    {"workload_identity_provider.created", 1.0},
    {"workload_identity_provider.updated", 1.0},
    {"workload_identity_provider.deleted", 1.0},
    {"workload_identity_provider_mapping.created", 1.0},
    {"workload_identity_provider_mapping.updated", 1.0},
    {"workload_identity_provider_mapping.deleted", 1.0},
    {"role.created", 2},
    {"role.updated", 2},
    {"role.deleted", 1},
    {"role.assignment.created", 4},
    {"role.assignment.deleted", 2},
    {"role.bound_to_resource", 1.5},
    {"role.unbound_from_resource", 1},
    {"scim.enabled", 1.0},
    {"scim.disabled", 1.0},
    {"service_account.created", 6},
    {"service_account.updated", 4},
    {"service_account.deleted", 3},
    {"user.added", 12},
    {"user.updated", 10},
    {"user.deleted", 4},
    {"tenant.metadata.updated", 0.3},
    {"tenant.microsoft_entra_mapping.upserted", 0.3},
    {"tenant.microsoft_entra_mapping.deleted", 0.3},
    {"tenant.workload_identity.provider.created", 0.3},
    {"tenant.workload_identity.provider.updated", 0.3},
    {"tenant.workload_identity.provider.archived", 0.3},
    {"tenant.workload_identity.mapping.created", 0.3},
    {"tenant.workload_identity.mapping.updated", 0.3},
    {"tenant.workload_identity.mapping.archived", 0.3},
    {"tenant.workload_identity.binding.created", 0.3},
    {"tenant.workload_identity.principal.provisioned", 0.3},
    {"tenant.workload_identity.access_token.issued", 3},
    {"tenant.admin_api_key.created", 0.3},
    {"tenant.admin_api_key.updated", 0.3},
    {"tenant.admin_api_key.deleted", 0.3},
    {"tenant.project_api_key.created", 0.3},
    {"tenant.chatgpt_access_token.revoked", 0.3},
    {"tenant.migration.completed", 0.3},
    {"tenant.sso.migrated", 0.3},
    {"tenant.domains.migrated", 0.3},
    {"tenant.sso_connection.created", 0.3},
    {"tenant.sso_connection.updated", 0.3},
    {"tenant.sso_connection.deleted", 0.3},
    {"tenant.sso_connection.setup.started", 0.3},
    {"tenant.policy.created", 0.3},
    {"tenant.policy.updated", 0.3},
    {"tenant.policy.deleted", 0.3},
    {"tenant.policy.attached", 0.3},
    {"tenant.policy.detached", 0.3},
    {"tenant.principal_authentication_policy.resolved", 0.3},
    {"tenant.scim.setup.started", 0.3},
    {"tenant.scim.deletion.requested", 0.3},
    {"tenant.scim.directory.created", 0.3},
    {"tenant.product_access_policy.updated", 0.3},
    {"tenant.resource_share_grant.created", 0.3},
    {"tenant.resource_share_grant.updated", 0.3},
    {"tenant.resource_share_grant.accepted", 0.3},
    {"tenant.resource_share_grant.declined", 0.3},
    {"tenant.resource_share_grant.revoked", 0.3},
    {"tenant.resource_share_grant.deleted", 0.3},
    {"tenant.service_account.updated", 0.3},
    {"tenant.service_account.deleted", 0.3},
    {"tenant.service_account.token.revoked", 0.3},
    {"tenant.billing.overage_limit.updated", 0.3},
    {"tenant.billing.alerts.updated", 0.3},
    {"tenant.billing.info.updated", 0.3},
    {"tenant.usage_limit.workspace.updated", 0.3},
    {"tenant.usage_limit.group.updated", 0.3},
    {"tenant.usage_limit.user.updated", 0.3},
    {"tenant.usage_limit.increase_request.updated", 0.3},
    {"tenant.usage_limit.increase_request.resolved", 0.3},
    {"tenant.group.created", 0.3},
    {"tenant.group.updated", 0.3},
    {"tenant.group.deleted", 0.3},
    {"tenant.group.member.added", 1.5},
    {"tenant.group.member.removed", 1},
    {"tenant.migration_rollout.status.updated", 0.3},
    {"tenant.migration_rollout.tier.updated", 0.3},
    {"tenant.role.metadata.updated", 0.3},
    {"tenant.custom_role.created", 0.3},
    {"tenant.custom_role.updated", 0.3},
    {"tenant.custom_role.deleted", 0.3},
    {"tenant.role_assignment.created", 0.3},
    {"tenant.role_assignment.deleted", 0.3},
    {"tenant.resource_role_assignment.created", 0.3},
    {"tenant.resource_role_assignment.deleted", 0.3},
    {"tenant.resource_access.updated", 0.3},
    {"tenant.resource_access.deleted", 0.3},
    {"tenant.ads_account.onboarding.redemption", 0.3},
    {"tenant.session_policy.created", 0.3},
    {"tenant.session_policy.updated", 0.3},
    {"tenant.session_policy.deleted", 0.3},
    {"tenant.session_revocation.started", 0.3},
    {"tenant.third_party_app_policy.updated", 0.3},
    {"tenant.user.added", 2},
    {"tenant.user.updated", 1},
    {"tenant.user.removed", 0.3},
    {"tenant.user.looked_up", 3},
    {"tenant.user.invited", 0.3},
    {"tenant.membership.revoked", 0.3},
    {"tenant.api_organization_invite.upserted", 0.3},
    {"tenant.api_organization_invite.deleted", 0.3},
    {"tenant.chatgpt_workspace_invite.upserted", 0.3},
    {"tenant.membership.accepted", 0.3},
    {"tenant.membership.declined", 0.3},
    {"tenant.workspace_invite_email_settings.updated", 0.3},
};

constexpr Seed kLegacy[] = {
    {"checkpoint_permission.created", 0.5},
    {"checkpoint_permission.deleted", 0.3},
};

}  // namespace

bool isTenantScoped(std::string_view type) {
  return type.starts_with("tenant.") || type == "role.bound_to_resource" ||
         type == "role.unbound_from_resource";
}

Catalog::Catalog() {
  static_assert(std::size(kDocumented) == kDocumentedCount);
  for (const Seed& s : kDocumented) {
    const auto index = static_cast<TypeIndex>(types_.size());
    types_.push_back({s.name, s.weight, isTenantScoped(s.name), TypeOrigin::kDocumented});
    by_name_.emplace(s.name, index);
    known_.push_back(index);
  }
  for (const Seed& s : kLegacy) {
    const auto index = static_cast<TypeIndex>(types_.size());
    types_.push_back({s.name, s.weight, false, TypeOrigin::kLegacy});
    by_name_.emplace(s.name, index);
    known_.push_back(index);
  }
}

std::optional<TypeIndex> Catalog::find(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

TypeIndex Catalog::addUnknown(std::string_view name) {
  if (auto existing = find(name)) return *existing;
  const std::string& owned = owned_names_.emplace_back(name);
  const auto index = static_cast<TypeIndex>(types_.size());
  types_.push_back({owned, 1.0, isTenantScoped(owned), TypeOrigin::kUnknown});
  by_name_.emplace(owned, index);
  unknown_.push_back(index);
  return index;
}

}  // namespace siem::sim
