#include "tests/fakes/openai_sim/generator.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <functional>
#include <unordered_map>

#include "tests/fakes/openai_sim/json_writer.h"

namespace siem::sim {

std::uint64_t mix64(std::uint64_t value) {
  value += 0x9E3779B97F4A7C15ULL;
  value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9ULL;
  value = (value ^ (value >> 27)) * 0x94D049BB133111EBULL;
  return value ^ (value >> 31);
}

std::uint64_t Rng::next() {
  state_ += 0x9E3779B97F4A7C15ULL;
  std::uint64_t z = state_;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t Rng::below(std::uint64_t bound) { return next() % bound; }

double Rng::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

namespace {

constexpr std::string_view kIdPrefix = "audit_log-";
constexpr std::string_view kHexDigits = "0123456789abcdef";
constexpr std::string_view kAlnum =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

std::uint64_t hashText(std::string_view text) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (char c : text) {
    h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  }
  return h;
}

// `length` characters of `alphabet` derived from `seed` (deterministic).
std::string token(std::uint64_t seed, std::size_t length, std::string_view alphabet = kAlnum) {
  std::string out;
  out.reserve(length);
  // Re-mixing the seed first keeps the streams of neighbouring seeds unrelated.
  std::uint64_t state = mix64(seed);
  while (out.size() < length) {
    std::uint64_t bits = mix64(state++);
    for (int i = 0; i < 8 && out.size() < length; ++i) {
      out.push_back(alphabet[(bits & 0xFF) % alphabet.size()]);
      bits >>= 8;
    }
  }
  return out;
}

template <typename T, std::size_t N>
const T& pick(Rng& rng, const std::array<T, N>& items) {
  return items[rng.below(N)];
}

struct City {
  std::string_view country, city, region, region_code, asn, latitude, longitude;
  std::string_view ip_prefix;  // documentation ranges only (RFC 5737)
};

constexpr std::array<City, 10> kCities = {{
    {"US", "San Francisco", "California", "CA", "13335", "37.77490", "-122.41940", "203.0.113."},
    {"US", "New York", "New York", "NY", "7922", "40.71280", "-74.00600", "198.51.100."},
    {"US", "Seattle", "Washington", "WA", "16509", "47.60620", "-122.33210", "192.0.2."},
    {"GB", "London", "England", "ENG", "2856", "51.50740", "-0.12780", "203.0.113."},
    {"DE", "Berlin", "Berlin", "BE", "3320", "52.52000", "13.40500", "198.51.100."},
    {"IE", "Dublin", "Leinster", "L", "5466", "53.34980", "-6.26030", "192.0.2."},
    {"IN", "Bengaluru", "Karnataka", "KA", "9498", "12.97160", "77.59460", "203.0.113."},
    {"JP", "Tokyo", "Tokyo", "13", "2516", "35.67620", "139.65030", "198.51.100."},
    {"BR", "Sao Paulo", "Sao Paulo", "SP", "28573", "-23.55050", "-46.63330", "192.0.2."},
    {"SG", "Singapore", "Singapore", "01", "4773", "1.35210", "103.81980", "203.0.113."},
}};

constexpr std::array<std::string_view, 6> kUserAgents = {
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
};

constexpr std::array<std::string_view, 20> kFirstNames = {
    "alice",   "bob",  "carol",  "dave",  "erin",   "frank", "grace", "heidi", "ivan",   "judy",
    "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "uma",   "victor", "wendy"};
constexpr std::array<std::string_view, 20> kLastNames = {
    "smith", "jones", "garcia", "miller", "davis", "lopez", "wilson", "moore", "taylor", "thomas",
    "lee",   "white", "harris", "martin", "clark", "lewis", "walker", "hall",  "young",  "king"};

constexpr std::array<std::string_view, 8> kServiceAccountNames = {
    "ci-deployer", "batch-runner", "eval-harness", "support-bot",
    "etl-sync",    "monitoring",   "data-labeler", "release-bot"};

constexpr std::array<std::string_view, 10> kProjectWords = {
    "Chat Assistant", "Support Triage", "Search",   "Batch Evals",    "Fraud Review",
    "Docs QA",        "Voice Agent",    "Research", "Internal Tools", "Translation"};

constexpr std::array<std::string_view, 6> kModels = {
    "gpt-4o", "gpt-4o-mini", "o3-mini", "gpt-4.1", "text-embedding-3-small", "whisper-1"};

constexpr std::array<std::string_view, 6> kScopes = {
    "api.model.request",          "api.model.read",     "api.files.write", "api.files.read",
    "api.fine_tuning.jobs.write", "api.assistants.read"};

struct UserEntry {
  std::string id;
  std::string email;
  std::size_t city = 0;
  std::size_t agent = 0;
  std::string home_ip;
};

struct NamedEntry {
  std::string id;
  std::string name;
};

}  // namespace

// Identities and resources that events refer to, derived from the seed. Pools are bounded so the
// same user, key or project shows up in many events, as in a real organization.
struct World {
  std::uint64_t seed = 0;
  std::string organization_id;
  std::vector<UserEntry> users;  // the first kAdminCount act; all can be targets
  std::vector<NamedEntry> service_accounts;
  std::vector<NamedEntry> projects;                      // [0] is the default project
  std::array<std::string, kUserAgents.size()> ja3, ja4;  // TLS fingerprints per user agent

  static constexpr std::size_t kUserCount = 200;
  static constexpr std::size_t kAdminCount = 40;
  static constexpr std::size_t kServiceAccountCount = 60;
  static constexpr std::size_t kProjectCount = 30;

  explicit World(std::uint64_t world_seed) : seed(world_seed) {
    organization_id = "org-" + token(salt("org"), 24);
    for (std::size_t i = 0; i < kUserCount; ++i) {
      UserEntry u;
      u.id = "user-" + token(salt("user") + i, 24);
      u.email = std::string(kFirstNames[i % kFirstNames.size()]) + "." +
                std::string(kLastNames[(7 * i + i / kFirstNames.size()) % kLastNames.size()]) +
                "@acme.example";
      u.city = mix64(salt("city") + i) % 4;  // most staff sit in a few offices
      u.agent = mix64(salt("agent") + i) % kUserAgents.size();
      u.home_ip =
          std::string(kCities[u.city].ip_prefix) + std::to_string(1 + mix64(salt(u.id)) % 254);
      users.push_back(std::move(u));
    }
    for (std::size_t i = 0; i < kServiceAccountCount; ++i) {
      service_accounts.push_back(
          {"svc_acct_" + token(salt("svc") + i, 24),
           std::string(kServiceAccountNames[i % kServiceAccountNames.size()]) + "-" +
               std::to_string(i)});
    }
    for (std::size_t a = 0; a < kUserAgents.size(); ++a) {
      ja3[a] = token(salt("ja3") + a, 32, kHexDigits);
      ja4[a] = "t13d" + std::to_string(1500 + a) + "h2_" + token(salt("ja4a") + a, 12, kHexDigits) +
               "_" + token(salt("ja4b") + a, 12, kHexDigits);
    }
    projects.push_back({"proj_" + token(salt("proj"), 24), "Default project"});
    for (std::size_t i = 1; i < kProjectCount; ++i) {
      projects.push_back(
          {"proj_" + token(salt("proj") + i, 24),
           std::string(kProjectWords[i % kProjectWords.size()]) + " " + std::to_string(i)});
    }
  }

  std::uint64_t salt(std::string_view what) const { return mix64(seed ^ hashText(what)); }

  // The k-th id of a resource family, e.g. poolId("key_", "api_key", 17, 16).
  std::string poolId(std::string_view prefix, std::string_view family, std::uint64_t k,
                     std::size_t length) const {
    return std::string(prefix) + token(salt(family) + k * 0x100000001ULL, length);
  }
};

void appendAuditLogId(std::string& out, std::uint64_t number) {
  char text[kIdPrefix.size() + 16];
  std::copy(kIdPrefix.begin(), kIdPrefix.end(), text);
  for (std::size_t i = 0; i < 16; ++i) {
    text[kIdPrefix.size() + i] = kHexDigits[(number >> (60 - 4 * i)) & 0xF];
  }
  out.append(text, sizeof(text));
}

std::string formatAuditLogId(std::uint64_t number) {
  std::string out;
  appendAuditLogId(out, number);
  return out;
}

std::optional<std::uint64_t> parseAuditLogId(std::string_view id) {
  if (!id.starts_with(kIdPrefix) || id.size() != kIdPrefix.size() + 16) return std::nullopt;
  std::uint64_t number = 0;
  for (char c : id.substr(kIdPrefix.size())) {
    const auto digit = kHexDigits.find(c);
    if (digit == std::string_view::npos) return std::nullopt;
    number = (number << 4) | digit;
  }
  return number;
}

namespace {

// Everything one event needs while it is being built.
struct Builder {
  Rng& rng;
  const World& world;
  std::string_view type;
  GeneratedEvent& event;
  std::string payload;  // the object under the dotted type key
  bool payload_present = true;
  std::optional<std::size_t> project;  // index into world.projects

  std::string_view family() const { return type.substr(0, type.rfind('.')); }
  std::string_view verb() const { return type.substr(type.rfind('.') + 1); }

  const UserEntry& admin() { return world.users[rng.below(World::kAdminCount)]; }
  const UserEntry& anyUser() { return world.users[rng.below(world.users.size())]; }
  std::size_t anyProject() {
    // A few busy projects account for most of the traffic.
    return rng.chance(0.6) ? rng.below(4) : rng.below(world.projects.size());
  }

  void setResource(std::string id, std::string name = {}) {
    event.resource_id = std::move(id);
    event.target_name = std::move(name);
  }
};

void appendStringArray(std::string& out, const std::vector<std::string_view>& items) {
  out.push_back('[');
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    appendJsonString(out, items[i]);
  }
  out.push_back(']');
}

std::vector<std::string_view> someScopes(Rng& rng) {
  std::vector<std::string_view> scopes;
  const std::size_t n = 1 + rng.below(3);
  const std::size_t start = rng.below(kScopes.size());
  for (std::size_t i = 0; i < n; ++i) scopes.push_back(kScopes[(start + i) % kScopes.size()]);
  return scopes;
}

std::string_view memberOrOwner(Rng& rng) { return rng.chance(0.8) ? "member" : "owner"; }

// ---- actor -------------------------------------------------------------------------------------

enum class ActorProfile : std::uint8_t { kSessionOnly, kMostlySession, kMachine, kSystem };

ActorProfile actorProfile(std::string_view type) {
  if (type.starts_with("login.") || type.starts_with("logout.")) return ActorProfile::kSessionOnly;
  if (type == "tenant.workload_identity.access_token.issued" ||
      type == "tenant.workload_identity.principal.provisioned" ||
      type == "tenant.service_account.token.revoked") {
    return ActorProfile::kMachine;
  }
  if (type == "tenant.migration.completed" || type.starts_with("tenant.migration_rollout.") ||
      type == "tenant.sso.migrated" || type == "tenant.domains.migrated" ||
      type == "tenant.principal_authentication_policy.resolved" ||
      type == "tenant.scim.directory.created" ||
      type == "tenant.usage_limit.increase_request.resolved" || type == "resource.deleted") {
    return ActorProfile::kSystem;
  }
  return ActorProfile::kMostlySession;
}

void renderSession(Builder& b, std::string& out, bool email_only) {
  const UserEntry& user = b.admin();
  GeneratedEvent& e = b.event;
  e.actor_kind = ActorKind::kSession;
  if (!email_only) e.user_id = user.id;
  e.user_email = user.email;
  e.actor_name = user.email;

  // Mostly the user's office; now and then somewhere else (what a SIEM rule looks for).
  const bool roaming = b.rng.chance(0.08);
  const City& city = roaming ? kCities[b.rng.below(kCities.size())] : kCities[user.city];
  const std::string ip =
      roaming ? std::string(city.ip_prefix) + std::to_string(1 + b.rng.below(254)) : user.home_ip;

  out += R"({"type":"session","session":{"user":{)";
  if (!email_only) {
    appendJsonKey(out, "id");
    appendJsonString(out, user.id);
    out.push_back(',');
  }
  appendJsonKey(out, "email");
  appendJsonString(out, user.email);
  out += R"(},"ip_address":)";
  appendJsonString(out, ip);
  // Older events carry only user + ip_address (the 2024 shape); newer ones the client details.
  if (b.rng.chance(0.9)) {
    const std::size_t agent = roaming ? b.rng.below(kUserAgents.size()) : user.agent;
    out += R"(,"user_agent":)";
    appendJsonString(out, kUserAgents[agent]);
    out += R"(,"ja3":)";
    appendJsonString(out, b.world.ja3[agent]);
    out += R"(,"ja4":)";
    appendJsonString(out, b.world.ja4[agent]);
    out += R"(,"ip_address_details":{"country":)";
    appendJsonString(out, city.country);
    out += R"(,"city":)";
    appendJsonString(out, city.city);
    out += R"(,"region":)";
    appendJsonString(out, city.region);
    out += R"(,"region_code":)";
    appendJsonString(out, city.region_code);
    out += R"(,"asn":)";
    appendJsonString(out, city.asn);
    out += R"(,"latitude":)";
    appendJsonString(out, city.latitude);
    out += R"(,"longitude":)";
    appendJsonString(out, city.longitude);
    out.push_back('}');
  }
  out += "}}";
}

void renderApiKeyActor(Builder& b, std::string& out, bool service_account) {
  GeneratedEvent& e = b.event;
  e.api_key_id = b.world.poolId("key_", "api_key", b.rng.below(3000), 16);
  out += R"({"type":"api_key","api_key":{"id":)";
  appendJsonString(out, e.api_key_id);
  if (service_account) {
    const NamedEntry& sa =
        b.world.service_accounts[mix64(hashText(e.api_key_id)) % b.world.service_accounts.size()];
    e.actor_kind = ActorKind::kServiceAccountApiKey;
    e.service_account_id = sa.id;
    e.actor_name = sa.name;
    out += R"(,"type":"service_account","service_account":{"id":)";
    appendJsonString(out, sa.id);
    out += "}}}";
  } else {
    const UserEntry& user = b.world.users[mix64(hashText(e.api_key_id)) % World::kAdminCount];
    e.actor_kind = ActorKind::kUserApiKey;
    e.user_id = user.id;
    e.user_email = user.email;
    e.actor_name = user.email;
    out += R"(,"type":"user","user":{"id":)";
    appendJsonString(out, user.id);
    out += R"(,"email":)";
    appendJsonString(out, user.email);
    out += "}}}";
  }
}

// Returns the rendered actor, or nothing when the `actor` key is absent.
std::optional<std::string> renderActor(Builder& b) {
  std::string out;
  const double roll = b.rng.unit();
  switch (actorProfile(b.type)) {
    case ActorProfile::kSessionOnly:
      renderSession(b, out, b.type == "login.failed" && roll < 0.2);
      return out;
    case ActorProfile::kMachine:
      if (roll < 0.7) {
        renderApiKeyActor(b, out, true);
        return out;
      }
      b.event.actor_kind = ActorKind::kNull;
      return std::string("null");
    case ActorProfile::kSystem:
      if (roll < 0.6) {
        b.event.actor_kind = ActorKind::kNull;
        return std::string("null");
      }
      renderSession(b, out, false);
      return out;
    case ActorProfile::kMostlySession:
      break;
  }
  if (roll < 0.75) {
    renderSession(b, out, false);
  } else if (roll < 0.87) {
    renderApiKeyActor(b, out, false);
  } else if (roll < 0.97) {
    renderApiKeyActor(b, out, true);
  } else if (roll < 0.99) {
    b.event.actor_kind = ActorKind::kNull;
    return std::string("null");
  } else {
    b.event.actor_kind = ActorKind::kAbsent;
    return std::nullopt;
  }
  return out;
}

// ---- payloads (field tables of the AuditLog schema)
// ----------------------------------------------

void idOnly(Builder& b, const std::string& id, std::string name = {}) {
  b.setResource(id, std::move(name));
  b.payload += R"({"id":)";
  appendJsonString(b.payload, id);
  b.payload.push_back('}');
}

void apiKeyPayload(Builder& b) {
  const std::string id = b.world.poolId("key_", "api_key", b.rng.below(3000), 16);
  b.setResource(id);
  b.project = b.anyProject();
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  if (b.verb() == "created") {
    p += R"(,"data":{"scopes":)";
    appendStringArray(p, someScopes(b.rng));
    p += "}";
  } else if (b.verb() == "updated") {
    // The spec's schema says changes_requested; its own example uses data. Emit both shapes.
    p += b.rng.chance(0.8) ? R"(,"changes_requested":{"scopes":)" : R"(,"data":{"scopes":)";
    appendStringArray(p, someScopes(b.rng));
    p += "}";
  }
  p += "}";
}

void certificatePayload(Builder& b) {
  const std::uint64_t k = b.rng.below(40);
  const std::string id = b.world.poolId("cert_", "certificate", k, 24);
  const std::string name = "mtls-client-" + std::to_string(k);
  b.setResource(id, name);
  if (b.rng.chance(0.5)) b.project = b.anyProject();
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  p += R"(,"name":)";
  appendJsonString(p, name);
  if (b.verb() == "deleted") {
    p += R"(,"certificate":)";
    appendJsonString(p, "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU" +
                            token(b.world.salt(id), 48) + "\n-----END CERTIFICATE-----\n");
  }
  p += "}";
}

void certificatesPayload(Builder& b) {
  std::string& p = b.payload;
  p += R"({"certificates":[)";
  const std::size_t n = 1 + b.rng.below(3);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = b.rng.below(40);
    if (i) p.push_back(',');
    p += R"({"id":)";
    appendJsonString(p, b.world.poolId("cert_", "certificate", k, 24));
    p += R"(,"name":)";
    appendJsonString(p, "mtls-client-" + std::to_string(k));
    p += "}";
  }
  p += "]}";
}

void checkpointPermissionPayload(Builder& b) {
  const std::string id = b.world.poolId("cp_", "checkpoint_permission", b.rng.below(300), 24);
  b.setResource(id);
  b.project = b.anyProject();
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  if (b.verb() == "created") {
    p += R"(,"data":{"project_id":)";
    appendJsonString(p, b.world.projects[b.anyProject()].id);
    p += R"(,"fine_tuned_model_checkpoint":)";
    appendJsonString(p, "ft:gpt-4o-mini-2024-07-18:acme::" + token(b.rng.next(), 8) +
                            ":ckpt-step-" + std::to_string(100 * (1 + b.rng.below(20))));
    p += "}";
  }
  p += "}";
}

void externalKeyPayload(Builder& b) {
  const std::string id = b.world.poolId("ekm_", "external_key", b.rng.below(10), 20);
  b.setResource(id);
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  if (b.verb() == "registered") {
    p += R"(,"data":{"provider":"aws_kms","key_arn":)";
    appendJsonString(p, "arn:aws:kms:us-east-1:111122223333:key/" + token(b.rng.next(), 12));
    p += "}";
  }
  p += "}";
}

void groupPayload(Builder& b) {
  const std::uint64_t k = b.rng.below(80);
  const std::string id = b.world.poolId("group_", "group", k, 24);
  const std::string name = "team-" + std::to_string(k);
  b.setResource(id, name);
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  if (b.verb() == "created") {
    p += R"(,"data":{"group_name":)";
    appendJsonString(p, name);
    p += "}";
  } else if (b.verb() == "updated") {
    p += R"(,"changes_requested":{"group_name":)";
    appendJsonString(p, name + "-renamed");
    p += "}";
  }
  p += "}";
}

void invitePayload(Builder& b) {
  const std::string id = b.world.poolId("invite-", "invite", b.rng.below(2000), 24);
  b.setResource(id);
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  if (b.verb() == "sent") {
    p += R"(,"data":{"email":)";
    appendJsonString(p, b.anyUser().email);
    p += R"(,"role":)";
    appendJsonString(p, memberOrOwner(b.rng));
    p += "}";
  }
  p += "}";
}

void ipAllowlistPayload(Builder& b) {
  const std::uint64_t k = b.rng.below(12);
  const std::string id = b.world.poolId("ipal_", "ip_allowlist", k, 20);
  const std::string name = "office-egress-" + std::to_string(k);
  b.setResource(id, name);
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  if (b.verb() != "updated") {
    p += R"(,"name":)";
    appendJsonString(p, name);
  }
  p += R"(,"allowed_ips":["203.0.113.0/24","198.51.100.)" + std::to_string(b.rng.below(255)) +
       R"("]})";
}

void ipAllowlistConfigPayload(Builder& b) {
  std::string& p = b.payload;
  p += R"({"configs":[)";
  const std::size_t n = 1 + b.rng.below(2);
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint64_t k = b.rng.below(12);
    if (i) p.push_back(',');
    p += R"({"id":)";
    appendJsonString(p, b.world.poolId("ipal_", "ip_allowlist", k, 20));
    p += R"(,"name":)";
    appendJsonString(p, "office-egress-" + std::to_string(k));
    p += "}";
  }
  p += "]}";
}

void loginPayload(Builder& b) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kLoginErrors = {{
      {"invalid_credentials", "Incorrect email address or password."},
      {"mfa_failed", "Invalid multi-factor authentication code."},
      {"account_locked", "Too many failed login attempts. Try again later."},
      {"sso_required", "Your organization requires single sign-on."},
      {"user_not_found", "No account found for this email address."},
  }};
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 2> kLogoutErrors = {{
      {"session_not_found", "The session has already expired."},
      {"internal_error", "Logout could not be completed."},
  }};
  // The target of a sign-in is the user signing in.
  b.setResource({}, b.event.user_email);
  if (b.verb() == "succeeded") {
    b.payload += "{}";
    return;
  }
  const auto& error =
      b.type.starts_with("login.") ? pick(b.rng, kLoginErrors) : pick(b.rng, kLogoutErrors);
  b.payload += R"({"error_code":)";
  appendJsonString(b.payload, error.first);
  b.payload += R"(,"error_message":)";
  appendJsonString(b.payload, error.second);
  b.payload += "}";
}

void organizationPayload(Builder& b) {
  b.setResource(b.world.organization_id, "Acme");
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, b.world.organization_id);
  p += R"(,"changes_requested":{)";
  const double roll = b.rng.unit();
  if (roll < 0.2) {
    // Pre-2026 shape: the two visibility settings nested under `settings`.
    p += R"("settings":{"threads_ui_visibility":"OWNERS","usage_dashboard_visibility":"ANY_ROLE"})";
  } else if (roll < 0.45) {
    p += R"("title":"Acme Corp","description":"Acme production organization")";
  } else if (roll < 0.6) {
    p += R"("name":"acme-prod")";
  } else if (roll < 0.8) {
    p += R"("threads_ui_visibility":"NONE","usage_dashboard_visibility":"OWNERS")";
  } else {
    p += R"("api_call_logging":"enabled_for_selected_projects","api_call_logging_project_ids":)";
    appendJsonString(p, b.world.projects[1].id + "," + b.world.projects[2].id);
  }
  p += "}}";
}

void projectPayload(Builder& b) {
  const std::size_t index = b.anyProject();
  const NamedEntry& project = b.world.projects[index];
  b.setResource(project.id, project.name);
  b.project = index;
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, project.id);
  if (b.verb() == "created") {
    p += R"(,"data":{"name":)";
    appendJsonString(p, project.name);
    p += R"(,"title":)";
    appendJsonString(p, project.name);
    p += "}";
  } else if (b.verb() == "updated") {
    p += R"(,"changes_requested":{"title":)";
    appendJsonString(p, project.name + " (renamed)");
    p += "}";
  }
  p += "}";
}

void rateLimitPayload(Builder& b) {
  const std::string id = "rl-" + std::string(pick(b.rng, kModels));
  b.setResource(id);
  b.project = b.anyProject();
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  if (b.verb() == "updated") {
    p += R"(,"changes_requested":{"max_requests_per_1_minute":)";
    appendJsonInt(p, static_cast<std::int64_t>(500 * (1 + b.rng.below(20))));
    p += R"(,"max_tokens_per_1_minute":)";
    appendJsonInt(p, static_cast<std::int64_t>(10000 * (1 + b.rng.below(100))));
    if (b.rng.chance(0.3)) {
      p += R"(,"max_requests_per_1_day":)";
      appendJsonInt(p, static_cast<std::int64_t>(10000 * (1 + b.rng.below(50))));
    }
    if (b.rng.chance(0.2)) {
      p += R"(,"batch_1_day_max_input_tokens":)";
      appendJsonInt(p, static_cast<std::int64_t>(1000000 * (1 + b.rng.below(20))));
    }
    p += "}";
  }
  p += "}";
}

void workloadIdentityProviderPayload(Builder& b) {
  const std::uint64_t k = b.rng.below(8);
  const std::string id = b.world.poolId("wip_", "wip", k, 20);
  const std::string name = "github-actions-" + std::to_string(k);
  b.setResource(id, name);
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  if (b.verb() == "created") {
    p += R"(,"data":{"name":)";
    appendJsonString(p, name);
    p += R"(,"issuer":"https://token.actions.githubusercontent.com","audience":"openai"})";
  } else if (b.verb() == "updated") {
    p += R"(,"changes_requested":{"audience":"openai-prod"})";
  } else {
    p += R"(,"name":)";
    appendJsonString(p, name);
  }
  p += "}";
}

void workloadIdentityMappingPayload(Builder& b) {
  const std::string id = b.world.poolId("wipm_", "wipm", b.rng.below(40), 20);
  const std::string provider = b.world.poolId("wip_", "wip", b.rng.below(8), 20);
  b.setResource(id);
  b.project = b.anyProject();
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  p += R"(,"identity_provider_id":)";
  appendJsonString(p, provider);
  if (b.verb() == "created") {
    p += R"(,"data":{"subject":"repo:acme/app:ref:refs/heads/main"})";
  } else if (b.verb() == "updated") {
    p += R"(,"changes_requested":{"subject":"repo:acme/app:environment:prod"})";
  } else {
    p += R"(,"project_id":)";
    appendJsonString(p, b.world.projects[*b.project].id);
    p += R"(,"service_account_id":)";
    appendJsonString(p, b.world.service_accounts[b.rng.below(World::kServiceAccountCount)].id);
  }
  p += "}";
}

void rolePayload(Builder& b) {
  const std::uint64_t k = b.rng.below(50);
  const std::string id = b.world.poolId("role_", "role", k, 24);
  const std::string name = "custom-role-" + std::to_string(k);
  b.setResource(id, name);
  const bool project_role = b.rng.chance(0.5);
  const std::string resource =
      project_role ? b.world.projects[b.anyProject()].id : b.world.organization_id;
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  if (b.verb() == "created") {
    p += R"(,"role_name":)";
    appendJsonString(p, name);
    p += R"(,"permissions":["api.model.request","api.files.read"],"resource_type":)";
    appendJsonString(p, project_role ? "api.project" : "api.organization");
    p += R"(,"resource_id":)";
    appendJsonString(p, resource);
  } else if (b.verb() == "updated") {
    p += R"(,"changes_requested":{"role_name":)";
    appendJsonString(p, name);
    p += R"(,"resource_id":)";
    appendJsonString(p, resource);
    p += R"(,"resource_type":)";
    appendJsonString(p, project_role ? "api.project" : "api.organization");
    p += R"(,"permissions_added":["api.files.write"],"permissions_removed":[],)"
         R"("description":"Edits files","metadata":{"ticket":"SEC-)" +
         std::to_string(100 + b.rng.below(900)) + R"("}})";
  }
  p += "}";
}

void roleAssignmentPayload(Builder& b) {
  const std::string id = b.world.poolId("ra_", "role_assignment", b.rng.below(500), 24);
  b.setResource(id);
  const bool to_group = b.rng.chance(0.3);
  const bool on_project = b.rng.chance(0.4);
  if (on_project) b.project = b.anyProject();
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  p += R"(,"principal_id":)";
  appendJsonString(
      p, to_group ? b.world.poolId("group_", "group", b.rng.below(80), 24) : b.anyUser().id);
  p += R"(,"principal_type":)";
  appendJsonString(p, to_group ? "group" : "user");
  p += R"(,"resource_id":)";
  appendJsonString(p, on_project ? b.world.projects[*b.project].id : b.world.organization_id);
  p += R"(,"resource_type":)";
  appendJsonString(p, on_project ? "api.project" : "api.organization");
  p += "}";
}

void roleBindingPayload(Builder& b) {
  static constexpr std::array<std::string_view, 5> kSources = {
      "role_toggle", "role_connector_update", "role_delete", "workspace_permissions",
      "connector_publish"};
  static constexpr std::array<std::string_view, 4> kConnectors = {"Google Drive", "GitHub",
                                                                  "SharePoint", "Slack"};
  const std::uint64_t w = b.rng.below(3);
  const std::uint64_t c = b.rng.below(kConnectors.size());
  const std::string workspace = token(b.world.salt("workspace") + w, 8, kHexDigits) + "-" +
                                token(b.world.salt("workspace2") + w, 4, kHexDigits) + "-4" +
                                token(b.world.salt("workspace3") + w, 3, kHexDigits) + "-a" +
                                token(b.world.salt("workspace4") + w, 3, kHexDigits) + "-" +
                                token(b.world.salt("workspace5") + w, 12, kHexDigits);
  const std::string connector = "connector_" + token(b.world.salt("connector") + c, 32, kHexDigits);
  const std::string id = workspace + "__" + connector;
  b.setResource(id, std::string(kConnectors[c]));
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  p += R"(,"role_id":)";
  appendJsonString(p, b.world.poolId("role_", "role", b.rng.below(50), 24));
  p += R"(,"resource_id":)";
  appendJsonString(p, id);
  p += R"(,"resource_type":"chatgpt.workspace_connector","permissions":)";
  appendStringArray(p, b.verb() == "bound_to_resource"
                           ? std::vector<std::string_view>{"connector.read", "connector.write"}
                           : std::vector<std::string_view>{"connector.read"});
  p += R"(,"workspace_id":)";
  appendJsonString(p, workspace);
  p += R"(,"connector_id":)";
  appendJsonString(p, connector);
  p += R"(,"connector_name":)";
  appendJsonString(p, kConnectors[c]);
  p += R"(,"enabled":)";
  p += b.rng.chance(0.7) ? "true" : "false";
  p += R"(,"source":)";
  appendJsonString(p, pick(b.rng, kSources));
  p += "}";
}

void serviceAccountPayload(Builder& b) {
  const NamedEntry& sa = b.world.service_accounts[b.rng.below(World::kServiceAccountCount)];
  b.setResource(sa.id, sa.name);
  b.project = b.anyProject();
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, sa.id);
  if (b.verb() == "created") {
    p += R"(,"data":{"role":)";
    appendJsonString(p, memberOrOwner(b.rng));
    p += "}";
  } else if (b.verb() == "updated") {
    p += R"(,"changes_requested":{"role":)";
    appendJsonString(p, memberOrOwner(b.rng));
    p += "}";
  }
  p += "}";
}

void userPayload(Builder& b) {
  const UserEntry& user = b.anyUser();
  b.setResource(user.id, user.email);
  if (b.rng.chance(0.5)) b.project = b.anyProject();
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, user.id);
  if (b.verb() == "added") {
    p += R"(,"data":{"role":)";
    appendJsonString(p, memberOrOwner(b.rng));
    p += "}";
  } else if (b.verb() == "updated") {
    p += R"(,"changes_requested":{"role":)";
    appendJsonString(p, memberOrOwner(b.rng));
    p += "}";
  }
  p += "}";
}

// Types without a declared payload (tunnel.*, resource.deleted, every tenant.* and unknown
// types): the API promises nothing, so emit a plausible object, sometimes empty or absent.
void undeclaredPayload(Builder& b) {
  const double roll = b.rng.unit();
  if (roll < 0.08) {
    b.payload_present = false;
    return;
  }
  if (roll < 0.16) {
    b.payload += "{}";
    return;
  }
  const std::string_view fam = b.family();
  const std::string_view noun = fam.substr(fam.rfind('.') + 1);
  std::string id;
  std::string name;
  if (noun == "user" || noun == "member") {
    const UserEntry& user = b.anyUser();
    id = user.id;
    name = user.email;
  } else if (noun == "service_account") {
    const NamedEntry& sa = b.world.service_accounts[b.rng.below(World::kServiceAccountCount)];
    id = sa.id;
    name = sa.name;
  } else if (noun == "group") {
    const std::uint64_t k = b.rng.below(80);
    id = b.world.poolId("group_", "group", k, 24);
    name = "team-" + std::to_string(k);
  } else if (noun == "admin_api_key" || noun == "project_api_key") {
    id = b.world.poolId("key_", "api_key", b.rng.below(3000), 16);
  } else if (noun == "tenant" || fam == "tenant.metadata") {
    id = b.world.organization_id;
  } else {
    id = b.world.poolId(std::string(noun) + "_", fam, b.rng.below(200), 20);
  }
  b.setResource(id, name);
  std::string& p = b.payload;
  p += R"({"id":)";
  appendJsonString(p, id);
  const std::string_view v = b.verb();
  if (v == "created" || v == "added" || v == "upserted" || v == "invited" || v == "provisioned" ||
      v == "issued" || v == "opened" || v == "teleported" || v == "charged") {
    p += R"(,"data":{"name":)";
    appendJsonString(p, name.empty() ? std::string(noun) + "-" + id.substr(id.size() - 4) : name);
    p += R"(,"attributes":{"priority":)";
    appendJsonInt(p, static_cast<std::int64_t>(b.rng.below(5)));
    p += R"(,"ratio":0.)" + std::to_string(b.rng.below(100)) + "}}";
  } else if (v == "updated" || v == "resolved") {
    p += R"(,"changes_requested":{"status":)";
    appendJsonString(p, b.rng.chance(0.5) ? "active" : "pending");
    p += R"(,"limit_usd":)";
    appendJsonInt(p, static_cast<std::int64_t>(100 * (1 + b.rng.below(50))));
    p += "}";
  }
  p += "}";
}

void renderPayload(Builder& b) {
  const std::string_view fam = b.family();
  if (fam == "api_key") return apiKeyPayload(b);
  if (fam == "certificate") return certificatePayload(b);
  if (fam == "certificates") return certificatesPayload(b);
  if (fam == "checkpoint.permission" || fam == "checkpoint_permission") {
    return checkpointPermissionPayload(b);
  }
  if (fam == "external_key") return externalKeyPayload(b);
  if (fam == "group") return groupPayload(b);
  if (fam == "invite") return invitePayload(b);
  if (fam == "ip_allowlist") return ipAllowlistPayload(b);
  if (fam == "ip_allowlist.config") return ipAllowlistConfigPayload(b);
  if (fam == "login" || fam == "logout") return loginPayload(b);
  if (fam == "organization") return organizationPayload(b);
  if (fam == "project") return projectPayload(b);
  if (fam == "rate_limit") return rateLimitPayload(b);
  if (fam == "workload_identity_provider") return workloadIdentityProviderPayload(b);
  if (fam == "workload_identity_provider_mapping") return workloadIdentityMappingPayload(b);
  if (fam == "role") {
    if (b.verb() == "bound_to_resource" || b.verb() == "unbound_from_resource") {
      return roleBindingPayload(b);
    }
    return rolePayload(b);
  }
  if (fam == "role.assignment") return roleAssignmentPayload(b);
  if (fam == "scim") return idOnly(b, b.world.organization_id, "Acme");
  if (fam == "service_account") return serviceAccountPayload(b);
  if (fam == "user") return userPayload(b);
  return undeclaredPayload(b);
}

}  // namespace

EventGenerator::EventGenerator(std::uint64_t seed, const Catalog& catalog, double unknown_fraction)
    : catalog_(catalog),
      unknown_fraction_(unknown_fraction),
      rng_(mix64(seed ^ 0x5EEDULL)),
      id_salt_(mix64(seed ^ 0x1D5ULL)),
      world_(std::make_unique<World>(seed)) {
  double total = 0;
  for (TypeIndex index : catalog_.knownTypes()) {
    total += catalog_.at(index).weight;
    cumulative_weights_.push_back(total);
  }
}

EventGenerator::~EventGenerator() = default;

TypeIndex EventGenerator::drawType() {
  const auto& unknown = catalog_.unknownTypes();
  if (!unknown.empty() && unknown_fraction_ > 0 && rng_.chance(unknown_fraction_)) {
    return unknown[rng_.below(unknown.size())];
  }
  const double x = rng_.unit() * cumulative_weights_.back();
  auto it = std::upper_bound(cumulative_weights_.begin(), cumulative_weights_.end(), x);
  const auto pos = std::min<std::size_t>(static_cast<std::size_t>(it - cumulative_weights_.begin()),
                                         cumulative_weights_.size() - 1);
  return catalog_.knownTypes()[pos];
}

GeneratedEvent EventGenerator::generate(std::int64_t effective_at, std::optional<TypeIndex> type) {
  GeneratedEvent event;
  event.effective_at = effective_at;
  event.id_number = mix64(id_salt_ + id_counter_++);
  event.type = type ? *type : drawType();
  const std::string_view type_name = catalog_.at(event.type).name;

  Builder b{rng_, *world_, type_name, event, {}, true, std::nullopt};
  const std::optional<std::string> actor = renderActor(b);
  renderPayload(b);
  // Admin-key actions are attributed to the default project (per the spec's `project` note).
  if (!b.project &&
      (event.actor_kind == ActorKind::kUserApiKey ||
       event.actor_kind == ActorKind::kServiceAccountApiKey) &&
      !catalog_.at(event.type).tenant_scoped) {
    b.project = 0;
  }

  std::string& out = event.json;
  out.reserve(256 + b.payload.size() + (actor ? actor->size() : 0));
  out += R"({"id":)";
  appendJsonString(out, formatAuditLogId(event.id_number));
  out += R"(,"type":)";
  appendJsonString(out, type_name);
  out += R"(,"effective_at":)";
  appendJsonInt(out, effective_at);
  if (b.project) {
    const NamedEntry& project = world_->projects[*b.project];
    event.project_id = project.id;
    out += R"(,"project":{"id":)";
    appendJsonString(out, project.id);
    out += R"(,"name":)";
    appendJsonString(out, project.name);
    out += "}";
  }
  if (actor) {
    out += R"(,"actor":)";
    out += *actor;
  }
  if (b.payload_present) {
    out.push_back(',');
    appendJsonKey(out, type_name);
    out += b.payload;
  }
  out += "}";
  return event;
}

void EventGenerator::backlog(std::size_t count, std::int64_t end_time, std::int64_t span_secs,
                             const std::function<void(std::vector<GeneratedEvent>&&)>& sink) {
  // Seconds first: people and scripts act in clusters, so many events share one second; rarely a
  // bulk operation (SCIM sync, key rotation script) writes hundreds in the same second.
  std::vector<std::int64_t> seconds;
  seconds.reserve(count);
  const std::uint64_t width = static_cast<std::uint64_t>(std::max<std::int64_t>(span_secs, 0)) + 1;
  while (seconds.size() < count) {
    const std::int64_t second = end_time - static_cast<std::int64_t>(rng_.below(width));
    std::size_t burst = 1;
    if (rng_.chance(0.03)) {
      burst = 20 + rng_.below(231);
    } else {
      while (rng_.chance(0.5)) ++burst;
    }
    for (std::size_t i = 0; i < burst && seconds.size() < count; ++i) seconds.push_back(second);
  }
  std::sort(seconds.begin(), seconds.end());

  // Every type at least once, at random places in the backlog.
  std::unordered_map<std::size_t, TypeIndex> forced;
  if (count >= kEveryTypeThreshold) {
    std::vector<TypeIndex> types = catalog_.knownTypes();
    if (unknown_fraction_ > 0) {
      types.insert(types.end(), catalog_.unknownTypes().begin(), catalog_.unknownTypes().end());
    }
    for (TypeIndex type : types) {
      std::size_t at = rng_.below(count);
      while (forced.contains(at)) at = rng_.below(count);
      forced.emplace(at, type);
    }
  }

  constexpr std::size_t kChunk = 16384;
  std::vector<GeneratedEvent> chunk;
  chunk.reserve(std::min(count, kChunk));
  for (std::size_t n = 0; n < count; ++n) {
    const auto it = forced.find(n);
    chunk.push_back(generate(
        seconds[n], it == forced.end() ? std::nullopt : std::optional<TypeIndex>(it->second)));
    if (chunk.size() == kChunk || n + 1 == count) {
      sink(std::move(chunk));
      chunk.clear();
      chunk.reserve(std::min(count - n - 1, kChunk));
    }
  }
}

}  // namespace siem::sim
