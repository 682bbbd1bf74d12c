#include "agent/schema/event_types.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "tests/unit/schema/schema_test_util.h"

namespace siem {
namespace {

// OpenAI's AuditLogEventType enum, in specification order (145 values).
constexpr std::string_view kSpecTypes[] = {
    "api_key.created",
    "api_key.updated",
    "api_key.deleted",
    "certificate.created",
    "certificate.updated",
    "certificate.deleted",
    "certificates.activated",
    "certificates.deactivated",
    "checkpoint.permission.created",
    "checkpoint.permission.deleted",
    "external_key.registered",
    "external_key.removed",
    "group.created",
    "group.updated",
    "group.deleted",
    "invite.sent",
    "invite.accepted",
    "invite.deleted",
    "ip_allowlist.created",
    "ip_allowlist.updated",
    "ip_allowlist.deleted",
    "ip_allowlist.config.activated",
    "ip_allowlist.config.deactivated",
    "login.succeeded",
    "login.failed",
    "logout.succeeded",
    "logout.failed",
    "organization.updated",
    "project.created",
    "project.updated",
    "project.archived",
    "project.deleted",
    "rate_limit.updated",
    "rate_limit.deleted",
    "resource.deleted",
    "tunnel.created",
    "tunnel.updated",
    "tunnel.deleted",
    "workload_identity_provider.created",
    "workload_identity_provider.updated",
    "workload_identity_provider.deleted",
    "workload_identity_provider_mapping.created",
    "workload_identity_provider_mapping.updated",
    "workload_identity_provider_mapping.deleted",
    "role.created",
    "role.updated",
    "role.deleted",
    "role.assignment.created",
    "role.assignment.deleted",
    "role.bound_to_resource",
    "role.unbound_from_resource",
    "scim.enabled",
    "scim.disabled",
    "service_account.created",
    "service_account.updated",
    "service_account.deleted",
    "user.added",
    "user.updated",
    "user.deleted",
    "tenant.metadata.updated",
    "tenant.microsoft_entra_mapping.upserted",
    "tenant.microsoft_entra_mapping.deleted",
    "tenant.workload_identity.provider.created",
    "tenant.workload_identity.provider.updated",
    "tenant.workload_identity.provider.archived",
    "tenant.workload_identity.mapping.created",
    "tenant.workload_identity.mapping.updated",
    "tenant.workload_identity.mapping.archived",
    "tenant.workload_identity.binding.created",
    "tenant.workload_identity.principal.provisioned",
    "tenant.workload_identity.access_token.issued",
    "tenant.admin_api_key.created",
    "tenant.admin_api_key.updated",
    "tenant.admin_api_key.deleted",
    "tenant.project_api_key.created",
    "tenant.chatgpt_access_token.revoked",
    "tenant.migration.completed",
    "tenant.sso.migrated",
    "tenant.domains.migrated",
    "tenant.sso_connection.created",
    "tenant.sso_connection.updated",
    "tenant.sso_connection.deleted",
    "tenant.sso_connection.setup.started",
    "tenant.policy.created",
    "tenant.policy.updated",
    "tenant.policy.deleted",
    "tenant.policy.attached",
    "tenant.policy.detached",
    "tenant.principal_authentication_policy.resolved",
    "tenant.scim.setup.started",
    "tenant.scim.deletion.requested",
    "tenant.scim.directory.created",
    "tenant.product_access_policy.updated",
    "tenant.resource_share_grant.created",
    "tenant.resource_share_grant.updated",
    "tenant.resource_share_grant.accepted",
    "tenant.resource_share_grant.declined",
    "tenant.resource_share_grant.revoked",
    "tenant.resource_share_grant.deleted",
    "tenant.service_account.updated",
    "tenant.service_account.deleted",
    "tenant.service_account.token.revoked",
    "tenant.billing.overage_limit.updated",
    "tenant.billing.alerts.updated",
    "tenant.billing.info.updated",
    "tenant.usage_limit.workspace.updated",
    "tenant.usage_limit.group.updated",
    "tenant.usage_limit.user.updated",
    "tenant.usage_limit.increase_request.updated",
    "tenant.usage_limit.increase_request.resolved",
    "tenant.group.created",
    "tenant.group.updated",
    "tenant.group.deleted",
    "tenant.group.member.added",
    "tenant.group.member.removed",
    "tenant.migration_rollout.status.updated",
    "tenant.migration_rollout.tier.updated",
    "tenant.role.metadata.updated",
    "tenant.custom_role.created",
    "tenant.custom_role.updated",
    "tenant.custom_role.deleted",
    "tenant.role_assignment.created",
    "tenant.role_assignment.deleted",
    "tenant.resource_role_assignment.created",
    "tenant.resource_role_assignment.deleted",
    "tenant.resource_access.updated",
    "tenant.resource_access.deleted",
    "tenant.ads_account.onboarding.redemption",
    "tenant.session_policy.created",
    "tenant.session_policy.updated",
    "tenant.session_policy.deleted",
    "tenant.session_revocation.started",
    "tenant.third_party_app_policy.updated",
    "tenant.user.added",
    "tenant.user.updated",
    "tenant.user.removed",
    "tenant.user.looked_up",
    "tenant.user.invited",
    "tenant.membership.revoked",
    "tenant.api_organization_invite.upserted",
    "tenant.api_organization_invite.deleted",
    "tenant.chatgpt_workspace_invite.upserted",
    "tenant.membership.accepted",
    "tenant.membership.declined",
    "tenant.workspace_invite_email_settings.updated",
};

TEST(EventTypes, TheTableHasEveryDocumentedTypeInSpecOrder) {
  ASSERT_EQ(std::size(kSpecTypes), 145u);
  const auto documented = documentedEventTypes();
  ASSERT_EQ(documented.size(), std::size(kSpecTypes));
  for (std::size_t i = 0; i < documented.size(); ++i) {
    EXPECT_EQ(documented[i], kSpecTypes[i]) << i;
    EXPECT_EQ(ruleFor(kSpecTypes[i]).type, kSpecTypes[i]) << "no rule for " << kSpecTypes[i];
  }
}

TEST(EventTypes, LegacySpellingsAreMappedLikeTheCurrentOnes) {
  const auto legacy = legacyEventTypes();
  ASSERT_EQ(legacy.size(), 2u);
  EXPECT_EQ(ruleFor("checkpoint_permission.created").activity_id,
            ruleFor("checkpoint.permission.created").activity_id);
  EXPECT_EQ(ruleFor("checkpoint_permission.deleted").label,
            ruleFor("checkpoint.permission.deleted").label);
}

TEST(EventTypes, UnknownTypesGetTheOtherRule) {
  for (std::string_view t : {"", "brand_new", "tenant.quantum.created", "api_key.rotated"}) {
    const TypeRule& r = ruleFor(t);
    EXPECT_TRUE(r.type.empty()) << t;
    EXPECT_EQ(r.target, Target::kUnknown);
    EXPECT_EQ(r.ocsf_class, OcsfClass::kEntityManagement);
    EXPECT_EQ(r.activity_id, 99);
  }
}

TEST(EventTypes, VerbsAndFamilies) {
  EXPECT_EQ(verbOf("ip_allowlist.config.activated"), "activated");
  EXPECT_EQ(familyOf("ip_allowlist.config.activated"), "ip_allowlist.config");
  EXPECT_EQ(verbOf("plain"), "plain");
  EXPECT_EQ(familyOf("plain"), "plain");
  EXPECT_EQ(activityForVerb("upserted"), 3);
  EXPECT_EQ(activityForVerb("revoked"), 4);
  EXPECT_EQ(activityForVerb("archived"), 9);
  EXPECT_EQ(activityForVerb("looked_up"), 2);
  EXPECT_EQ(activityForVerb("declined"), 99);
}

TEST(EventTypes, GoldenInputsCoverEveryTypeAndEveryShape) {
  std::set<std::string> seen;
  bool null_actor = false, missing_actor = false, key_user = false, key_service_account = false;
  bool seed = false, unknown = false, legacy_org = false, legacy_key = false;
  for (const auto& line : schema_test::readLines(schema_test::dataPath("audit_logs.ndjson"))) {
    const Event e = schema_test::eventFromRaw(line);
    seen.insert(e.type);
    null_actor |= line.find("\"actor\":null") != std::string::npos;
    missing_actor |= line.find("\"actor\"") == std::string::npos;
    key_user |= line.find(R"("api_key":{"id":"key_user_01","type":"user")") != std::string::npos;
    key_service_account |=
        line.find(R"("type":"service_account","service_account")") != std::string::npos;
    seed |= line.find("\"event\":\"api_request\"") != std::string::npos;
    unknown |= ruleFor(e.type).type.empty() && line.find("\"event\"") == std::string::npos;
    legacy_org |= line.find("\"settings\":{\"threads_ui_visibility\"") != std::string::npos;
    legacy_key |=
        e.type == "api_key.updated" && line.find("\"data\":{\"scopes\"") != std::string::npos;
  }
  for (std::string_view t : kSpecTypes) EXPECT_TRUE(seen.count(std::string(t))) << t;
  for (std::string_view t : legacyEventTypes()) EXPECT_TRUE(seen.count(std::string(t))) << t;
  EXPECT_TRUE(null_actor);
  EXPECT_TRUE(missing_actor);
  EXPECT_TRUE(key_user);
  EXPECT_TRUE(key_service_account);
  EXPECT_TRUE(seed);
  EXPECT_TRUE(unknown);
  EXPECT_TRUE(legacy_org);
  EXPECT_TRUE(legacy_key);
}

}  // namespace
}  // namespace siem
