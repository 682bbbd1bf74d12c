#include "agent/sources/openai/page_parser.h"

#include <fmt/format.h>

#include <cstdint>

namespace siem {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;

// Reads `v` into `out` when it is a string; a different type is tolerated (returns SUCCESS, `out`
// untouched) because only the top-level required fields are strict.
error_code optionalString(od::value v, std::string& out) {
  std::string_view s;
  error_code err = v.get_string().get(s);
  if (err == simdjson::SUCCESS) {
    out.assign(s);
    return err;
  }
  return err == simdjson::INCORRECT_TYPE ? simdjson::SUCCESS : err;
}

// Iterates `v` as an object when it is one; other types are tolerated.
template <typename OnField>
error_code forEachField(od::value v, OnField&& on_field) {
  od::object obj;
  error_code err = v.get_object().get(obj);
  if (err == simdjson::INCORRECT_TYPE) return simdjson::SUCCESS;
  if (err) return err;
  for (auto field_result : obj) {
    od::field field;
    if ((err = std::move(field_result).get(field))) return err;
    std::string_view key;
    if ((err = field.unescaped_key().get(key))) return err;
    if ((err = on_field(key, field.value()))) return err;
  }
  return simdjson::SUCCESS;
}

// Same for a string kept as a view: it points into the parser's string buffer, valid until the
// parser reads the next document.
error_code optionalString(od::value v, std::string_view& out) {
  std::string_view s;
  error_code err = v.get_string().get(s);
  if (err == simdjson::SUCCESS) {
    out = s;
    return err;
  }
  return err == simdjson::INCORRECT_TYPE ? simdjson::SUCCESS : err;
}

// Views, not copies: an actor carries several ids of which one or two are kept.
struct UserFields {
  std::string_view id;
  std::string_view email;
};

error_code readUser(od::value v, UserFields& user) {
  return forEachField(v, [&](std::string_view key, od::value value) {
    if (key == "id") return optionalString(value, user.id);
    if (key == "email") return optionalString(value, user.email);
    return simdjson::SUCCESS;
  });
}

// actor: {type, session{user{id,email}}, api_key{id, type, user{id,email}, service_account{id}}}
// or the seed's {type, id, name}.
error_code readActor(od::value v, Event& event) {
  UserFields session_user;
  UserFields key_user;
  std::string_view service_account_id;
  std::string_view key_id;
  std::string_view seed_id;
  std::string_view seed_name;
  std::string_view seed_email;
  error_code err = forEachField(v, [&](std::string_view key, od::value value) {
    if (key == "type") return optionalString(value, event.actor_type);
    if (key == "session") {
      return forEachField(value, [&](std::string_view k, od::value val) {
        return k == "user" ? readUser(val, session_user) : simdjson::SUCCESS;
      });
    }
    if (key == "api_key") {
      return forEachField(value, [&](std::string_view k, od::value val) {
        if (k == "id") return optionalString(val, key_id);
        if (k == "user") return readUser(val, key_user);
        if (k == "service_account") {
          return forEachField(val, [&](std::string_view sk, od::value sv) {
            return sk == "id" ? optionalString(sv, service_account_id) : simdjson::SUCCESS;
          });
        }
        return simdjson::SUCCESS;
      });
    }
    if (key == "id") return optionalString(value, seed_id);
    if (key == "name") return optionalString(value, seed_name);
    if (key == "email") return optionalString(value, seed_email);
    return simdjson::SUCCESS;
  });
  if (err) return err;
  if (!session_user.id.empty() || !session_user.email.empty()) {
    event.actor_id.assign(session_user.id);
    event.actor_email.assign(session_user.email);
  } else if (!key_user.id.empty() || !key_user.email.empty()) {
    event.actor_id.assign(key_user.id);
    event.actor_email.assign(key_user.email);
  } else if (!service_account_id.empty()) {
    event.actor_id.assign(service_account_id);
  } else if (!key_id.empty()) {
    event.actor_id.assign(key_id);
  } else {
    event.actor_id.assign(seed_id);
    // The seed's `name` is an email for users; anything else is a display name, not an email.
    event.actor_email.assign(!seed_email.empty()                             ? seed_email
                             : seed_name.find('@') != std::string_view::npos ? seed_name
                                                                             : std::string_view());
  }
  return simdjson::SUCCESS;
}

std::string describe(std::size_t index, const Event& event) {
  if (event.id.empty()) return fmt::format("data[{}]", index);
  return fmt::format("data[{}] (id {})", index, event.id);
}

std::string jsonError(error_code err) {
  return fmt::format("page is not valid JSON: {}", simdjson::error_message(err));
}

// Fills `event` from one audit-log object (everything but `raw`). Error messages name the element.
Result<void> readElement(od::value element, std::size_t index, Event& event) {
  od::object obj;
  error_code err = element.get_object().get(obj);
  if (err == simdjson::INCORRECT_TYPE) return fail(fmt::format("data[{}] is not an object", index));
  if (err) return fail(jsonError(err));

  bool has_id = false;
  bool has_type = false;  // from `type`; the seed's `event` is used only when `type` is absent
  bool has_time = false;  // from `effective_at`; the seed's `created_at` likewise
  // Views into the parser's string buffer (see optionalString).
  std::string_view seed_event;
  std::optional<std::int64_t> seed_time;
  std::optional<bool> success;
  std::string_view project_id;
  std::string_view seed_project_id;

  auto wrong = [&](std::string_view what) {
    return fail(fmt::format("{}: {}", describe(index, event), what));
  };

  for (auto field_result : obj) {
    od::field field;
    if ((err = std::move(field_result).get(field))) return fail(jsonError(err));
    std::string_view key;
    if ((err = field.unescaped_key().get(key))) return fail(jsonError(err));
    od::value value = field.value();
    if (key == "id") {
      std::string_view s;
      if ((err = value.get_string().get(s))) {
        if (err != simdjson::INCORRECT_TYPE && err != simdjson::STRING_ERROR) {
          return fail(jsonError(err));
        }
        return wrong("`id` is not a string");
      }
      event.id.assign(s);
      has_id = true;
    } else if (key == "type" || key == "event") {
      std::string_view s;
      if ((err = value.get_string().get(s))) {
        if (err != simdjson::INCORRECT_TYPE && err != simdjson::STRING_ERROR) {
          return fail(jsonError(err));
        }
        return wrong(fmt::format("`{}` is not a string", key));
      }
      if (key == "type") {
        event.type.assign(s);
        has_type = true;
      } else {
        seed_event = s;
      }
    } else if (key == "effective_at" || key == "created_at") {
      std::int64_t t = 0;
      if ((err = value.get_int64().get(t))) {
        if (err != simdjson::INCORRECT_TYPE && err != simdjson::NUMBER_ERROR &&
            err != simdjson::NUMBER_OUT_OF_RANGE) {
          return fail(jsonError(err));
        }
        return wrong(fmt::format("`{}` is not an integer (unix seconds)", key));
      }
      if (key == "effective_at") {
        event.effective_at = t;
        has_time = true;
      } else {
        seed_time = t;
      }
    } else if (key == "actor") {
      if ((err = readActor(value, event))) return fail(jsonError(err));
    } else if (key == "project") {
      err = forEachField(value, [&](std::string_view k, od::value v) {
        return k == "id" ? optionalString(v, project_id) : simdjson::SUCCESS;
      });
      if (err) return fail(jsonError(err));
    } else if (key == "project_id") {
      if ((err = optionalString(value, seed_project_id))) return fail(jsonError(err));
    } else if (key == "success") {
      bool b = false;
      err = value.get_bool().get(b);
      if (err == simdjson::SUCCESS) {
        success = b;
      } else if (err != simdjson::INCORRECT_TYPE) {
        return fail(jsonError(err));
      }
    }
  }

  if (!has_type && !seed_event.empty()) {
    event.type.assign(seed_event);
    has_type = true;
  }
  if (!has_time && seed_time) {
    event.effective_at = *seed_time;
    has_time = true;
  }
  if (!has_id) return wrong("`id` is missing");
  if (event.id.empty()) return wrong("`id` is empty");
  if (!has_type) return wrong("`type` is missing");
  if (!has_time) return wrong("`effective_at` is missing");
  event.project_id.assign(!project_id.empty() ? project_id : seed_project_id);
  event.outcome = outcomeOf(event.type, success);
  return {};
}

std::string_view trimJsonSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Stores an event's original text with simdjson's padding zeroed behind it, so the renderer can
// parse the event in place instead of copying it into a padded buffer first.
void assignPadded(std::string& dst, std::string_view src) {
  dst.reserve(src.size() + simdjson::SIMDJSON_PADDING);
  dst.assign(src);
  dst.resize(src.size() + simdjson::SIMDJSON_PADDING);
  dst.resize(src.size());
}

Result<void> readPageBody(od::document& doc, AuditLogPage& page) {
  od::object top;
  error_code err = doc.get_object().get(top);
  if (err == simdjson::INCORRECT_TYPE) return fail("page is not a JSON object");
  if (err) return fail(jsonError(err));

  bool saw_data = false;
  bool saw_has_more = false;
  for (auto field_result : top) {
    od::field field;
    if ((err = std::move(field_result).get(field))) return fail(jsonError(err));
    std::string_view key;
    if ((err = field.unescaped_key().get(key))) return fail(jsonError(err));
    od::value value = field.value();
    if (key == "data") {
      od::array data;
      err = value.get_array().get(data);
      if (err == simdjson::INCORRECT_TYPE) return fail("`data` is not an array");
      if (err) return fail(jsonError(err));
      saw_data = true;
      std::size_t index = 0;
      for (auto element_result : data) {
        od::value element;
        if ((err = std::move(element_result).get(element))) return fail(jsonError(err));
        const char* start = element.raw_json_token().data();
        Event event;
        if (auto ok = readElement(element, index, event); !ok) return tl::unexpected(ok.error());
        // After the element, the iterator stands on the next `,` or `]`.
        const char* end = nullptr;
        if ((err = doc.current_location().get(end))) return fail(jsonError(err));
        assignPadded(event.raw,
                     trimJsonSpace(std::string_view(start, static_cast<std::size_t>(end - start))));
        page.events.push_back(std::move(event));
        ++index;
      }
    } else if (key == "has_more") {
      err = value.get_bool().get(page.has_more);
      if (err == simdjson::INCORRECT_TYPE) return fail("`has_more` is not a boolean");
      if (err) return fail(jsonError(err));
      saw_has_more = true;
    } else if (key == "first_id" || key == "last_id") {
      auto& target = key == "first_id" ? page.first_id : page.last_id;
      od::json_type type;
      if ((err = value.type().get(type))) return fail(jsonError(err));
      if (type == od::json_type::null) {
        target.reset();
        continue;
      }
      std::string_view s;
      err = value.get_string().get(s);
      if (err == simdjson::INCORRECT_TYPE) {
        return fail(fmt::format("`{}` is not a string or null", key));
      }
      if (err) return fail(jsonError(err));
      target.emplace(s);
    }
  }
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) {
    return fail("page has content after the top-level object");
  }
  if (!saw_data) return fail("`data` is missing");
  if (!saw_has_more) return fail("`has_more` is missing");
  return {};
}

}  // namespace

Outcome outcomeOf(std::string_view type, std::optional<bool> success) {
  if (success) return *success ? Outcome::kSuccess : Outcome::kFailure;
  constexpr std::string_view kFailed = ".failed";
  if (type.size() >= kFailed.size() && type.substr(type.size() - kFailed.size()) == kFailed) {
    return Outcome::kFailure;
  }
  return Outcome::kSuccess;
}

std::size_t repairUtf8(std::string& bytes) {
  std::string out;
  std::size_t replaced = 0;
  std::size_t copied_upto = 0;
  const auto* s = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::size_t i = 0;
  auto cont = [&](std::size_t at, unsigned char lo = 0x80, unsigned char hi = 0xBF) {
    return at < n && s[at] >= lo && s[at] <= hi;
  };
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    // The valid length of the sequence starting at i, or the length of its longest valid prefix
    // (at least 1) when it is broken: that prefix becomes one U+FFFD.
    std::size_t len = 0;
    bool valid = false;
    if (c >= 0xC2 && c <= 0xDF) {
      valid = cont(i + 1);
      len = valid ? 2 : 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
      unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;
      unsigned char hi = c == 0xED ? 0x9F : 0xBF;
      if (!cont(i + 1, lo, hi)) {
        len = 1;
      } else if (!cont(i + 2)) {
        len = 2;
      } else {
        len = 3;
        valid = true;
      }
    } else if (c >= 0xF0 && c <= 0xF4) {
      unsigned char lo = c == 0xF0 ? 0x90 : 0x80;
      unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;
      if (!cont(i + 1, lo, hi)) {
        len = 1;
      } else if (!cont(i + 2)) {
        len = 2;
      } else if (!cont(i + 3)) {
        len = 3;
      } else {
        len = 4;
        valid = true;
      }
    } else {
      len = 1;
    }
    if (!valid) {
      out.append(bytes, copied_upto, i - copied_upto);
      out.append("\xEF\xBF\xBD");
      copied_upto = i + len;
      ++replaced;
    }
    i += len;
  }
  if (replaced > 0) {
    out.append(bytes, copied_upto, n - copied_upto);
    bytes = std::move(out);
  }
  return replaced;
}

Result<AuditLogPage> parseAuditLogPage(simdjson::padded_string_view body,
                                       simdjson::ondemand::parser& parser) {
  od::document doc;
  error_code err = parser.iterate(body).get(doc);
  if (err == simdjson::UTF8_ERROR) {
    std::string repaired(std::string_view(body.data(), body.length()));
    repairUtf8(repaired);
    simdjson::padded_string padded(repaired);
    auto page = parseAuditLogPage(simdjson::padded_string_view(padded), parser);
    if (page) page->utf8_repaired = true;
    return page;
  }
  if (err) return fail(jsonError(err));
  AuditLogPage page;
  page.events.reserve(100);
  if (auto ok = readPageBody(doc, page); !ok) return tl::unexpected(ok.error());
  return page;
}

Result<AuditLogPage> parseAuditLogPage(std::string_view body, simdjson::ondemand::parser& parser) {
  simdjson::padded_string padded(body);
  return parseAuditLogPage(simdjson::padded_string_view(padded), parser);
}

Result<Event> parseAuditLogObject(std::string_view json, simdjson::ondemand::parser& parser) {
  std::string copy(json);
  repairUtf8(copy);
  std::string_view trimmed = trimJsonSpace(copy);
  simdjson::padded_string padded(trimmed);
  od::document doc;
  error_code err = parser.iterate(padded).get(doc);
  if (err) return fail(fmt::format("not valid JSON: {}", simdjson::error_message(err)));
  od::value root;
  if ((err = doc.get_value().get(root))) {
    return fail(fmt::format("not valid JSON: {}", simdjson::error_message(err)));
  }
  Event event;
  if (auto ok = readElement(root, 0, event); !ok) {
    // Drop the "data[0]" prefix meant for pages.
    std::string message = ok.error().message;
    constexpr std::string_view kPrefix = "data[0]";
    if (message.rfind(kPrefix, 0) == 0) message = "object" + message.substr(kPrefix.size());
    return fail(std::move(message));
  }
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) {
    return fail("content after the object");
  }
  assignPadded(event.raw, trimmed);
  return event;
}

}  // namespace siem
