// A parsed, normalized view of one audit log, shared by the OCSF and ECS encoders.
//
// Both shapes are recognised: OpenAI's real AuditLog (`id`, `type`, `effective_at`, `project`,
// `actor{type, session|api_key}`, payload under the key named by the type) and the seed-document
// shape (`event`, `actor{type,id,name}`, `target{type,id,name}`, `created_at`, `api_request`,
// `success`). Every member may be missing or of an unexpected type; accessors then return empty
// values. Input that is not a JSON object (or not JSON) yields Shape::kUnparsed; the encoders still
// render a valid event from the Event's own fields and keep the raw text.
//
// Threading: parses with the calling thread's own simdjson parser; the view (and every
// string_view it hands out) stays valid until the next AuditLog is built on the same thread.
#pragma once

#include <simdjson.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>

#include "agent/api/event.h"
#include "agent/schema/json_writer.h"

namespace siem {

// One input object, indexed for lookups, that records which of its members have been mapped to a
// schema attribute, so that everything else can be copied to `unmapped` (OCSF) or `openai.audit`
// (ECS). The leftovers of an object are its members that were neither consumed nor have a child
// with leftovers of its own. A member is consumed only when its value was copied without loss.
// An unset TrackedObject behaves as an empty object.
class TrackedObject {
 public:
  TrackedObject() = default;
  // Indexes `object` (one pass over its members). `slots` names up to kMaxSlots members that
  // the caller reads often: they are then found by position (slot i = slots[i]) in O(1).
  void reset(simdjson::dom::object object, std::span<const std::string_view> slots = {});
  // The member in slot `i`, if the object has it.
  bool slot(std::size_t i, simdjson::dom::element* out) const;
  std::string_view slotString(std::size_t i) const;
  bool slotObject(std::size_t i, simdjson::dom::object* out) const;
  // Marks the member in slot `i` as mapped.
  void consumeSlot(std::size_t i) {
    if (valid_ && slot_index_[i] >= 0) consumed_ |= std::uint32_t{1} << slot_index_[i];
  }
  bool valid() const { return valid_; }
  simdjson::dom::object dom() const { return object_; }
  // The first member named `key` (what a JSON lookup returns).
  bool find(std::string_view key, simdjson::dom::element* out) const;
  // Marks the first member named `key` as mapped.
  void consume(std::string_view key);
  // The leftovers of member `key` are those of `child` (the member must be an object).
  void attach(std::string_view key, const TrackedObject* child);
  bool empty() const;
  // Writes the leftover members (`"key":value,...`) into the object currently open in `w`.
  void writeMembers(JsonWriter& w) const;

 private:
  // The first kMaxIndexed members are indexed and can be consumed; members past them are looked
  // up by scanning and always kept.
  static constexpr std::size_t kMaxIndexed = 24;
  static constexpr std::size_t kMaxChildren = 6;

 public:
  static constexpr std::size_t kMaxSlots = 12;

 private:
  int indexOf(std::string_view key) const;
  const TrackedObject* childAt(std::size_t index) const;

  // A member, stored as plain bytes so that the array needs no construction.
  struct Member {
    const char* key;
    std::size_t key_size;
    alignas(simdjson::dom::element) unsigned char value[sizeof(simdjson::dom::element)];
  };
  static_assert(std::is_trivially_copyable_v<simdjson::dom::element>);

  simdjson::dom::object object_{};
  bool valid_ = false;
  std::size_t total_ = 0;       // members in the object
  std::size_t indexed_ = 0;     // min(total_, kMaxIndexed)
  std::uint32_t consumed_ = 0;  // bit i: member i was mapped
  std::uint32_t attached_ = 0;  // bit i: member i has a child tracker
  std::size_t child_count_ = 0;
  // Left uninitialized on purpose (an AuditLog holds a dozen trackers and is built per event);
  // only the first indexed_ / child_count_ entries are read.
  Member members_[kMaxIndexed];
  std::int8_t slot_index_[kMaxSlots];  // member index of each slot, -1 if absent
  std::uint8_t child_index_[kMaxChildren];
  const TrackedObject* children_[kMaxChildren];
};

// Slots of the objects the loader indexes (see TrackedObject::reset); the member names are in
// audit_log.cc, in this order.
enum RootSlot : std::uint8_t {
  kRootId,
  kRootType,
  kRootEffectiveAt,
  kRootProject,
  kRootActor,
  kRootEvent,
  kRootCreatedAt,
  kRootTarget,
  kRootApiRequest,
  kRootSuccess,
};
enum ActorSlot : std::uint8_t {
  kActorType,
  kActorSession,
  kActorApiKey,
  kActorId,
  kActorName,
  kActorIpAddress,
};
enum SessionSlot : std::uint8_t {
  kSessionUser,
  kSessionIpAddress,
  kSessionUserAgent,
  kSessionJa3,
  kSessionJa4,
  kSessionDetails,
};
enum UserSlot : std::uint8_t { kUserId, kUserEmail };
enum DetailsSlot : std::uint8_t {
  kDetailsCountry,
  kDetailsCity,
  kDetailsRegion,
  kDetailsRegionCode,
  kDetailsAsn,
  kDetailsLatitude,
  kDetailsLongitude,
};
enum ApiKeySlot : std::uint8_t { kKeyId, kKeyType, kKeyUser, kKeyServiceAccount };
enum ProjectSlot : std::uint8_t { kProjectId, kProjectName };
enum PayloadSlot : std::uint8_t {
  kPayloadId,
  kPayloadName,
  kPayloadData,
  kPayloadChanges,
  kPayloadErrorCode,
  kPayloadErrorMessage,
};

enum class Shape : std::uint8_t { kOpenAi, kSeed, kUnparsed };

enum class ActorKind : std::uint8_t {
  kNone,          // null or absent
  kSession,       // actor.session (browser session)
  kApiKey,        // actor.api_key
  kSeed,          // seed shape: actor{type,id,name}
  kUnrecognized,  // an actor of another form; kept whole in unmapped
};

enum class KeyOwner : std::uint8_t { kUnknown, kUser, kServiceAccount };

struct ActorView {
  ActorKind kind = ActorKind::kNone;
  KeyOwner key_owner = KeyOwner::kUnknown;  // kApiKey only
  std::string_view user_id;                 // session user, API-key user, or seed actor id
  std::string_view email;
  std::string_view service_account_id;
  std::string_view key_id;
  std::string_view seed_type;  // seed shape: actor.type
  std::string_view seed_name;  // seed shape: actor.name
  std::string_view ip;
  std::string_view user_agent;
  std::string_view ja3;
  std::string_view ja4;
  // actor.session.ip_address_details
  std::string_view country;
  std::string_view city;
  std::string_view region;       // region name ("California")
  std::string_view region_code;  // "CA"
  std::optional<double> latitude;
  std::optional<double> longitude;
  std::optional<std::int64_t> asn;

  // Leftover tracking for actor, actor.session, actor.session.user,
  // actor.session.ip_address_details, actor.api_key, actor.api_key.user and
  // actor.api_key.service_account.
  TrackedObject actor;
  TrackedObject session;
  TrackedObject session_user;
  TrackedObject details;
  TrackedObject api_key;
  TrackedObject key_user;
  TrackedObject key_service_account;

  // The most specific human-readable label of the actor (email, user id, ...), or empty.
  std::string_view label() const;
};

class AuditLog {
 public:
  explicit AuditLog(const Event& event);
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  Shape shape = Shape::kUnparsed;
  std::string_view parse_error;  // kUnparsed only
  std::string_view raw;          // the original text

  std::string_view id;
  std::string_view type;
  std::int64_t time_ms = 0;          // 0 when unknown
  std::string_view original_time;    // seed shape: created_at as sent, when a string
  std::string_view organization_id;  // from the source; may be empty

  simdjson::dom::object root{};
  TrackedObject root_fields;

  ActorView actor;

  std::string_view project_id;
  std::string_view project_name;
  TrackedObject project_fields;

  // The type-specific payload: OpenAI shape: root[type]; seed shape: root.target.
  bool has_payload = false;
  simdjson::dom::element payload{};
  bool payload_is_object = false;
  simdjson::dom::object payload_object{};
  TrackedObject payload_fields;

  // Seed shape only.
  bool has_api_request = false;
  simdjson::dom::object api_request{};
  TrackedObject api_request_fields;
  std::optional<bool> success;

 private:
  void loadOpenAi(const Event& event);
  void loadSeed(const Event& event);
  void loadOpenAiActor(simdjson::dom::object actor);
  void loadProject();
  void loadPayload(simdjson::dom::element value, std::string_view key);
};

// An empty JSON object owned by the calling thread (stands in for absent objects, so that every
// object member of AuditLog can be read without checks).
simdjson::dom::object emptyObject();

// --- Small accessors over simdjson DOM values; all return empty on absence or type mismatch. ---

// Equality of two member names (inline; names are short, so they are compared a word at a time
// with overlapping loads that stay inside both names).
inline bool sameKey(std::string_view a, std::string_view b) {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8) {
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      std::uint64_t x, y;
      std::memcpy(&x, p + i, 8);
      std::memcpy(&y, q + i, 8);
      if (x != y) return false;
    }
    std::uint64_t x, y;
    std::memcpy(&x, p + n - 8, 8);
    std::memcpy(&y, q + n - 8, 8);
    return x == y;
  }
  if (n >= 4) {
    std::uint32_t x0, y0, x1, y1;
    std::memcpy(&x0, p, 4);
    std::memcpy(&y0, q, 4);
    std::memcpy(&x1, p + n - 4, 4);
    std::memcpy(&y1, q + n - 4, 4);
    return x0 == y0 && x1 == y1;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != q[i]) return false;
  }
  return true;
}

std::string_view stringAt(simdjson::dom::object object, std::string_view key);
bool objectAt(simdjson::dom::object object, std::string_view key, simdjson::dom::object* out);
bool elementAt(simdjson::dom::object object, std::string_view key, simdjson::dom::element* out);
// The same lookups on an indexed object.
std::string_view stringAt(const TrackedObject& object, std::string_view key);
bool objectAt(const TrackedObject& object, std::string_view key, simdjson::dom::object* out);
bool elementAt(const TrackedObject& object, std::string_view key, simdjson::dom::element* out);
std::string_view stringAtPath(const TrackedObject& object, std::string_view path,
                              std::string_view* matched = nullptr);
// `path` is one or more dotted paths separated by '|' ("data.name|data.title"); returns the first
// non-empty string found.
// `matched`, if given, receives the path alternative that matched.
std::string_view stringAtPath(simdjson::dom::object object, std::string_view path,
                              std::string_view* matched = nullptr);
// A number, or a string holding one ("37.77490").
std::optional<double> numberLike(simdjson::dom::element value);
// An AS number: an integer, or a string "1234" / "AS1234".
std::optional<std::int64_t> asnLike(simdjson::dom::element value);

// True for text OCSF accepts as ip_t (an IPv4 or IPv6 address, at most 40 bytes).
bool isIpAddress(std::string_view text);
// True for text matching OCSF's email_t pattern (local@label.rest).
bool isEmailAddress(std::string_view text);
// Parses an RFC 3339 timestamp ("2024-07-12T17:08:10.123Z", "...+02:00") to epoch milliseconds.
std::optional<std::int64_t> parseRfc3339Ms(std::string_view text);
// Formats epoch milliseconds as "YYYY-MM-DDTHH:MM:SS.mmmZ" (24 bytes) into `out`; clamps to
// years 0000..9999.
std::string_view formatRfc3339Ms(std::int64_t ms, std::array<char, 24>& out);

}  // namespace siem
