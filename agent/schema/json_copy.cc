#include "agent/schema/json_copy.h"

#include <string>

namespace siem {

void writeJsonValue(JsonWriter& w, simdjson::dom::element value) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::ARRAY: {
      if (w.depth() >= JsonWriter::kMaxDepth) {
        w.string(simdjson::to_string(value));
        return;
      }
      simdjson::dom::array items;
      if (value.get_array().get(items)) return w.null();
      w.beginArray();
      for (simdjson::dom::element item : items) writeJsonValue(w, item);
      w.endArray();
      return;
    }
    case element_type::OBJECT: {
      if (w.depth() >= JsonWriter::kMaxDepth) {
        w.string(simdjson::to_string(value));
        return;
      }
      simdjson::dom::object members;
      if (value.get_object().get(members)) return w.null();
      w.beginObject();
      for (simdjson::dom::key_value_pair member : members) {
        w.key(member.key);
        writeJsonValue(w, member.value);
      }
      w.endObject();
      return;
    }
    case element_type::INT64:
      w.number(value.get_int64().value_unsafe());
      return;
    case element_type::UINT64:
      w.number(value.get_uint64().value_unsafe());
      return;
    case element_type::DOUBLE:
      w.number(value.get_double().value_unsafe());
      return;
    case element_type::STRING:
      w.string(value.get_string().value_unsafe());
      return;
    case element_type::BOOL:
      w.boolean(value.get_bool().value_unsafe());
      return;
    case element_type::NULL_VALUE:
      w.null();
      return;
  }
  w.null();
}

}  // namespace siem
