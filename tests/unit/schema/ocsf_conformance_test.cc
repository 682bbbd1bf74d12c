// Conformance: every rendered OCSF event is checked against the rules of its class (written down
// from the OCSF 1.8.0 schema in ocsf_rules.h), independently of the golden files. The validator
// itself is shown to catch each kind of violation.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "agent/schema/render.h"
#include "tests/unit/schema/ocsf_validator.h"
#include "tests/unit/schema/schema_test_util.h"

namespace siem {
namespace {

using schema_test::dataPath;
using schema_test::eventFromRaw;
using schema_test::readLines;

std::string joined(const std::vector<std::string>& errors) {
  std::string s;
  for (const auto& e : errors) s += "\n  " + e;
  return s;
}

TEST(OcsfConformance, EveryGoldenInputRendersAValidEvent) {
  const auto inputs = readLines(dataPath("audit_logs.ndjson"));
  ASSERT_GT(inputs.size(), 145u);
  for (const auto& line : inputs) {
    const std::string ocsf = renderEvent(eventFromRaw(line), Encoding::kOcsf);
    const auto errors = validateOcsfEvent(ocsf);
    EXPECT_TRUE(errors.empty()) << "input: " << line << "\noutput: " << ocsf << joined(errors);
  }
}

TEST(OcsfConformance, EventsWithoutSourceOrganizationAreValid) {
  for (const auto& line : readLines(dataPath("audit_logs.ndjson"))) {
    const std::string ocsf = renderEvent(eventFromRaw(line, nullptr), Encoding::kOcsf);
    const auto errors = validateOcsfEvent(ocsf);
    EXPECT_TRUE(errors.empty()) << ocsf << joined(errors);
    EXPECT_EQ(ocsf.find("tenant_uid"), std::string::npos);
  }
}

// The class and activity each documented type must land on, from the mapping table.
const std::map<std::string, std::pair<int, int>>& expectedClassification() {
  static const std::map<std::string, std::pair<int, int>> kTable = [] {
    std::map<std::string, std::pair<int, int>> t;
    auto entity = [&](std::initializer_list<std::pair<const char*, int>> rows) {
      for (const auto& [type, activity] : rows) t[type] = {3004, activity};
    };
    entity({{"api_key.created", 1},
            {"api_key.updated", 3},
            {"api_key.deleted", 4},
            {"certificate.created", 1},
            {"certificate.updated", 3},
            {"certificate.deleted", 4},
            {"certificates.activated", 8},
            {"certificates.deactivated", 9},
            {"checkpoint.permission.created", 1},
            {"checkpoint.permission.deleted", 4},
            {"external_key.registered", 1},
            {"external_key.removed", 4},
            {"group.updated", 3},
            {"invite.sent", 1},
            {"invite.accepted", 3},
            {"invite.deleted", 4},
            {"ip_allowlist.created", 1},
            {"ip_allowlist.updated", 3},
            {"ip_allowlist.deleted", 4},
            {"ip_allowlist.config.activated", 8},
            {"ip_allowlist.config.deactivated", 9},
            {"organization.updated", 3},
            {"project.created", 1},
            {"project.updated", 3},
            {"project.archived", 9},
            {"project.deleted", 4},
            {"rate_limit.updated", 3},
            {"rate_limit.deleted", 4},
            {"resource.deleted", 4},
            {"tunnel.created", 1},
            {"tunnel.updated", 3},
            {"tunnel.deleted", 4},
            {"workload_identity_provider.created", 1},
            {"workload_identity_provider.updated", 3},
            {"workload_identity_provider.deleted", 4},
            {"workload_identity_provider_mapping.created", 1},
            {"workload_identity_provider_mapping.updated", 3},
            {"workload_identity_provider_mapping.deleted", 4},
            {"role.created", 1},
            {"role.updated", 3},
            {"role.deleted", 4},
            {"role.assignment.created", 1},
            {"role.assignment.deleted", 4},
            {"role.bound_to_resource", 3},
            {"role.unbound_from_resource", 3},
            {"scim.enabled", 8},
            {"scim.disabled", 9},
            {"checkpoint_permission.created", 1},
            {"checkpoint_permission.deleted", 4}});
    t["login.succeeded"] = {3002, 1};
    t["login.failed"] = {3002, 1};
    t["logout.succeeded"] = {3002, 2};
    t["logout.failed"] = {3002, 2};
    t["group.created"] = {3006, 6};
    t["group.deleted"] = {3006, 5};
    t["service_account.created"] = {3001, 1};
    t["service_account.updated"] = {3005, 1};
    t["service_account.deleted"] = {3001, 6};
    t["user.updated"] = {3005, 1};
    t["tenant.user.added"] = {3001, 1};
    t["tenant.user.removed"] = {3001, 6};
    t["tenant.group.member.added"] = {3006, 3};
    t["tenant.group.member.removed"] = {3006, 4};
    // Other tenant.* types: Entity Management by verb.
    entity({{"tenant.metadata.updated", 3},
            {"tenant.microsoft_entra_mapping.upserted", 3},
            {"tenant.microsoft_entra_mapping.deleted", 4},
            {"tenant.workload_identity.provider.archived", 9},
            {"tenant.workload_identity.principal.provisioned", 1},
            {"tenant.workload_identity.access_token.issued", 1},
            {"tenant.chatgpt_access_token.revoked", 4},
            {"tenant.migration.completed", 3},
            {"tenant.sso.migrated", 3},
            {"tenant.sso_connection.setup.started", 3},
            {"tenant.policy.attached", 3},
            {"tenant.policy.detached", 3},
            {"tenant.principal_authentication_policy.resolved", 3},
            {"tenant.scim.deletion.requested", 99},
            {"tenant.resource_share_grant.declined", 99},
            {"tenant.user.looked_up", 2},
            {"tenant.user.invited", 99},
            {"tenant.membership.declined", 99},
            {"tenant.ads_account.onboarding.redemption", 99},
            {"tenant.group.created", 1},
            {"tenant.custom_role.deleted", 4}});
    return t;
  }();
  return kTable;
}

TEST(OcsfConformance, DocumentedTypesLandOnTheirClassAndActivity) {
  simdjson::dom::parser parser;
  std::size_t checked = 0;
  for (const auto& line : readLines(dataPath("audit_logs.ndjson"))) {
    const Event e = eventFromRaw(line);
    const auto it = expectedClassification().find(e.type);
    if (it == expectedClassification().end()) continue;
    // user.added/user.deleted depend on the project; they are checked below.
    const std::string ocsf = renderEvent(e, Encoding::kOcsf);
    simdjson::dom::element doc;
    ASSERT_TRUE(schema_test::parses(parser, ocsf, &doc));
    EXPECT_EQ(int64_t(doc["class_uid"]), it->second.first) << e.type;
    EXPECT_EQ(int64_t(doc["activity_id"]), it->second.second) << e.type;
    ++checked;
  }
  EXPECT_GE(checked, expectedClassification().size());
}

TEST(OcsfConformance, UserMembershipDependsOnTheProject) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const std::string org_level = renderEvent(
      eventFromRaw(
          R"({"id":"a","type":"user.added","effective_at":1,"user.added":{"id":"user-1","data":{"role":"owner"}}})"),
      Encoding::kOcsf);
  ASSERT_TRUE(schema_test::parses(parser, org_level, &doc));
  EXPECT_EQ(int64_t(doc["class_uid"]), 3001);
  EXPECT_EQ(int64_t(doc["activity_id"]), 1);
  EXPECT_EQ(std::string_view(doc["user"]["uid"]), "user-1");

  const std::string in_project = renderEvent(
      eventFromRaw(
          R"({"id":"b","type":"user.deleted","effective_at":1,"project":{"id":"proj_1","name":"P"},"user.deleted":{"id":"user-1"}})"),
      Encoding::kOcsf);
  ASSERT_TRUE(schema_test::parses(parser, in_project, &doc));
  EXPECT_EQ(int64_t(doc["class_uid"]), 3006);
  EXPECT_EQ(int64_t(doc["activity_id"]), 4);
  EXPECT_EQ(std::string_view(doc["group"]["uid"]), "proj_1");
  EXPECT_TRUE(validateOcsfEvent(in_project).empty()) << joined(validateOcsfEvent(in_project));
}

// --- The validator catches what it claims to catch ---------------------------------------------

std::string validEvent() {
  return renderEvent(
      eventFromRaw(
          R"({"id":"audit_log-1","type":"api_key.created","effective_at":1720804090,"actor":{"type":"session","session":{"user":{"id":"user-1","email":"a@example.com"},"ip_address":"127.0.0.1"}},"api_key.created":{"id":"key_1","data":{"scopes":["x"]}}})"),
      Encoding::kOcsf);
}

std::string replaced(std::string s, std::string_view from, std::string_view to) {
  const auto at = s.find(from);
  EXPECT_NE(at, std::string::npos) << "test setup: '" << from << "' not in " << s;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(OcsfValidator, AcceptsTheReferenceEvent) {
  const auto errors = validateOcsfEvent(validEvent());
  EXPECT_TRUE(errors.empty()) << joined(errors);
}

TEST(OcsfValidator, CatchesEachKindOfViolation) {
  const std::string ok = validEvent();
  const std::vector<std::pair<std::string, std::string>> broken = {
      {"wrong type_uid", replaced(ok, "\"type_uid\":300401", "\"type_uid\":300402")},
      {"wrong category", replaced(ok, "\"category_uid\":3", "\"category_uid\":6")},
      {"unknown class", replaced(ok, "\"class_uid\":3004", "\"class_uid\":3999")},
      {"activity outside the enum",
       replaced(replaced(ok, "\"activity_id\":1", "\"activity_id\":42"), "\"type_uid\":300401",
                "\"type_uid\":300442")},
      {"severity outside the enum", replaced(ok, "\"severity_id\":1", "\"severity_id\":7")},
      {"activity caption",
       replaced(ok, "\"activity_name\":\"Create\"", "\"activity_name\":\"Make\"")},
      {"type_name", replaced(ok, "Entity Management: Create", "Entity Management: Update")},
      {"missing required entity", replaced(ok, "\"entity\":", "\"entity_result\":")},
      {"attribute the class does not define", replaced(ok, "\"message\":", "\"note\":")},
      {"attribute an object does not define", replaced(ok, "\"type_id\":99,", "\"kind\":99,")},
      {"cloud without the profile", replaced(ok, "\"profiles\":[\"cloud\"]", "\"profiles\":[]")},
      {"malformed ip", replaced(ok, "\"ip\":\"127.0.0.1\"", "\"ip\":\"127.0.0.999\"")},
      {"malformed email", replaced(ok, "\"email_addr\":\"a@example.com\"", "\"email_addr\":\"a\"")},
      {"string time", replaced(ok, "\"time\":1720804090000", "\"time\":\"1720804090000\"")},
      {"missing required time", replaced(ok, "\"time\":", "\"start_time\":")},
      {"entity without name or uid", replaced(ok, "\"uid\":\"key_1\",", "")},
      {"observable pointing elsewhere",
       replaced(ok, "\"name\":\"src_endpoint.ip\"", "\"name\":\"actor.user.uid\"")},
      {"undefined observable type", replaced(ok, "\"type_id\":2,", "\"type_id\":77,")},
      {"not JSON", ok.substr(0, ok.size() - 1)},
  };
  for (const auto& [what, json] : broken) {
    EXPECT_FALSE(validateOcsfEvent(json).empty()) << what << " was not caught:\n" << json;
  }
}

TEST(OcsfValidator, ProfileGatedAttributesNeedTheProfile) {
  const std::string ok = validEvent();
  // `api` is defined for IAM classes only through the cloud profile.
  const std::string with_api =
      replaced(ok, "\"message\":", "\"api\":{\"operation\":\"x\"},\"message\":");
  EXPECT_TRUE(validateOcsfEvent(with_api).empty()) << joined(validateOcsfEvent(with_api));
  const std::string without_profile =
      replaced(with_api, "\"profiles\":[\"cloud\"]", "\"profiles\":[]");
  const auto errors = validateOcsfEvent(without_profile);
  EXPECT_GE(errors.size(), 2u) << "both cloud and api should be flagged:" << joined(errors);
}

}  // namespace
}  // namespace siem
