#include "tests/unit/schema/ocsf_validator.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <regex>

#include "tests/unit/schema/ocsf_rules.h"

namespace siem {
namespace {

using ocsf_rules::Attribute;
using ocsf_rules::ClassRule;
using ocsf_rules::ObjectRule;
using ocsf_rules::Requirement;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

struct EnumMember {
  std::int64_t id;
  std::string_view caption;
};

std::vector<EnumMember> parseEnum(std::string_view members) {
  std::vector<EnumMember> out;
  while (!members.empty()) {
    const auto semi = members.find(';');
    const std::string_view item = members.substr(0, semi);
    members = semi == std::string_view::npos ? std::string_view{} : members.substr(semi + 1);
    const auto eq = item.find('=');
    std::int64_t id = 0;
    std::from_chars(item.data(), item.data() + eq, id);
    out.push_back({id, item.substr(eq + 1)});
  }
  return out;
}

const EnumMember* findMember(const std::vector<EnumMember>& members, std::int64_t id) {
  for (const auto& m : members) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

std::vector<std::int64_t> observableTypeIds() {
  std::vector<std::int64_t> ids;
  std::string_view s = ocsf_rules::kObservableTypeIds;
  while (!s.empty()) {
    const auto sp = s.find(' ');
    std::int64_t v = 0;
    std::from_chars(s.data(), s.data() + (sp == std::string_view::npos ? s.size() : sp), v);
    ids.push_back(v);
    s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
  }
  return ids;
}

const ObjectRule* findObjectRule(std::string_view name) {
  for (const auto& r : ocsf_rules::ocsfObjectRules()) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const Attribute* findAttribute(const std::vector<Attribute>& attrs, std::string_view name) {
  for (const auto& a : attrs) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

bool isIntegerType(std::string_view t) {
  return t == "integer_t" || t == "long_t" || t == "timestamp_t" || t == "port_t";
}

bool isPrimitive(std::string_view t) { return t.size() > 2 && t.ends_with("_t"); }

class Validator {
 public:
  std::vector<std::string> run(std::string_view json) {
    simdjson::dom::parser parser;
    element doc;
    if (auto err = parser.parse(json.data(), json.size()).get(doc)) {
      fail("", std::string("not valid JSON: ") + simdjson::error_message(err));
      return errors_;
    }
    object root;
    if (doc.get_object().get(root)) {
      fail("", "not a JSON object");
      return errors_;
    }
    std::int64_t class_uid = 0;
    if (root["class_uid"].get_int64().get(class_uid)) {
      fail("class_uid", "missing or not an integer");
      return errors_;
    }
    const ClassRule* rule = nullptr;
    for (const auto& r : ocsf_rules::ocsfClassRules()) {
      if (r.uid == class_uid) rule = &r;
    }
    if (rule == nullptr) {
      fail("class_uid", "unknown class " + std::to_string(class_uid));
      return errors_;
    }
    simdjson::dom::array profiles;
    if (!root["metadata"]["profiles"].get_array().get(profiles)) {
      for (element p : profiles) {
        std::string_view name;
        if (!p.get_string().get(name)) profiles_.push_back(name);
      }
    }
    checkMembers(root, rule->attributes, rule->at_least_one, rule->just_one, "", true);
    checkClassification(root, *rule);
    checkObservables(root);
    return errors_;
  }

 private:
  void fail(const std::string& path, const std::string& message) {
    errors_.push_back((path.empty() ? std::string("<event>") : path) + ": " + message);
  }

  bool profileActive(std::string_view profile) const {
    return profile.empty() ||
           std::find(profiles_.begin(), profiles_.end(), profile) != profiles_.end();
  }

  void checkMembers(object obj, const std::vector<Attribute>& attrs,
                    const std::vector<std::string_view>& at_least_one,
                    const std::vector<std::string_view>& just_one, const std::string& path,
                    bool is_event) {
    for (simdjson::dom::key_value_pair m : obj) {
      const std::string child = path.empty() ? std::string(m.key) : path + "." + std::string(m.key);
      if (is_event && m.key == "unmapped") {
        if (!m.value.is_object()) fail(child, "unmapped must be an object");
        continue;
      }
      const Attribute* attr = findAttribute(attrs, m.key);
      if (attr == nullptr) {
        fail(child, "attribute not defined here");
        continue;
      }
      if (!profileActive(attr->profile)) {
        fail(child, "needs profile '" + std::string(attr->profile) + "' in metadata.profiles");
      }
      if (attr->is_array) {
        simdjson::dom::array items;
        if (m.value.get_array().get(items)) {
          fail(child, "must be an array");
          continue;
        }
        std::size_t i = 0;
        for (element item : items) {
          checkValue(*attr, item, child + "[" + std::to_string(i++) + "]", is_event);
        }
      } else {
        checkValue(*attr, m.value, child, is_event);
        checkSibling(obj, *attr, m.value, child, is_event);
      }
    }
    for (const Attribute& a : attrs) {
      if (a.requirement != Requirement::kRequired || !profileActive(a.profile)) continue;
      element v;
      if (obj[a.name].get(v) || v.is_null()) {
        fail(path.empty() ? std::string(a.name) : path + "." + std::string(a.name),
             "required attribute missing");
      }
    }
    auto present = [&](std::string_view name) {
      element v;
      return !obj[name].get(v) && !v.is_null();
    };
    if (!at_least_one.empty()) {
      const bool any = std::any_of(at_least_one.begin(), at_least_one.end(), present);
      if (!any) fail(path, "at_least_one constraint not met");
    }
    if (!just_one.empty()) {
      const auto n = std::count_if(just_one.begin(), just_one.end(), present);
      if (n != 1) fail(path, "just_one constraint not met");
    }
  }

  void checkValue(const Attribute& attr, element v, const std::string& path, bool is_event) {
    const std::string_view t = attr.type;
    if (v.is_null()) {
      fail(path, "null value");
      return;
    }
    if (t == "json_t") return;
    if (t == "object") {
      if (!v.is_object()) fail(path, "must be an object");
      return;
    }
    if (!isPrimitive(t)) {
      const ObjectRule* rule = findObjectRule(t);
      if (rule == nullptr) {
        fail(path, "object type '" + std::string(t) + "' is not covered by these rules");
        return;
      }
      object inner;
      if (v.get_object().get(inner)) {
        fail(path, "must be an object of type " + std::string(t));
        return;
      }
      checkMembers(inner, rule->attributes, rule->at_least_one, rule->just_one, path, false);
      return;
    }
    if (isIntegerType(t)) {
      std::int64_t i = 0;
      if (v.get_int64().get(i)) {
        fail(path, "must be an integer (" + std::string(t) + ")");
        return;
      }
      if (t == "port_t" && (i < 0 || i > 65535)) fail(path, "port out of range");
      const bool identity = is_event && (attr.name == "class_uid" || attr.name == "category_uid");
      const bool observable_type = path.find("observables[") != std::string::npos &&
                                   attr.name == "type_id" && path.ends_with("type_id");
      if (observable_type) {
        static const std::vector<std::int64_t> kIds = observableTypeIds();
        if (std::find(kIds.begin(), kIds.end(), i) == kIds.end()) {
          fail(path, "observable type_id " + std::to_string(i) + " is not defined");
        }
      } else if (!attr.enum_members.empty() && !identity) {
        if (findMember(parseEnum(attr.enum_members), i) == nullptr) {
          fail(path, "value " + std::to_string(i) + " is not in the enum");
        }
      }
      return;
    }
    if (t == "float_t") {
      double d = 0;
      if (v.get_double().get(d)) fail(path, "must be a number");
      return;
    }
    if (t == "boolean_t") {
      if (!v.is_bool()) fail(path, "must be a boolean");
      return;
    }
    std::string_view s;
    if (v.get_string().get(s)) {
      fail(path, "must be a string (" + std::string(t) + ")");
      return;
    }
    if (t == "ip_t") {
      static const std::regex kIp(std::string(ocsf_rules::kIpPattern));
      if (s.size() > ocsf_rules::kIpMaxLength || !std::regex_search(std::string(s), kIp)) {
        fail(path, "not an ip_t: " + std::string(s));
      }
    } else if (t == "email_t") {
      static const std::regex kEmail(std::string(ocsf_rules::kEmailPattern));
      if (!std::regex_search(std::string(s), kEmail))
        fail(path, "not an email_t: " + std::string(s));
    }
  }

  // An enum's sibling string carries the member's caption (or the source's own label for 99).
  void checkSibling(object obj, const Attribute& attr, element v, const std::string& path,
                    bool is_event) {
    if (attr.sibling.empty() || attr.enum_members.empty()) return;
    if (is_event && (attr.name == "class_uid" || attr.name == "category_uid")) return;
    std::int64_t id = 0;
    std::string_view label;
    if (v.get_int64().get(id) || obj[attr.sibling].get_string().get(label)) return;
    if (id == 99) {
      if (label.empty()) fail(path, "Other (99) needs a label in " + std::string(attr.sibling));
      return;
    }
    const auto members = parseEnum(attr.enum_members);
    const EnumMember* m = findMember(members, id);
    if (m != nullptr && m->caption != label) {
      fail(path, std::string(attr.sibling) + " '" + std::string(label) + "' should be '" +
                     std::string(m->caption) + "'");
    }
  }

  void checkClassification(object root, const ClassRule& rule) {
    std::int64_t category = 0;
    std::int64_t activity = 0;
    std::int64_t type_uid = 0;
    if (!root["category_uid"].get_int64().get(category) && category != rule.category_uid) {
      fail("category_uid", "should be " + std::to_string(rule.category_uid) + " for class " +
                               std::to_string(rule.uid));
    }
    std::string_view s;
    if (!root["category_name"].get_string().get(s) && s != rule.category_caption) {
      fail("category_name", "should be '" + std::string(rule.category_caption) + "'");
    }
    if (!root["class_name"].get_string().get(s) && s != rule.caption) {
      fail("class_name", "should be '" + std::string(rule.caption) + "'");
    }
    if (root["activity_id"].get_int64().get(activity) ||
        root["type_uid"].get_int64().get(type_uid)) {
      return;
    }
    if (type_uid != static_cast<std::int64_t>(rule.uid) * 100 + activity) {
      fail("type_uid", "should be class_uid * 100 + activity_id");
    }
    const Attribute* a = findAttribute(rule.attributes, "activity_id");
    const auto members = parseEnum(a->enum_members);
    const EnumMember* m = findMember(members, activity);
    if (m != nullptr && !root["type_name"].get_string().get(s)) {
      const std::string expected = std::string(rule.caption) + ": " + std::string(m->caption);
      if (s != expected) fail("type_name", "should be '" + expected + "'");
    }
  }

  void checkObservables(object root) {
    simdjson::dom::array items;
    if (root["observables"].get_array().get(items)) return;
    std::size_t i = 0;
    for (element item : items) {
      const std::string path = "observables[" + std::to_string(i++) + "]";
      std::string_view name;
      std::string_view value;
      if (item["name"].get_string().get(name)) continue;
      object scope = root;
      element cur;
      bool found = true;
      while (!name.empty() && found) {
        const auto dot = name.find('.');
        found = !scope.at_key(name.substr(0, dot)).get(cur);
        if (found && dot != std::string_view::npos) found = !cur.get_object().get(scope);
        name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
      }
      std::string_view actual;
      if (!found || cur.get_string().get(actual)) {
        fail(path, "name does not point at a string attribute of the event");
        continue;
      }
      if (!item["value"].get_string().get(value) && value != actual) {
        fail(path, "value differs from the attribute it names");
      }
    }
  }

  std::vector<std::string> errors_;
  std::vector<std::string_view> profiles_;
};

}  // namespace

std::vector<std::string> validateOcsfEvent(std::string_view json) { return Validator().run(json); }

}  // namespace siem
