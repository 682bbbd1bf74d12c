#include "agent/schema/ecs_encoder.h"

#include <array>

#include "agent/schema/json_copy.h"
#include "agent/schema/ocsf_encoder.h"

namespace siem {
namespace {

using simdjson::dom::object;

struct Categorization {
  std::array<std::string_view, 2> categories{};
  std::size_t category_count = 0;
  std::array<std::string_view, 2> types{};
  std::size_t type_count = 0;
  void category(std::string_view c) { categories[category_count++] = c; }
  void type(std::string_view t) { types[type_count++] = t; }
};

std::string_view changeType(OcsfClass cls, int activity) {
  switch (cls) {
    case OcsfClass::kAccountChange:
      return activity == 1 ? "creation" : activity == 6 ? "deletion" : "change";
    case OcsfClass::kGroupManagement:
      return activity == 6 ? "creation" : activity == 5 ? "deletion" : "change";
    case OcsfClass::kUserAccess:
      return "change";
    default:
      break;
  }
  switch (activity) {
    case 1:
      return "creation";
    case 2:
      return "access";
    case 4:
      return "deletion";
    case 3:
    case 8:
    case 9:
      return "change";
    default:
      return "info";
  }
}

Categorization categorize(const AuditLog& log, const Classification& c) {
  Categorization k;
  if (c.target == Target::kLogin) {
    const bool failed = verbOf(log.type) == "failed";
    k.category("authentication");
    if (!failed) k.category("session");
    k.type(c.activity_id == 2 ? "end" : "start");
    return k;
  }
  if (c.target == Target::kApiRequest) {
    k.category("web");
    k.type("access");
    return k;
  }
  const bool iam = c.rule->ecs_category == EcsCategory::kIam;
  k.category(iam ? "iam" : "configuration");
  EcsSubject subject = c.rule->ecs_subject;
  if (c.target == Target::kMembership && c.cls == OcsfClass::kGroupManagement) {
    subject = EcsSubject::kGroup;
  }
  if (iam) {
    switch (subject) {
      case EcsSubject::kUser:
        k.type("user");
        break;
      case EcsSubject::kGroup:
        k.type("group");
        break;
      case EcsSubject::kAdmin:
        k.type("admin");
        break;
      case EcsSubject::kNone:
        break;
    }
  }
  std::string_view change = changeType(c.cls, c.activity_id);
  // iam does not list `access` among its expected event types.
  if (iam && change == "access") change = "info";
  k.type(change);
  return k;
}

void writeStrings(JsonWriter& w, std::string_view name, const std::string_view* items,
                  std::size_t n) {
  w.key(name);
  w.beginArray();
  for (std::size_t i = 0; i < n; ++i) w.string(items[i]);
  w.endArray();
}

// The user the action was done to, when the log names one.
struct TargetUser {
  std::string_view id;
  std::string_view email;
  std::string_view name;
  std::string_view role;
  bool changes_role = false;
};

// The group the action was done to or in.
struct TargetGroup {
  std::string_view id;
  std::string_view name;
};

void findTargets(const AuditLog& log, const Classification& c, TargetUser* user,
                 TargetGroup* group) {
  if (!log.payload_is_object) return;
  const TrackedObject& p = log.payload_fields;
  if (log.shape == Shape::kSeed) {
    const std::string_view kind = stringAt(p, "type");
    if (kind == "user" || kind == "service_account") {
      user->id = p.slotString(kPayloadId);
      user->name = p.slotString(kPayloadName);
    } else if (kind == "group") {
      group->id = p.slotString(kPayloadId);
      group->name = p.slotString(kPayloadName);
    }
    return;
  }
  switch (c.target) {
    case Target::kAccount:
    case Target::kMembership:
      user->id = p.slotString(kPayloadId);
      user->role = stringAtPath(p, "data.role");
      if (c.cls == OcsfClass::kGroupManagement) {
        group->id = log.project_id;
        group->name = log.project_name;
      }
      return;
    case Target::kUserAccess:
      user->id = p.slotString(kPayloadId);
      user->role = stringAtPath(p, "changes_requested.role|data.role");
      user->changes_role = true;
      return;
    case Target::kTenantUser:
      user->id = stringAtPath(p, "user_id|id");
      user->email = stringAt(p, "email");
      return;
    case Target::kTenantGroupMember:
      group->id = stringAtPath(p, "group_id|id");
      user->id = stringAtPath(p, "user_id|principal_id|member_id");
      user->email = stringAt(p, "email");
      return;
    case Target::kGroup:
      group->id = p.slotString(kPayloadId);
      group->name = stringAtPath(p, "data.group_name");
      return;
    case Target::kRoleAssignment: {
      const std::string_view principal = stringAt(p, "principal_id");
      if (stringAt(p, "principal_type") == "group") {
        group->id = principal;
      } else {
        user->id = principal;
      }
      return;
    }
    case Target::kEntity:
      if (c.rule->entity_type_id == 3) {
        group->id = p.slotString(kPayloadId);
        group->name = stringAtPath(p, "changes_requested.group_name");
      } else if (c.rule->label == "Invite") {
        user->email = stringAtPath(p, "data.email");
        user->role = stringAtPath(p, "data.role");
      }
      return;
    default:
      return;
  }
}

}  // namespace

namespace {

void writeEcs(AuditLog& log, JsonWriter& w) {
  const Classification c = classify(log);
  ActorView& a = log.actor;
  w.beginObject();

  std::array<char, 24> ts;
  w.field("@timestamp", formatRfc3339Ms(log.time_ms, ts));
  w.key("ecs");
  w.beginObject();
  w.field("version", kEcsVersion);
  w.endObject();

  // event.outcome
  std::string_view outcome = "success";
  if (verbOf(log.type) == "failed" || (log.success && !*log.success)) {
    outcome = "failure";
  } else if (log.shape == Shape::kSeed && !log.success) {
    outcome = "unknown";
  }

  const Categorization k = categorize(log, c);
  w.key("event");
  w.beginObject();
  w.field("kind", "event");
  writeStrings(w, "category", k.categories.data(), k.category_count);
  writeStrings(w, "type", k.types.data(), k.type_count);
  if (!log.type.empty()) w.field("action", log.type);
  w.field("outcome", outcome);
  if (!log.id.empty()) w.field("id", log.id);
  w.field("module", "openai");
  w.field("dataset", "openai.audit");
  w.field("provider", "openai");
  // The same 1-3 scale as the OCSF severity_id: failures rate at least Low (2).
  int severity = c.rule->severity_id;
  if (outcome == "failure" && severity < 2) severity = 2;
  w.field("severity", severity);
  w.field("original", log.raw);
  w.endObject();

  const std::string_view who = a.label();
  w.key("message");
  if (who.empty()) {
    w.string(log.type.empty() ? std::string_view("OpenAI audit event") : log.type);
  } else {
    w.stringParts({log.type, " by ", who});
  }

  // The actor.
  std::string_view user_id =
      a.kind == ActorKind::kApiKey && a.key_owner == KeyOwner::kServiceAccount
          ? a.service_account_id
          : a.user_id;
  if (a.kind == ActorKind::kSeed && a.seed_type == "api_key") user_id = {};
  const std::string_view user_name = a.kind == ActorKind::kSeed ? a.seed_name : a.email;
  TargetUser target_user;
  TargetGroup target_group;
  findTargets(log, c, &target_user, &target_group);
  const bool has_target_user =
      !target_user.id.empty() || !target_user.email.empty() || !target_user.name.empty();
  if (!user_id.empty() || !a.email.empty() || !user_name.empty() || has_target_user) {
    w.key("user");
    w.beginObject();
    if (!user_id.empty()) w.field("id", user_id);
    if (!user_name.empty()) w.field("name", user_name);
    if (!a.email.empty()) w.field("email", a.email);
    if (has_target_user) {
      w.key("target");
      w.beginObject();
      if (!target_user.id.empty()) w.field("id", target_user.id);
      if (!target_user.name.empty()) w.field("name", target_user.name);
      if (!target_user.email.empty()) w.field("email", target_user.email);
      if (!target_user.role.empty() && !target_user.changes_role) {
        writeStrings(w, "roles", &target_user.role, 1);
      }
      w.endObject();
      if (!target_user.role.empty() && target_user.changes_role) {
        w.key("changes");
        w.beginObject();
        writeStrings(w, "roles", &target_user.role, 1);
        w.endObject();
      }
    }
    w.endObject();
    switch (a.kind) {
      case ActorKind::kSession:
        if (!a.user_id.empty()) a.session_user.consumeSlot(kUserId);
        if (!a.email.empty()) a.session_user.consumeSlot(kUserEmail);
        break;
      case ActorKind::kApiKey:
        if (a.key_owner == KeyOwner::kServiceAccount) {
          if (!user_id.empty()) a.key_service_account.consumeSlot(kUserId);
        } else {
          if (!a.user_id.empty()) a.key_user.consumeSlot(kUserId);
          if (!a.email.empty()) a.key_user.consumeSlot(kUserEmail);
        }
        break;
      case ActorKind::kSeed:
        if (!user_id.empty()) a.actor.consumeSlot(kActorId);
        if (!user_name.empty()) a.actor.consumeSlot(kActorName);
        break;
      default:
        break;
    }
  }
  if (!target_group.id.empty() || !target_group.name.empty()) {
    w.key("group");
    w.beginObject();
    if (!target_group.id.empty()) w.field("id", target_group.id);
    if (!target_group.name.empty()) w.field("name", target_group.name);
    w.endObject();
  }

  // Where the action came from.
  if (!a.ip.empty()) {
    w.key("source");
    w.beginObject();
    if (isIpAddress(a.ip)) {
      w.field("ip", a.ip);
      if (a.kind == ActorKind::kSeed) {
        a.actor.consumeSlot(kActorIpAddress);
      } else {
        a.session.consumeSlot(kSessionIpAddress);
      }
    } else {
      // ECS source.ip is typed ip; text that is not an address goes to source.address.
      w.field("address", a.ip);
      if (a.kind == ActorKind::kSeed) {
        a.actor.consumeSlot(kActorIpAddress);
      } else {
        a.session.consumeSlot(kSessionIpAddress);
      }
    }
    const bool has_region_code = !a.region_code.empty() && !a.country.empty();
    const bool has_location = a.latitude && a.longitude;
    if (!a.country.empty() || !a.city.empty() || !a.region.empty() || has_region_code ||
        has_location) {
      w.key("geo");
      w.beginObject();
      if (!a.country.empty()) {
        w.field("country_iso_code", a.country);
        a.details.consumeSlot(kDetailsCountry);
      }
      if (!a.city.empty()) {
        w.field("city_name", a.city);
        a.details.consumeSlot(kDetailsCity);
      }
      if (!a.region.empty()) {
        w.field("region_name", a.region);
        a.details.consumeSlot(kDetailsRegion);
      }
      if (has_region_code) {
        w.key("region_iso_code");
        w.stringParts({a.country, "-", a.region_code});
        a.details.consumeSlot(kDetailsRegionCode);
      }
      if (has_location) {
        w.key("location");
        w.beginObject();
        w.field("lat", *a.latitude);
        w.field("lon", *a.longitude);
        w.endObject();
        a.details.consumeSlot(kDetailsLatitude);
        a.details.consumeSlot(kDetailsLongitude);
      }
      w.endObject();
    }
    if (a.asn) {
      w.key("as");
      w.beginObject();
      w.field("number", *a.asn);
      w.endObject();
      a.details.consumeSlot(kDetailsAsn);
    }
    w.endObject();
  }
  if (!a.user_agent.empty()) {
    w.key("user_agent");
    w.beginObject();
    w.field("original", a.user_agent);
    w.endObject();
    a.session.consumeSlot(kSessionUserAgent);
  }
  if (!a.ja3.empty()) {
    w.key("tls");
    w.beginObject();
    w.key("client");
    w.beginObject();
    w.field("ja3", a.ja3);
    w.endObject();
    w.endObject();
    a.session.consumeSlot(kSessionJa3);
  }

  if (!log.organization_id.empty()) {
    w.key("organization");
    w.beginObject();
    w.field("id", log.organization_id);
    w.endObject();
  }
  w.key("cloud");
  w.beginObject();
  w.field("provider", "openai");
  if (!log.organization_id.empty()) {
    w.key("account");
    w.beginObject();
    w.field("id", log.organization_id);
    w.endObject();
  }
  if (!log.project_id.empty() || !log.project_name.empty()) {
    w.key("project");
    w.beginObject();
    if (!log.project_id.empty()) {
      w.field("id", log.project_id);
      log.project_fields.consumeSlot(kProjectId);
    }
    if (!log.project_name.empty()) {
      w.field("name", log.project_name);
      log.project_fields.consumeSlot(kProjectName);
    }
    w.endObject();
  }
  w.endObject();

  // Why it failed.
  std::string_view error_code;
  std::string_view error_message;
  if (log.payload_is_object && outcome == "failure") {
    error_code = log.payload_fields.slotString(kPayloadErrorCode);
    error_message = log.payload_fields.slotString(kPayloadErrorMessage);
  }
  if (log.has_api_request && error_message.empty()) {
    error_message = stringAt(log.api_request_fields, "error");
    if (error_message.empty())
      error_message = stringAtPath(log.api_request_fields, "error.message");
    if (error_code.empty()) error_code = stringAtPath(log.api_request_fields, "error.code");
  }
  if (!error_code.empty() || !error_message.empty()) {
    w.key("error");
    w.beginObject();
    if (!error_code.empty()) w.field("code", error_code);
    if (!error_message.empty()) w.field("message", error_message);
    w.endObject();
  }

  std::array<std::string_view, 5> related_users{};
  std::size_t n_users = 0;
  for (std::string_view u : {user_id, a.email, target_user.id, target_user.email}) {
    bool seen = u.empty();
    for (std::size_t i = 0; i < n_users && !seen; ++i) seen = related_users[i] == u;
    if (!seen) related_users[n_users++] = u;
  }
  const bool related_ip = isIpAddress(a.ip);
  if (n_users > 0 || related_ip) {
    w.key("related");
    w.beginObject();
    if (n_users > 0) writeStrings(w, "user", related_users.data(), n_users);
    if (related_ip) writeStrings(w, "ip", &a.ip, 1);
    w.endObject();
  }

  // Everything else, in the shape of the original (the payload stays whole).
  if (log.shape == Shape::kUnparsed) {
    w.key("openai");
    w.beginObject();
    w.key("audit");
    w.beginObject();
    w.field("parse_error", log.parse_error);
    w.endObject();
    w.endObject();
  } else if (!log.root_fields.empty()) {
    w.key("openai");
    w.beginObject();
    w.key("audit");
    w.beginObject();
    log.root_fields.writeMembers(w);
    w.endObject();
    w.endObject();
  }
  if (w.truncated()) {
    w.key("tags");
    w.beginArray();
    w.string("truncated");
    w.endArray();
  }
  w.endObject();
}

}  // namespace

std::string encodeEcs(AuditLog& log) {
  JsonWriter w(threadScratch(), JsonWriter::Scratch{});
  writeEcs(log, w);
  return std::string(w.view());
}

}  // namespace siem
