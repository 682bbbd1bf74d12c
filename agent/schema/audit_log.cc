#include "agent/schema/audit_log.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "agent/schema/json_copy.h"

namespace siem {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// Per-thread parsing state: simdjson's parser and the padded copy it reads from. Kept per thread
// so that rendering never allocates in the steady state and never shares a parser.
struct ThreadParser {
  simdjson::dom::parser parser;
  std::string padded;
  std::string repaired;
};

ThreadParser& threadParser() {
  thread_local ThreadParser state;
  return state;
}

struct EmptyObject {
  simdjson::dom::parser parser;
  object value;
  EmptyObject() {
    static const simdjson::padded_string kText(std::string_view("{}"));
    element doc;
    if (!parser.parse(kText).get(doc)) value = doc.get_object().value_unsafe();
  }
};

// `readable` is how many bytes from text.data() may be read; with simdjson's padding among them
// (sources store raw text that way) the text is parsed in place, otherwise copied.
simdjson::error_code parseInto(ThreadParser& tp, std::string_view text, std::size_t readable,
                               element* out) {
  if (readable >= text.size() + simdjson::SIMDJSON_PADDING) {
    return tp.parser.parse(text.data(), text.size(), false).get(*out);
  }
  tp.padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  if (!text.empty()) std::memcpy(tp.padded.data(), text.data(), text.size());
  return tp.parser.parse(tp.padded.data(), text.size(), false).get(*out);
}

constexpr std::int64_t kMaxEpochSecs = 253402300799;  // 9999-12-31T23:59:59Z

std::int64_t secondsToMs(std::int64_t secs) {
  if (secs < 0) return 0;
  if (secs > kMaxEpochSecs) secs = kMaxEpochSecs;
  return secs * 1000;
}

std::optional<std::int64_t> integerOf(element value) {
  std::int64_t i;
  if (!value.get_int64().get(i)) return i;
  return std::nullopt;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
constexpr std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digitsAt(std::string_view s, std::size_t pos, std::size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TrackedObject

object emptyObject() {
  thread_local EmptyObject empty;
  return empty.value;
}

void TrackedObject::reset(object obj, std::span<const std::string_view> slots) {
  object_ = obj;
  valid_ = true;
  consumed_ = 0;
  attached_ = 0;
  child_count_ = 0;
  std::memset(slot_index_, -1, sizeof slot_index_);
  const std::size_t slot_count = std::min(slots.size(), kMaxSlots);
  std::size_t next = 0;  // OpenAI sends members in slot order: try the slot after the last hit
  std::size_t n = 0;
  for (simdjson::dom::key_value_pair member : obj) {
    if (n < kMaxIndexed) {
      members_[n].key = member.key.data();
      members_[n].key_size = member.key.size();
      std::memcpy(members_[n].value, &member.value, sizeof member.value);
      std::size_t i = next;
      for (std::size_t k = 0; k < slot_count; ++k, ++i) {
        if (i == slot_count) i = 0;
        // The first member of a name wins, as in a lookup.
        if (sameKey(member.key, slots[i]) && slot_index_[i] < 0) {
          slot_index_[i] = static_cast<std::int8_t>(n);
          next = i + 1;
          break;
        }
      }
    }
    ++n;
  }
  total_ = n;
  indexed_ = std::min(n, kMaxIndexed);
}

bool TrackedObject::slot(std::size_t i, element* out) const {
  if (!valid_ || slot_index_[i] < 0) return false;
  std::memcpy(out, members_[slot_index_[i]].value, sizeof *out);
  return true;
}

std::string_view TrackedObject::slotString(std::size_t i) const {
  element e;
  std::string_view s;
  if (!slot(i, &e) || e.get_string().get(s)) return {};
  return s;
}

bool TrackedObject::slotObject(std::size_t i, object* out) const {
  element e;
  return slot(i, &e) && !e.get_object().get(*out);
}

int TrackedObject::indexOf(std::string_view key) const {
  for (std::size_t i = 0; i < indexed_; ++i) {
    if (sameKey({members_[i].key, members_[i].key_size}, key)) return static_cast<int>(i);
  }
  return -1;
}

bool TrackedObject::find(std::string_view key, element* out) const {
  const int i = indexOf(key);
  if (i >= 0) {
    std::memcpy(out, members_[i].value, sizeof *out);
    return true;
  }
  return total_ > indexed_ && siem::elementAt(object_, key, out);
}

void TrackedObject::consume(std::string_view key) {
  const int i = indexOf(key);
  if (i >= 0) consumed_ |= std::uint32_t{1} << i;
}

void TrackedObject::attach(std::string_view key, const TrackedObject* child) {
  const int i = indexOf(key);
  if (i < 0 || child_count_ == kMaxChildren) return;  // not indexed: the member stays whole
  attached_ |= std::uint32_t{1} << i;
  child_index_[child_count_] = static_cast<std::uint8_t>(i);
  children_[child_count_++] = child;
}

const TrackedObject* TrackedObject::childAt(std::size_t index) const {
  for (std::size_t i = 0; i < child_count_; ++i) {
    if (child_index_[i] == index) return children_[i];
  }
  return nullptr;
}

bool TrackedObject::empty() const {
  if (!valid_) return true;
  if (total_ > indexed_) return false;
  const std::uint32_t all = (std::uint32_t{1} << indexed_) - 1;
  if (((consumed_ | attached_) & all) != all) return false;
  for (std::size_t i = 0; i < child_count_; ++i) {
    if ((consumed_ >> child_index_[i] & 1) == 0 && !children_[i]->empty()) return false;
  }
  return true;
}

void TrackedObject::writeMembers(JsonWriter& w) const {
  if (!valid_) return;
  std::size_t i = 0;
  for (simdjson::dom::key_value_pair member : object_) {
    const std::size_t index = i++;
    if (index < indexed_) {
      const std::uint32_t bit = std::uint32_t{1} << index;
      if (consumed_ & bit) continue;
      if (attached_ & bit) {
        const TrackedObject* child = childAt(index);
        if (child->empty()) continue;
        w.key(member.key);
        if (w.depth() >= JsonWriter::kMaxDepth) {
          w.string(simdjson::to_string(member.value));
          continue;
        }
        w.beginObject();
        child->writeMembers(w);
        w.endObject();
        continue;
      }
    }
    w.key(member.key);
    writeJsonValue(w, member.value);
  }
}

// ---------------------------------------------------------------------------------------------
// Accessors

bool elementAt(object obj, std::string_view key, element* out) {
  for (simdjson::dom::key_value_pair member : obj) {
    if (sameKey(member.key, key)) {
      *out = member.value;
      return true;
    }
  }
  return false;
}

std::string_view stringAt(object obj, std::string_view key) {
  element e;
  std::string_view s;
  if (!elementAt(obj, key, &e) || e.get_string().get(s)) return {};
  return s;
}

bool objectAt(object obj, std::string_view key, object* out) {
  element e;
  return elementAt(obj, key, &e) && !e.get_object().get(*out);
}

std::string_view stringAt(const TrackedObject& obj, std::string_view key) {
  element e;
  std::string_view s;
  if (!obj.find(key, &e) || e.get_string().get(s)) return {};
  return s;
}

bool objectAt(const TrackedObject& obj, std::string_view key, object* out) {
  element e;
  return obj.find(key, &e) && !e.get_object().get(*out);
}

bool elementAt(const TrackedObject& obj, std::string_view key, element* out) {
  return obj.find(key, out);
}

std::string_view stringAtPath(const TrackedObject& obj, std::string_view path,
                              std::string_view* matched) {
  // Paths whose alternatives are all plain member names use the index; others scan.
  if (path.find('.') == std::string_view::npos) {
    while (!path.empty()) {
      const auto bar = path.find('|');
      const std::string_view alt = path.substr(0, bar);
      path = bar == std::string_view::npos ? std::string_view{} : path.substr(bar + 1);
      const std::string_view s = stringAt(obj, alt);
      if (!s.empty()) {
        if (matched != nullptr) *matched = alt;
        return s;
      }
    }
    return {};
  }
  return obj.valid() ? stringAtPath(obj.dom(), path, matched) : std::string_view{};
}

std::string_view stringAtPath(object obj, std::string_view path, std::string_view* matched) {
  while (!path.empty()) {
    const auto bar = path.find('|');
    std::string_view alt = path.substr(0, bar);
    const std::string_view whole = alt;
    path = bar == std::string_view::npos ? std::string_view{} : path.substr(bar + 1);
    object cur = obj;
    bool found = true;
    for (;;) {
      const auto dot = alt.find('.');
      if (dot == std::string_view::npos) break;
      if (!objectAt(cur, alt.substr(0, dot), &cur)) {
        found = false;
        break;
      }
      alt = alt.substr(dot + 1);
    }
    if (!found) continue;
    const std::string_view s = stringAt(cur, alt);
    if (!s.empty()) {
      if (matched != nullptr) *matched = whole;
      return s;
    }
  }
  return {};
}

std::optional<double> numberLike(element value) {
  switch (value.type()) {
    case element_type::INT64:
      return static_cast<double>(value.get_int64().value_unsafe());
    case element_type::UINT64:
      return static_cast<double>(value.get_uint64().value_unsafe());
    case element_type::DOUBLE:
      return value.get_double().value_unsafe();
    case element_type::STRING: {
      std::string_view s = value.get_string().value_unsafe();
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
      while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
      if (!s.empty() && s.front() == '+') s.remove_prefix(1);
      double d = 0;
      const auto res = std::from_chars(s.data(), s.data() + s.size(), d);
      if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size() ||
          !std::isfinite(d)) {
        return std::nullopt;
      }
      return d;
    }
    default:
      return std::nullopt;
  }
}

std::optional<std::int64_t> asnLike(element value) {
  switch (value.type()) {
    case element_type::INT64: {
      const std::int64_t v = value.get_int64().value_unsafe();
      return v >= 0 ? std::optional<std::int64_t>(v) : std::nullopt;
    }
    case element_type::UINT64: {
      const std::uint64_t v = value.get_uint64().value_unsafe();
      if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return std::nullopt;
      }
      return static_cast<std::int64_t>(v);
    }
    case element_type::DOUBLE: {
      const double d = value.get_double().value_unsafe();
      if (d < 0 || d > 4294967295.0 || std::floor(d) != d) return std::nullopt;
      return static_cast<std::int64_t>(d);
    }
    case element_type::STRING: {
      std::string_view s = value.get_string().value_unsafe();
      if (s.size() > 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) {
        s.remove_prefix(2);
      }
      std::int64_t v = 0;
      const auto res = std::from_chars(s.data(), s.data() + s.size(), v);
      if (s.empty() || res.ec != std::errc() || res.ptr != s.data() + s.size() || v < 0) {
        return std::nullopt;
      }
      return v;
    }
    default:
      return std::nullopt;
  }
}

bool isIpAddress(std::string_view text) {
  constexpr std::size_t kMaxIpLen = 40;  // ip_t max_len
  if (text.empty() || text.size() > kMaxIpLen) return false;
  char buf[kMaxIpLen + 1];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  unsigned char addr[16];
  return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

bool isEmailAddress(std::string_view text) {
  const auto at = text.find('@');
  if (at == std::string_view::npos || at == 0) return false;
  auto localChar = [](unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    if (c >= '*' && c <= '/') return c != ')';  // the pattern's "+-/" range: + , - . /
    return std::strchr("!#$%&'=?^_`{|}~", c) != nullptr && c != '\0';
  };
  for (std::size_t i = 0; i < at; ++i) {
    if (!localChar(static_cast<unsigned char>(text[i]))) return false;
  }
  const std::string_view domain = text.substr(at + 1);
  const auto dot = domain.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 >= domain.size()) return false;
  for (const char ch : domain) {
    const auto c = static_cast<unsigned char>(ch);
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::int64_t> parseRfc3339Ms(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!digitsAt(s, 0, 4, &year) || s.size() < 19 || s[4] != '-' || !digitsAt(s, 5, 2, &month) ||
      s[7] != '-' || !digitsAt(s, 8, 2, &day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !digitsAt(s, 11, 2, &hour) || s[13] != ':' || !digitsAt(s, 14, 2, &minute) || s[16] != ':' ||
      !digitsAt(s, 17, 2, &second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  std::size_t pos = 19;
  std::int64_t millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int scale = 100;
    const std::size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      millis += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return std::nullopt;
  }
  std::int64_t offset_secs = 0;
  if (pos < s.size()) {
    if (s[pos] == 'Z' || s[pos] == 'z') {
      ++pos;
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh, om;
      if (!digitsAt(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
          !digitsAt(s, pos + 4, 2, &om)) {
        return std::nullopt;
      }
      offset_secs = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
      pos += 6;
    }
  }
  if (pos != s.size()) return std::nullopt;
  const std::int64_t days =
      daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_secs;
  if (secs < 0) return std::nullopt;
  return secs * 1000 + millis;
}

std::string_view formatRfc3339Ms(std::int64_t ms, std::array<char, 24>& out) {
  constexpr std::int64_t kMaxMs = kMaxEpochSecs * 1000 + 999;
  if (ms < 0) ms = 0;
  if (ms > kMaxMs) ms = kMaxMs;
  const std::int64_t secs = ms / 1000;
  const auto millis = static_cast<int>(ms % 1000);
  const std::int64_t z = secs / 86400 + 719468;
  const auto sod = static_cast<int>(secs % 86400);
  const std::int64_t era = z / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const auto y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
  auto put = [&](std::size_t pos, int value, int width) {
    for (int i = width - 1; i >= 0; --i) {
      out[pos + static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
      value /= 10;
    }
  };
  put(0, y, 4);
  out[4] = '-';
  put(5, static_cast<int>(m), 2);
  out[7] = '-';
  put(8, static_cast<int>(d), 2);
  out[10] = 'T';
  put(11, sod / 3600, 2);
  out[13] = ':';
  put(14, sod / 60 % 60, 2);
  out[16] = ':';
  put(17, sod % 60, 2);
  out[19] = '.';
  put(20, millis, 3);
  out[23] = 'Z';
  return {out.data(), out.size()};
}

// ---------------------------------------------------------------------------------------------
// AuditLog

std::string_view ActorView::label() const {
  if (!email.empty()) return email;
  if (!user_id.empty()) return user_id;
  if (!service_account_id.empty()) return service_account_id;
  if (!seed_name.empty()) return seed_name;
  return key_id;
}

namespace {

// Member names of the slots in audit_log.h, in enum order.
constexpr std::string_view kRootSlots[] = {"id",          "type",   "effective_at", "project",
                                           "actor",       "event",  "created_at",   "target",
                                           "api_request", "success"};
constexpr std::string_view kActorSlots[] = {"type", "session", "api_key",
                                            "id",   "name",    "ip_address"};
constexpr std::string_view kSessionSlots[] = {"user", "ip_address", "user_agent",
                                              "ja3",  "ja4",        "ip_address_details"};
constexpr std::string_view kUserSlots[] = {"id", "email"};
constexpr std::string_view kDetailsSlots[] = {"country", "city",     "region",   "region_code",
                                              "asn",     "latitude", "longitude"};
constexpr std::string_view kApiKeySlots[] = {"id", "type", "user", "service_account"};
constexpr std::string_view kProjectSlots[] = {"id", "name"};
constexpr std::string_view kPayloadSlots[] = {
    "id", "name", "data", "changes_requested", "error_code", "error_message"};
static_assert(std::size(kRootSlots) == kRootSuccess + 1);
static_assert(std::size(kActorSlots) == kActorIpAddress + 1);
static_assert(std::size(kSessionSlots) == kSessionDetails + 1);
static_assert(std::size(kDetailsSlots) == kDetailsLongitude + 1);
static_assert(std::size(kApiKeySlots) == kKeyServiceAccount + 1);
static_assert(std::size(kPayloadSlots) == kPayloadErrorMessage + 1);

}  // namespace

AuditLog::AuditLog(const Event& event) {
  raw = event.raw;
  id = event.id;
  type = event.type;
  if (event.effective_at > 0) time_ms = secondsToMs(event.effective_at);
  if (event.source != nullptr) organization_id = event.source->organization_id;
  root = emptyObject();
  payload_object = root;
  api_request = root;

  ThreadParser& tp = threadParser();
  element doc;
  simdjson::error_code err = parseInto(tp, raw, event.raw.capacity(), &doc);
  if (err == simdjson::UTF8_ERROR) {
    // Invalid bytes are never structural in JSON, so repairing them keeps the document's shape.
    tp.repaired = sanitizeUtf8(raw);
    err = parseInto(tp, tp.repaired, 0, &doc);
  }
  if (err || !doc.is_object()) {
    parse_error = err ? simdjson::error_message(err) : "the audit log is not a JSON object";
    root_fields.reset(root);
    shape = Shape::kUnparsed;
    return;
  }
  root = doc.get_object().value_unsafe();
  root_fields.reset(root, kRootSlots);
  const bool seed =
      root_fields.slotString(kRootType).empty() && !root_fields.slotString(kRootEvent).empty();
  if (seed) {
    shape = Shape::kSeed;
    loadSeed(event);
  } else {
    shape = Shape::kOpenAi;
    loadOpenAi(event);
  }
}

void AuditLog::loadProject() {
  object project;
  if (root_fields.slotObject(kRootProject, &project)) {
    project_fields.reset(project, kProjectSlots);
    project_id = project_fields.slotString(kProjectId);
    project_name = project_fields.slotString(kProjectName);
    root_fields.attach("project", &project_fields);
  }
}

void AuditLog::loadPayload(element value, std::string_view key) {
  payload = value;
  has_payload = true;
  if (payload.is_object()) {
    payload_is_object = true;
    payload_object = payload.get_object().value_unsafe();
    payload_fields.reset(payload_object, kPayloadSlots);
    root_fields.attach(key, &payload_fields);
  }
}

void AuditLog::loadOpenAi(const Event& event) {
  const std::string_view raw_id = root_fields.slotString(kRootId);
  if (event.id.empty()) id = raw_id;
  if (!raw_id.empty() && raw_id == id) root_fields.consumeSlot(kRootId);

  const std::string_view raw_type = root_fields.slotString(kRootType);
  if (event.type.empty()) type = raw_type;
  if (!raw_type.empty() && raw_type == type) root_fields.consumeSlot(kRootType);

  element when;
  if (root_fields.slot(kRootEffectiveAt, &when)) {
    if (const auto secs = integerOf(when); secs && *secs > 0) {
      if (time_ms == 0) time_ms = secondsToMs(*secs);
      if (secondsToMs(*secs) == time_ms) root_fields.consumeSlot(kRootEffectiveAt);
    }
  }

  loadProject();

  element actor_value;
  if (root_fields.slot(kRootActor, &actor_value)) {
    if (actor_value.is_null()) {
      root_fields.consumeSlot(kRootActor);
    } else if (actor_value.is_object()) {
      loadOpenAiActor(actor_value.get_object().value_unsafe());
      root_fields.attach("actor", &actor.actor);
    } else {
      actor.kind = ActorKind::kUnrecognized;
    }
  }

  element value;
  if (!type.empty() && root_fields.find(type, &value)) loadPayload(value, type);
}

void AuditLog::loadOpenAiActor(object obj) {
  actor.actor.reset(obj, kActorSlots);
  const std::string_view actor_type = actor.actor.slotString(kActorType);
  object session;
  object api_key;
  const bool has_session = actor.actor.slotObject(kActorSession, &session);
  const bool has_api_key = actor.actor.slotObject(kActorApiKey, &api_key);
  if (has_session && (actor_type != "api_key" || !has_api_key)) {
    actor.kind = ActorKind::kSession;
    actor.session.reset(session, kSessionSlots);
    actor.actor.attach("session", &actor.session);
    object user;
    if (actor.session.slotObject(kSessionUser, &user)) {
      actor.session_user.reset(user, kUserSlots);
      actor.session.attach("user", &actor.session_user);
      actor.user_id = actor.session_user.slotString(kUserId);
      actor.email = actor.session_user.slotString(kUserEmail);
    }
    actor.ip = actor.session.slotString(kSessionIpAddress);
    actor.user_agent = actor.session.slotString(kSessionUserAgent);
    actor.ja3 = actor.session.slotString(kSessionJa3);
    actor.ja4 = actor.session.slotString(kSessionJa4);
    object details;
    if (actor.session.slotObject(kSessionDetails, &details)) {
      actor.details.reset(details, kDetailsSlots);
      actor.session.attach("ip_address_details", &actor.details);
      actor.country = actor.details.slotString(kDetailsCountry);
      actor.city = actor.details.slotString(kDetailsCity);
      actor.region = actor.details.slotString(kDetailsRegion);
      actor.region_code = actor.details.slotString(kDetailsRegionCode);
      element v;
      if (actor.details.slot(kDetailsLatitude, &v)) actor.latitude = numberLike(v);
      if (actor.details.slot(kDetailsLongitude, &v)) actor.longitude = numberLike(v);
      if (actor.details.slot(kDetailsAsn, &v)) actor.asn = asnLike(v);
    }
    return;
  }
  if (has_api_key) {
    actor.kind = ActorKind::kApiKey;
    actor.api_key.reset(api_key, kApiKeySlots);
    actor.actor.attach("api_key", &actor.api_key);
    actor.key_id = actor.api_key.slotString(kKeyId);
    const std::string_view owner = actor.api_key.slotString(kKeyType);
    object user;
    object service_account;
    const bool has_user = actor.api_key.slotObject(kKeyUser, &user);
    const bool has_sa = actor.api_key.slotObject(kKeyServiceAccount, &service_account);
    if (has_user) {
      actor.key_user.reset(user, kUserSlots);
      actor.api_key.attach("user", &actor.key_user);
    }
    if (has_sa) {
      actor.key_service_account.reset(service_account, kUserSlots);
      actor.api_key.attach("service_account", &actor.key_service_account);
    }
    if (owner == "service_account" || (owner != "user" && has_sa && !has_user)) {
      actor.key_owner = KeyOwner::kServiceAccount;
      if (has_sa) actor.service_account_id = actor.key_service_account.slotString(kUserId);
    } else if (owner == "user" || has_user) {
      actor.key_owner = KeyOwner::kUser;
      if (has_user) {
        actor.user_id = actor.key_user.slotString(kUserId);
        actor.email = actor.key_user.slotString(kUserEmail);
      }
    }
    return;
  }
  actor.kind = ActorKind::kUnrecognized;
}

void AuditLog::loadSeed(const Event& event) {
  const std::string_view raw_id = root_fields.slotString(kRootId);
  if (event.id.empty()) id = raw_id;
  if (!raw_id.empty() && raw_id == id) root_fields.consumeSlot(kRootId);

  const std::string_view raw_type = root_fields.slotString(kRootEvent);
  if (event.type.empty()) type = raw_type;
  if (raw_type == type) root_fields.consumeSlot(kRootEvent);

  element when;
  if (root_fields.slot(kRootCreatedAt, &when)) {
    if (when.is_string()) {
      original_time = when.get_string().value_unsafe();
      if (const auto ms = parseRfc3339Ms(original_time); ms && time_ms == 0) time_ms = *ms;
      root_fields.consumeSlot(kRootCreatedAt);  // kept verbatim (OCSF metadata.original_time)
    } else if (const auto secs = integerOf(when); secs && *secs > 0) {
      if (time_ms == 0) time_ms = secondsToMs(*secs);
      if (secondsToMs(*secs) == time_ms) root_fields.consumeSlot(kRootCreatedAt);
    }
  }

  loadProject();

  element actor_value;
  if (root_fields.slot(kRootActor, &actor_value)) {
    if (actor_value.is_null()) {
      root_fields.consumeSlot(kRootActor);
    } else if (actor_value.is_object()) {
      actor.kind = ActorKind::kSeed;
      actor.actor.reset(actor_value.get_object().value_unsafe(), kActorSlots);
      root_fields.attach("actor", &actor.actor);
      actor.seed_type = actor.actor.slotString(kActorType);
      actor.seed_name = actor.actor.slotString(kActorName);
      actor.user_id = actor.actor.slotString(kActorId);
      // The seed shape carries no e-mail field; a name that is an address doubles as one.
      if (isEmailAddress(actor.seed_name)) actor.email = actor.seed_name;
      actor.ip = actor.actor.slotString(kActorIpAddress);
    } else {
      actor.kind = ActorKind::kUnrecognized;
    }
  }

  element value;
  if (root_fields.slot(kRootTarget, &value)) loadPayload(value, "target");

  if (root_fields.slotObject(kRootApiRequest, &api_request)) {
    has_api_request = true;
    api_request_fields.reset(api_request);
    root_fields.attach("api_request", &api_request_fields);
  }

  bool ok = false;
  if (root_fields.slot(kRootSuccess, &value) && !value.get_bool().get(ok)) {
    success = ok;
    root_fields.consumeSlot(kRootSuccess);
  }
}

}  // namespace siem
