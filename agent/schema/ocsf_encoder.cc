#include "agent/schema/ocsf_encoder.h"

#include <array>
#include <charconv>
#include <cstring>
#include <span>

#include "agent/schema/json_copy.h"

namespace siem {
namespace {

using simdjson::dom::element;
using simdjson::dom::object;

constexpr std::string_view kProductName = "OpenAI Audit Logs";
constexpr std::string_view kVendorName = "OpenAI";
constexpr std::string_view kCloudProvider = "OpenAI";
constexpr std::string_view kProjectType = "OpenAI Project";
constexpr std::string_view kOrganizationType = "OpenAI Organization";
constexpr std::string_view kGroupType = "OpenAI Group";
constexpr std::string_view kServiceName = "OpenAI Platform";
constexpr std::string_view kKeyAppName = "OpenAI API key";
// Placeholder for required identities the log does not carry (documented in docs/schema.md).
constexpr std::string_view kUnknownName = "unknown";

constexpr int kUserTypeUnknown = 0;
constexpr int kUserTypeUser = 1;
constexpr int kUserTypeSystem = 3;
constexpr int kUserTypeService = 4;
constexpr int kUserTypeOther = 99;

// Observable type ids (OCSF 1.8.0 dictionary).
constexpr int kObsIp = 2;
constexpr int kObsEmail = 5;
constexpr int kObsCountry = 14;
constexpr int kObsUserAgent = 16;
constexpr int kObsUserUid = 31;

// Pre-formed member runs for the classification attributes (the captions are OCSF's).
std::string_view classMembers(OcsfClass cls) {
  switch (cls) {
    case OcsfClass::kAccountChange:
      return R"("category_uid":3,"category_name":"Identity & Access Management","class_uid":3001,"class_name":"Account Change")";
    case OcsfClass::kAuthentication:
      return R"("category_uid":3,"category_name":"Identity & Access Management","class_uid":3002,"class_name":"Authentication")";
    case OcsfClass::kEntityManagement:
      return R"("category_uid":3,"category_name":"Identity & Access Management","class_uid":3004,"class_name":"Entity Management")";
    case OcsfClass::kUserAccess:
      return R"("category_uid":3,"category_name":"Identity & Access Management","class_uid":3005,"class_name":"User Access Management")";
    case OcsfClass::kGroupManagement:
      return R"("category_uid":3,"category_name":"Identity & Access Management","class_uid":3006,"class_name":"Group Management")";
    case OcsfClass::kApiActivity:
      return R"("category_uid":6,"category_name":"Application Activity","class_uid":6003,"class_name":"API Activity")";
  }
  return {};
}

std::string_view severityMembers(int id) {
  switch (id) {
    case 1:
      return R"("severity_id":1,"severity":"Informational")";
    case 2:
      return R"("severity_id":2,"severity":"Low")";
    case 3:
      return R"("severity_id":3,"severity":"Medium")";
    case 4:
      return R"("severity_id":4,"severity":"High")";
    default:
      return R"("severity_id":0,"severity":"Unknown")";
  }
}

std::string_view statusMembers(int id) {
  switch (id) {
    case 1:
      return R"("status_id":1,"status":"Success")";
    case 2:
      return R"("status_id":2,"status":"Failure")";
    default:
      return R"("status_id":0,"status":"Unknown")";
  }
}

struct Observables {
  // Trivially constructible, so the array costs nothing until used.
  struct Item {
    const char* name;
    std::size_t name_size;
    const char* value;
    std::size_t value_size;
    int type_id;
  };
  static constexpr std::size_t kMax = 8;
  Item items[kMax];
  std::size_t count = 0;
  void add(std::string_view name, int type_id, std::string_view value) {
    if (!value.empty() && count < kMax) {
      items[count++] = {name.data(), name.size(), value.data(), value.size(), type_id};
    }
  }
};

// A user object to write, with its identity fields as they appear in the log.
struct UserRef {
  std::string_view uid;
  std::string_view email;
  std::string_view name;  // defaults to the email
  int type_id = kUserTypeUnknown;
  std::string_view type;
  std::string_view key_id;  // programmatic credential
  std::string_view key_type;
  bool email_ok = false;  // `email` matches email_t (checked once)

  std::string_view displayName() const { return name.empty() ? email : name; }
  // OCSF user requires at least one of account, name, uid.
  bool identifiable() const { return !uid.empty() || !displayName().empty(); }
};

UserRef makeUser(std::string_view uid, std::string_view email, std::string_view name, int type_id) {
  UserRef u;
  u.uid = uid;
  u.email = email;
  u.name = name;
  u.type_id = type_id;
  u.email_ok = isEmailAddress(email);
  return u;
}

std::string_view userTypeName(int type_id) {
  switch (type_id) {
    case kUserTypeUser:
      return "User";
    case kUserTypeSystem:
      return "System";
    case kUserTypeService:
      return "Service";
    default:
      return "Unknown";
  }
}

void writeUser(JsonWriter& w, const UserRef& u) {
  w.beginObject();
  if (!u.uid.empty()) w.field("uid", u.uid);
  if (!u.displayName().empty()) w.field("name", u.displayName());
  if (u.email_ok) w.field("email_addr", u.email);
  w.field("type_id", u.type_id);
  if (u.type.empty()) {
    w.trustedField("type", userTypeName(u.type_id));
  } else {
    w.field("type", u.type);
  }
  if (!u.key_id.empty()) {
    w.key("programmatic_credentials");
    w.beginArray();
    w.beginObject();
    w.field("uid", u.key_id);
    w.trustedField("type", u.key_type);
    w.endObject();
    w.endArray();
  }
  w.endObject();
}

UserRef actorIdentity(const ActorView& a) {
  UserRef u;
  switch (a.kind) {
    case ActorKind::kSession:
      u.uid = a.user_id;
      u.email = a.email;
      u.type_id = kUserTypeUser;
      break;
    case ActorKind::kApiKey:
      u.key_id = a.key_id;
      if (a.key_owner == KeyOwner::kServiceAccount) {
        u.uid = a.service_account_id;
        u.type_id = kUserTypeService;
        u.key_type = "Service Account API Key";
      } else {
        u.uid = a.user_id;
        u.email = a.email;
        u.type_id = a.key_owner == KeyOwner::kUser ? kUserTypeUser : kUserTypeUnknown;
        u.key_type = "API Key";
      }
      break;
    case ActorKind::kSeed:
      u.name = a.seed_name;
      u.email = a.email;
      if (a.seed_type == "api_key") {
        u.key_id = a.user_id;
        u.key_type = "API Key";
        u.type_id = kUserTypeOther;
        u.type = "API Key";
        break;
      }
      u.uid = a.user_id;
      if (a.seed_type == "user") {
        u.type_id = kUserTypeUser;
      } else if (a.seed_type == "service_account") {
        u.type_id = kUserTypeService;
      } else if (a.seed_type == "system") {
        u.type_id = kUserTypeSystem;
      } else if (!a.seed_type.empty()) {
        u.type_id = kUserTypeOther;
        u.type = a.seed_type;
      }
      break;
    case ActorKind::kNone:
    case ActorKind::kUnrecognized:
      break;
  }
  u.email_ok = isEmailAddress(u.email);
  return u;
}

// Marks the actor members that `u` (as written) carries.
void consumeActorIdentity(ActorView& a, const UserRef& u, bool wrote_user) {
  switch (a.kind) {
    case ActorKind::kSession:
      if (!wrote_user) return;
      if (!u.uid.empty()) a.session_user.consumeSlot(kUserId);
      if (!u.email.empty()) a.session_user.consumeSlot(kUserEmail);
      return;
    case ActorKind::kApiKey:
      if (!u.key_id.empty()) a.api_key.consumeSlot(kKeyId);
      if (!wrote_user) return;
      if (a.key_owner == KeyOwner::kServiceAccount) {
        if (!u.uid.empty()) a.key_service_account.consumeSlot(kUserId);
      } else {
        if (!u.uid.empty()) a.key_user.consumeSlot(kUserId);
        if (!u.email.empty()) a.key_user.consumeSlot(kUserEmail);
      }
      return;
    case ActorKind::kSeed:
      if (!a.user_id.empty()) a.actor.consumeSlot(kActorId);
      if (!wrote_user) return;
      if (!u.name.empty()) a.actor.consumeSlot(kActorName);
      if (u.type_id == kUserTypeOther && u.type == a.seed_type) a.actor.consumeSlot(kActorType);
      return;
    case ActorKind::kNone:
    case ActorKind::kUnrecognized:
      return;
  }
}

// Writes `actor` when the log names one. Returns false when nothing could be written.
bool writeActor(JsonWriter& w, AuditLog& log, const UserRef& u, Observables& obs) {
  if (u.identifiable()) {
    w.key("actor");
    w.beginObject();
    w.key("user");
    writeUser(w, u);
    w.endObject();
    consumeActorIdentity(log.actor, u, true);
    obs.add("actor.user.uid", kObsUserUid, u.uid);
    if (u.email_ok) obs.add("actor.user.email_addr", kObsEmail, u.email);
    return true;
  }
  if (!u.key_id.empty()) {
    // A key whose owner the log does not name: the key itself is the only identity.
    w.key("actor");
    w.beginObject();
    w.trustedField("app_name", kKeyAppName);
    w.field("app_uid", u.key_id);
    w.endObject();
    consumeActorIdentity(log.actor, u, false);
    return true;
  }
  return false;
}

void writeSourceEndpoint(JsonWriter& w, AuditLog& log, Observables& obs, bool required) {
  ActorView& a = log.actor;
  if (!isIpAddress(a.ip)) {
    if (required) {
      w.key("src_endpoint");
      w.beginObject();
      w.field("name", kUnknownName);
      w.endObject();
    }
    return;
  }
  w.key("src_endpoint");
  w.beginObject();
  w.field("ip", a.ip);
  if (a.kind == ActorKind::kSeed) {
    a.actor.consumeSlot(kActorIpAddress);
  } else {
    a.session.consumeSlot(kSessionIpAddress);
  }
  obs.add("src_endpoint.ip", kObsIp, a.ip);

  const bool has_region = !a.region_code.empty() && !a.country.empty();
  if (!a.city.empty() || !a.country.empty() || has_region) {
    w.key("location");
    w.beginObject();
    if (!a.city.empty()) {
      w.field("city", a.city);
      a.details.consumeSlot(kDetailsCity);
    }
    if (!a.country.empty()) {
      w.field("country", a.country);
      a.details.consumeSlot(kDetailsCountry);
      obs.add("src_endpoint.location.country", kObsCountry, a.country);
    }
    if (has_region) {
      // ISO 3166-2 form, as location.region describes: "US-CA".
      w.key("region");
      w.stringParts({a.country, "-", a.region_code});
      a.details.consumeSlot(kDetailsRegionCode);
    }
    if (a.latitude) {
      w.field("lat", *a.latitude);
      a.details.consumeSlot(kDetailsLatitude);
    }
    if (a.longitude) {
      w.field("long", *a.longitude);
      a.details.consumeSlot(kDetailsLongitude);
    }
    w.endObject();
  }
  if (a.asn) {
    w.key("autonomous_system");
    w.beginObject();
    w.field("number", *a.asn);
    w.endObject();
    a.details.consumeSlot(kDetailsAsn);
  }
  if (!a.ja3.empty() || !a.ja4.empty()) {
    // JA3/JA4 have no algorithm_id of their own: Other, with the algorithm named.
    w.key("fingerprints");
    w.beginArray();
    if (!a.ja3.empty()) {
      w.beginObject();
      w.members(R"("algorithm_id":99,"algorithm":"JA3")");
      w.field("value", a.ja3);
      w.endObject();
      a.session.consumeSlot(kSessionJa3);
    }
    if (!a.ja4.empty()) {
      w.beginObject();
      w.members(R"("algorithm_id":99,"algorithm":"JA4")");
      w.field("value", a.ja4);
      w.endObject();
      a.session.consumeSlot(kSessionJa4);
    }
    w.endArray();
  }
  w.endObject();
}

void writeHttpRequest(JsonWriter& w, AuditLog& log, Observables& obs) {
  if (log.actor.user_agent.empty()) return;
  w.key("http_request");
  w.beginObject();
  w.field("user_agent", log.actor.user_agent);
  w.endObject();
  log.actor.session.consumeSlot(kSessionUserAgent);
  obs.add("http_request.user_agent", kObsUserAgent, log.actor.user_agent);
}

// Consumes `key` of `obj` when its value is an object whose members are all in `mapped` and
// strings (so that mapping those strings elsewhere loses nothing).
void consumeIfOnly(TrackedObject& left, std::string_view key,
                   std::initializer_list<std::string_view> mapped) {
  object inner;
  if (!objectAt(left, key, &inner)) return;
  for (simdjson::dom::key_value_pair m : inner) {
    bool known = false;
    for (std::string_view k : mapped) known = known || k == m.key;
    if (!known || !m.value.is_string()) return;
  }
  left.consume(key);
}

void writeResourceScope(JsonWriter& w, const AuditLog& log) {
  if (!log.project_id.empty() || !log.project_name.empty()) {
    w.key("resources");
    w.beginArray();
    w.beginObject();
    if (!log.project_id.empty()) w.field("uid", log.project_id);
    if (!log.project_name.empty()) w.field("name", log.project_name);
    w.trustedField("type", kProjectType);
    w.endObject();
    w.endArray();
  } else if (!log.organization_id.empty()) {
    w.key("resources");
    w.beginArray();
    w.beginObject();
    w.field("uid", log.organization_id);
    w.trustedField("type", kOrganizationType);
    w.endObject();
    w.endArray();
  }
}

// --- Entity Management targets ---------------------------------------------------------------

void writeEntityData(JsonWriter& w, AuditLog& log, const TypeRule& rule, std::string_view uid_key,
                     std::string_view name_key, bool data_is_changes) {
  const TrackedObject& p = log.payload_fields;
  element data;
  if (!data_is_changes && p.slot(kPayloadData, &data)) {
    w.key("data");
    writeJsonValue(w, data);
    log.payload_fields.consumeSlot(kPayloadData);
    return;
  }
  // No `data` member: the payload's other members describe the entity. (A seed-shape target's
  // other members describe the target reference itself and stay unmapped.)
  if (log.shape == Shape::kSeed) return;
  std::array<std::string_view, 12> keys{};
  std::size_t n = 0;
  for (simdjson::dom::key_value_pair m : p.dom()) {
    if (m.key == uid_key || m.key == name_key || m.key == "changes_requested" ||
        (data_is_changes && m.key == "data") || m.key == rule.private_key || n == keys.size()) {
      continue;
    }
    keys[n++] = m.key;
  }
  if (n == 0) return;
  w.key("data");
  w.beginObject();
  for (simdjson::dom::key_value_pair m : p.dom()) {
    for (std::size_t i = 0; i < n; ++i) {
      if (keys[i] == m.key) {
        w.key(m.key);
        writeJsonValue(w, m.value);
        log.payload_fields.consume(m.key);
        break;
      }
    }
  }
  w.endObject();
}

void writeEntitySubject(JsonWriter& w, const TypeRule& rule, const TrackedObject& p,
                        std::string_view uid, std::string_view name) {
  if (rule.entity_type_id == 4 && (!uid.empty() || !name.empty())) {
    w.key("org");
    w.beginObject();
    if (!uid.empty()) w.field("uid", uid);
    if (!name.empty()) w.field("name", name);
    w.endObject();
  } else if (rule.entity_type_id == 3 && (!uid.empty() || !name.empty())) {
    w.key("group");
    w.beginObject();
    if (!uid.empty()) w.field("uid", uid);
    if (!name.empty()) w.field("name", name);
    w.endObject();
  }
  if (rule.target == Target::kRoleAssignment) {
    const std::string_view principal = stringAt(p, "principal_id");
    const std::string_view kind = stringAt(p, "principal_type");
    if (!principal.empty() && kind == "group") {
      w.key("group");
      w.beginObject();
      w.field("uid", principal);
      w.endObject();
    } else if (!principal.empty()) {
      w.key("user");
      writeUser(w, makeUser(principal, {}, {}, kind == "user" ? kUserTypeUser : kUserTypeUnknown));
    }
  }
  if (rule.type == "invite.sent") {
    const std::string_view email = stringAtPath(p, "data.email");
    if (!email.empty()) {
      w.key("user");
      writeUser(w, makeUser({}, email, {}, kUserTypeUser));
    }
  }
}

void writeKnownEntity(JsonWriter& w, AuditLog& log, const TypeRule& rule) {
  const TrackedObject& p = log.payload_fields;  // empty object when the payload is absent
  std::string_view uid = log.payload_is_object ? stringAt(p, rule.uid_key) : std::string_view{};
  if (!uid.empty()) log.payload_fields.consume(rule.uid_key);

  std::string_view name;
  std::string_view name_key;
  if (log.payload_is_object) {
    std::string_view matched;
    name = stringAtPath(p, rule.name_path, &matched);
    if (name.empty() && rule.name_path != "name") name = stringAtPath(p, "name", &matched);
    if (!name.empty() && matched.find('.') == std::string_view::npos) {
      name_key = matched;
      log.payload_fields.consume(matched);
    }
    // Bulk payloads name their single affected object, if there is just one.
    simdjson::dom::array list;
    element list_value;
    if (!rule.list_key.empty() && elementAt(p, rule.list_key, &list_value) &&
        !list_value.get_array().get(list) && list.size() == 1) {
      object only;
      if (!list.at(0).get_object().get(only)) {
        if (uid.empty()) uid = stringAt(only, "id");
        if (name.empty()) name = stringAt(only, "name");
      }
    }
  }

  element changes;
  bool has_changes = log.payload_is_object && p.slot(kPayloadChanges, &changes);
  bool data_is_changes = false;
  if (!has_changes && rule.activity_id == 3 && log.payload_is_object &&
      p.slot(kPayloadData, &changes)) {
    // Older api_key.updated logs carry the change under `data`.
    has_changes = true;
    data_is_changes = true;
  }

  w.key("entity");
  w.beginObject();
  if (!uid.empty()) w.field("uid", uid);
  if (!name.empty() || uid.empty()) w.field("name", name.empty() ? rule.label : name);
  w.trustedField("type", rule.label);
  w.field("type_id", static_cast<int>(rule.entity_type_id));
  if (log.payload_is_object) writeEntityData(w, log, rule, rule.uid_key, name_key, data_is_changes);
  writeEntitySubject(w, rule, p, uid, name);
  w.endObject();

  if (has_changes) {
    std::string_view new_name;
    if (!rule.result_name_path.empty()) new_name = stringAtPath(p, rule.result_name_path);
    if (new_name.empty()) new_name = name;
    w.key("entity_result");
    w.beginObject();
    if (!uid.empty()) w.field("uid", uid);
    if (!new_name.empty() || uid.empty()) {
      w.field("name", new_name.empty() ? rule.label : new_name);
    }
    w.trustedField("type", rule.label);
    w.field("type_id", static_cast<int>(rule.entity_type_id));
    w.key("data");
    writeJsonValue(w, changes);
    writeEntitySubject(w, rule, p, uid, new_name);
    w.endObject();
    log.payload_fields.consumeSlot(data_is_changes ? kPayloadData : kPayloadChanges);
  }
}

// tenant.* and unknown types: the entity is named, nothing of the payload is consumed.
void writeOpaqueEntity(JsonWriter& w, const AuditLog& log) {
  std::string_view family = familyOf(log.type);
  if (family.empty()) family = kUnknownName;
  const TrackedObject& p = log.payload_fields;
  const std::string_view uid =
      log.payload_is_object ? p.slotString(kPayloadId) : std::string_view{};
  std::string_view name = log.payload_is_object ? p.slotString(kPayloadName) : std::string_view{};
  if (name.empty() && uid.empty()) name = family;
  w.key("entity");
  w.beginObject();
  if (!uid.empty()) w.field("uid", uid);
  if (!name.empty()) w.field("name", name);
  w.field("type", family);
  w.field("type_id", 99);
  w.endObject();
}

// --- API Activity (seed shape) ----------------------------------------------------------------

void writeApi(JsonWriter& w, AuditLog& log) {
  w.key("api");
  w.beginObject();
  w.field("operation", log.type.empty() ? std::string_view("api_request") : log.type);
  if (log.has_api_request) {
    const TrackedObject& r = log.api_request_fields;
    const std::string_view request_id = stringAt(r, "id");
    if (!request_id.empty()) {
      w.key("request");
      w.beginObject();
      w.field("uid", request_id);
      w.endObject();
      log.api_request_fields.consume("id");
    }
    element error;
    element response;
    const bool has_error = elementAt(r, "error", &error) && !error.is_null();
    const bool has_response = elementAt(r, "response", &response);
    if (has_error || has_response) {
      w.key("response");
      w.beginObject();
      if (has_error && error.is_string()) {
        w.field("error", error.get_string().value_unsafe());
        log.api_request_fields.consume("error");
      } else if (has_error && error.is_object()) {
        const object e = error.get_object().value_unsafe();
        const std::string_view code = stringAtPath(e, "code|type");
        const std::string_view message = stringAt(e, "message");
        if (!code.empty()) w.field("error", code);
        if (!message.empty()) w.field("error_message", message);
      }
      if (has_response) {
        w.key("data");
        writeJsonValue(w, response);
        log.api_request_fields.consume("response");
      }
      w.endObject();
    }
  }
  w.endObject();

  const std::string_view model =
      log.has_api_request ? stringAt(log.api_request_fields, "model") : "";
  const TrackedObject& t = log.payload_fields;
  const std::string_view target_id = log.payload_is_object ? t.slotString(kPayloadId) : "";
  const std::string_view target_name = log.payload_is_object ? t.slotString(kPayloadName) : "";
  const std::string_view target_type = log.payload_is_object ? stringAt(t, "type") : "";
  if (model.empty() && target_id.empty() && target_name.empty()) return;
  w.key("resources");
  w.beginArray();
  if (!target_id.empty() || !target_name.empty()) {
    w.beginObject();
    if (!target_id.empty()) w.field("uid", target_id);
    if (!target_name.empty()) w.field("name", target_name);
    if (!target_type.empty()) w.field("type", target_type);
    w.members(R"("role_id":1,"role":"Target")");
    w.endObject();
    if (!target_id.empty()) log.payload_fields.consumeSlot(kPayloadId);
    if (!target_name.empty()) log.payload_fields.consumeSlot(kPayloadName);
    if (!target_type.empty()) log.payload_fields.consume("type");
  }
  if (!model.empty()) {
    w.beginObject();
    w.field("name", model);
    w.members(R"("type":"Model","role_id":4,"role":"Related")");
    w.endObject();
    log.api_request_fields.consume("model");
  }
  w.endArray();
}

bool isApiRequest(const AuditLog& log) {
  if (log.shape != Shape::kSeed) return false;
  if (log.type == "api_request" || log.type.starts_with("api_request.")) return true;
  return log.has_api_request && ruleFor(log.type).type.empty();
}

void writeMessage(JsonWriter& w, const AuditLog& log) {
  const std::string_view what =
      log.type.empty() ? std::string_view("OpenAI audit event") : log.type;
  const std::string_view who = log.actor.label();
  w.key("message");
  if (who.empty()) {
    w.string(what);
  } else {
    w.stringParts({what, " by ", who});
  }
}

}  // namespace

std::string_view ocsfClassName(OcsfClass cls) {
  switch (cls) {
    case OcsfClass::kAccountChange:
      return "Account Change";
    case OcsfClass::kAuthentication:
      return "Authentication";
    case OcsfClass::kEntityManagement:
      return "Entity Management";
    case OcsfClass::kUserAccess:
      return "User Access Management";
    case OcsfClass::kGroupManagement:
      return "Group Management";
    case OcsfClass::kApiActivity:
      return "API Activity";
  }
  return "Unknown";
}

std::string_view ocsfActivityName(OcsfClass cls, std::uint8_t id) {
  if (id == 0) return "Unknown";
  if (id == 99) return "Other";
  static constexpr std::string_view kAccount[] = {"Create",
                                                  "Enable",
                                                  "Password Change",
                                                  "Password Reset",
                                                  "Disable",
                                                  "Delete",
                                                  "Attach Policy",
                                                  "Detach Policy",
                                                  "Lock",
                                                  "MFA Factor Enable",
                                                  "MFA Factor Disable",
                                                  "Unlock"};
  static constexpr std::string_view kAuth[] = {"Logon",
                                               "Logoff",
                                               "Authentication Ticket",
                                               "Service Ticket Request",
                                               "Service Ticket Renew",
                                               "Preauth",
                                               "Account Switch"};
  static constexpr std::string_view kEntity[] = {
      "Create", "Read",    "Update",   "Delete",     "Move",    "Enroll", "Unenroll",
      "Enable", "Disable", "Activate", "Deactivate", "Suspend", "Resume"};
  static constexpr std::string_view kAccess[] = {"Assign Privileges", "Revoke Privileges"};
  static constexpr std::string_view kGroup[] = {
      "Assign Privileges", "Revoke Privileges", "Add User", "Remove User", "Delete", "Create",
      "Add Subgroup",      "Remove Subgroup"};
  static constexpr std::string_view kApi[] = {"Create", "Read", "Update", "Delete"};
  auto pick = [id](std::span<const std::string_view> names) {
    return id <= names.size() ? names[id - 1] : std::string_view("Unknown");
  };
  switch (cls) {
    case OcsfClass::kAccountChange:
      return pick(kAccount);
    case OcsfClass::kAuthentication:
      return pick(kAuth);
    case OcsfClass::kEntityManagement:
      return pick(kEntity);
    case OcsfClass::kUserAccess:
      return pick(kAccess);
    case OcsfClass::kGroupManagement:
      return pick(kGroup);
    case OcsfClass::kApiActivity:
      return pick(kApi);
  }
  return "Unknown";
}

Classification classify(const AuditLog& log) {
  const TypeRule& rule = ruleFor(log.type);
  Classification c{&rule, rule.target, rule.ocsf_class, rule.activity_id};
  if (isApiRequest(log)) {
    c.target = Target::kApiRequest;
    c.cls = OcsfClass::kApiActivity;
    c.activity_id = activityForVerb(verbOf(log.type));
    if (c.activity_id > 4) c.activity_id = 99;
  } else if (c.target == Target::kMembership &&
             (!log.project_id.empty() || !log.project_name.empty())) {
    c.cls = OcsfClass::kGroupManagement;
    c.activity_id = rule.project_activity_id;
  }
  return c;
}

namespace {

// Writes the event; returns the offset just inside `metadata` (where the truncation flags go).
std::size_t writeOcsf(AuditLog& log, JsonWriter& w) {
  const Classification c = classify(log);
  const TypeRule& rule = *c.rule;
  const Target target = c.target;
  const OcsfClass cls = c.cls;
  const int activity = c.activity_id;
  const int class_uid = static_cast<int>(cls);

  int status = 1;
  if (verbOf(log.type) == "failed" || (log.success && !*log.success)) {
    status = 2;
  } else if (log.shape == Shape::kSeed && !log.success) {
    status = 0;
  }
  int severity = rule.severity_id;
  if (status == 2 && severity < 2) severity = 2;

  const std::string_view activity_caption =
      ocsfActivityName(cls, static_cast<std::uint8_t>(activity));
  std::string_view activity_name = activity_caption;
  if (activity == 99) {
    activity_name = verbOf(log.type);
    if (activity_name.empty()) activity_name = "Other";
  }

  Observables obs;
  w.beginObject();
  w.field("activity_id", activity);
  if (activity == 99) {
    w.field("activity_name", activity_name);  // the source's own verb
  } else {
    w.trustedField("activity_name", activity_name);
  }
  w.members(classMembers(cls));
  w.field("type_uid", static_cast<std::int64_t>(class_uid) * 100 + activity);
  w.key("type_name");
  w.trustedString({ocsfClassName(cls), ": ", activity_caption});
  w.members(severityMembers(severity));
  w.members(statusMembers(status));
  if (status == 2 && log.payload_is_object) {
    const std::string_view code = log.payload_fields.slotString(kPayloadErrorCode);
    const std::string_view detail = log.payload_fields.slotString(kPayloadErrorMessage);
    if (!code.empty()) {
      w.field("status_code", code);
      log.payload_fields.consumeSlot(kPayloadErrorCode);
    }
    if (!detail.empty()) {
      w.field("status_detail", detail);
      log.payload_fields.consumeSlot(kPayloadErrorMessage);
    }
  }
  w.field("time", log.time_ms);
  w.members(R"("timezone_offset":0)");
  writeMessage(w, log);

  w.key("metadata");
  w.beginObject();
  const std::size_t metadata_at = w.size();
  w.members(R"("version":"1.8.0","product":{"name":"OpenAI Audit Logs","vendor_name":"OpenAI"})");
  static_assert(kOcsfVersion == "1.8.0" && kProductName == "OpenAI Audit Logs" &&
                kVendorName == "OpenAI");
  if (!log.id.empty()) w.field("uid", log.id);
  if (!log.type.empty()) w.field("event_code", log.type);
  if (log.shape == Shape::kSeed) {
    w.members(R"("log_name":"organization_logs")");
  } else {
    w.members(R"("log_name":"audit_logs")");
  }
  if (!log.original_time.empty()) {
    w.field("original_time", log.original_time);
  } else if (log.time_ms > 0) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, log.time_ms / 1000);
    w.field("original_time", std::string_view(buf, static_cast<std::size_t>(res.ptr - buf)));
  }
  if (!log.organization_id.empty()) w.field("tenant_uid", log.organization_id);
  w.members(R"("profiles":["cloud"])");
  w.endObject();

  w.key("cloud");
  w.beginObject();
  w.members(R"("provider":"OpenAI")");
  static_assert(kCloudProvider == "OpenAI");
  if (!log.organization_id.empty()) {
    w.key("org");
    w.beginObject();
    w.field("uid", log.organization_id);
    w.endObject();
  }
  if (!log.project_id.empty() || !log.project_name.empty()) {
    w.key("account");
    w.beginObject();
    if (!log.project_id.empty()) {
      w.field("uid", log.project_id);
      log.project_fields.consumeSlot(kProjectId);
    }
    if (!log.project_name.empty()) {
      w.field("name", log.project_name);
      log.project_fields.consumeSlot(kProjectName);
    }
    w.members(R"("type_id":99,"type":"OpenAI Project")");
    w.endObject();
  }
  w.endObject();

  const UserRef actor_user = actorIdentity(log.actor);
  const bool wrote_actor = writeActor(w, log, actor_user, obs);
  if (target == Target::kApiRequest && !wrote_actor) {
    // API Activity requires an actor.
    w.key("actor");
    w.beginObject();
    w.field("app_name", kUnknownName);
    w.endObject();
  }
  writeSourceEndpoint(w, log, obs, target == Target::kApiRequest);
  writeHttpRequest(w, log, obs);

  const TrackedObject& p = log.payload_fields;
  const std::string_view payload_id = log.payload_is_object ? p.slotString(kPayloadId) : "";
  switch (target) {
    case Target::kLogin: {
      UserRef subject = actor_user;
      subject.key_id = {};
      if (!subject.identifiable()) subject = makeUser({}, {}, kUnknownName, kUserTypeUnknown);
      w.key("user");
      writeUser(w, subject);
      w.key("service");
      w.beginObject();
      w.trustedField("name", kServiceName);
      w.endObject();
      w.field("is_remote", true);
      obs.add("user.uid", kObsUserUid, subject.uid);
      if (subject.email_ok) obs.add("user.email_addr", kObsEmail, subject.email);
      break;
    }
    case Target::kEntity:
    case Target::kRoleAssignment:
      writeKnownEntity(w, log, rule);
      break;
    case Target::kTenantEntity:
    case Target::kUnknown:
      writeOpaqueEntity(w, log);
      break;
    case Target::kAccount:
    case Target::kMembership:
    case Target::kUserAccess: {
      const int type_id = rule.label == "Service" ? kUserTypeService : kUserTypeUser;
      // OpenAI payloads carry only the id; a seed-shape target may carry a name too.
      const std::string_view target_name = log.payload_is_object ? p.slotString(kPayloadName) : "";
      UserRef user = makeUser(payload_id, target_name, target_name, type_id);
      if (!payload_id.empty()) log.payload_fields.consumeSlot(kPayloadId);
      if (!target_name.empty()) log.payload_fields.consumeSlot(kPayloadName);
      if (!user.identifiable()) user.name = kUnknownName;
      if (cls == OcsfClass::kGroupManagement) {
        w.key("group");
        w.beginObject();
        if (!log.project_id.empty()) w.field("uid", log.project_id);
        if (!log.project_name.empty()) w.field("name", log.project_name);
        w.trustedField("type", kProjectType);
        w.endObject();
      }
      w.key("user");
      writeUser(w, user);
      obs.add("user.uid", kObsUserUid, user.uid);
      if (user.email_ok) obs.add("user.email_addr", kObsEmail, user.email);
      if (cls == OcsfClass::kUserAccess) {
        const std::string_view role = stringAtPath(p, "changes_requested.role|data.role");
        w.key("privileges");
        w.beginArray();
        if (!role.empty()) w.string(role);
        w.endArray();
        if (log.payload_is_object) consumeIfOnly(log.payload_fields, "changes_requested", {"role"});
        writeResourceScope(w, log);
      } else if (cls == OcsfClass::kGroupManagement) {
        const std::string_view role = stringAtPath(p, "data.role");
        if (!role.empty()) {
          w.key("privileges");
          w.beginArray();
          w.string(role);
          w.endArray();
          consumeIfOnly(log.payload_fields, "data", {"role"});
        }
      }
      break;
    }
    case Target::kGroup: {
      const std::string_view name = stringAtPath(p, rule.name_path);
      w.key("group");
      w.beginObject();
      if (!payload_id.empty()) {
        w.field("uid", payload_id);
        log.payload_fields.consumeSlot(kPayloadId);
      }
      if (!name.empty() || payload_id.empty()) w.field("name", name.empty() ? rule.label : name);
      w.trustedField("type", kGroupType);
      w.endObject();
      if (!name.empty() && log.payload_is_object) {
        consumeIfOnly(log.payload_fields, "data", {"group_name"});
      }
      break;
    }
    case Target::kTenantGroupMember: {
      const std::string_view group_id =
          log.payload_is_object ? stringAtPath(p, "group_id|id") : std::string_view{};
      w.key("group");
      w.beginObject();
      if (!group_id.empty()) {
        w.field("uid", group_id);
      } else {
        w.field("name", familyOf(familyOf(log.type)));
      }
      w.trustedField("type", kGroupType);
      w.endObject();
      const std::string_view member = log.payload_is_object
                                          ? stringAtPath(p, "user_id|principal_id|member_id")
                                          : std::string_view{};
      const std::string_view email = log.payload_is_object ? stringAt(p, "email") : "";
      if (!member.empty() || !email.empty()) {
        w.key("user");
        writeUser(w, makeUser(member, email, {}, kUserTypeUser));
      }
      break;
    }
    case Target::kTenantUser: {
      const std::string_view uid =
          log.payload_is_object ? stringAtPath(p, "user_id|id") : std::string_view{};
      const std::string_view email = log.payload_is_object ? stringAt(p, "email") : "";
      UserRef user = makeUser(uid, email, {}, kUserTypeUser);
      if (!user.identifiable()) user.name = kUnknownName;
      w.key("user");
      writeUser(w, user);
      break;
    }
    case Target::kApiRequest:
      writeApi(w, log);
      break;
  }

  if (obs.count > 0) {
    w.key("observables");
    w.beginArray();
    for (std::size_t i = 0; i < obs.count; ++i) {
      w.beginObject();
      const Observables::Item& item = obs.items[i];
      w.trustedField("name", std::string_view(item.name, item.name_size));
      w.field("type_id", item.type_id);
      w.field("value", std::string_view(item.value, item.value_size));
      w.endObject();
    }
    w.endArray();
  }

  if (log.shape == Shape::kUnparsed) {
    w.field("raw_data", log.raw);
    w.key("unmapped");
    w.beginObject();
    w.field("parse_error", log.parse_error);
    w.endObject();
  } else if (!log.root_fields.empty()) {
    w.key("unmapped");
    w.beginObject();
    w.key("openai");
    w.beginObject();
    log.root_fields.writeMembers(w);
    w.endObject();
    w.endObject();
  }
  w.endObject();
  return metadata_at;
}

}  // namespace

std::string encodeOcsf(AuditLog& log) {
  JsonWriter w(threadScratch(), JsonWriter::Scratch{});
  const std::size_t metadata_at = writeOcsf(log, w);
  const std::string_view text = w.view();
  if (!w.truncated()) return std::string(text);
  // Known only now; metadata always starts with "version", so a trailing comma is right.
  std::string flags = "\"is_truncated\":true,\"untruncated_size\":";
  flags += std::to_string(log.raw.size());
  flags += ',';
  std::string out;
  out.reserve(text.size() + flags.size());
  out.append(text.substr(0, metadata_at));
  out.append(flags);
  out.append(text.substr(metadata_at));
  return out;
}

}  // namespace siem
