#include "tests/fakes/hec_receiver/hec_protocol.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>

#include <simdjson.h>

#include "agent/core/json_escape.h"

namespace siem::hec_fake {
namespace {

struct CodeInfo {
  int http;
  std::string_view text;
};

// Texts and statuses exactly as Splunk documents them.
constexpr std::array<CodeInfo, 23> kCodes = {{
    {200, "Success"},
    {403, "Token disabled"},
    {401, "Token is required"},
    {401, "Invalid authorization"},
    {403, "Invalid token"},
    {400, "No data"},
    {400, "Invalid data format"},
    {400, "Incorrect index"},
    {500, "Internal server error"},
    {503, "Server is busy"},
    {400, "Data channel is missing"},
    {400, "Invalid data channel"},
    {400, "Event field is required"},
    {400, "Event field cannot be blank"},
    {400, "ACK is disabled"},
    {400, "Error in handling indexed fields"},
    {400, "Query string authorization is not enabled"},
    {200, "HEC is healthy"},
    {503, "HEC is unhealthy, queues are full"},
    {503, "HEC is unhealthy, ack service unavailable"},
    {503, "HEC is unhealthy, queues are full, ack service unavailable"},
    {400, "Invalid token"},
    {400, "Token disabled"},
}};

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::size_t skipSpace(std::string_view text, std::size_t pos) {
  while (pos < text.size() && isSpace(text[pos])) ++pos;
  return pos;
}

// The end (one past) of the JSON value starting at `pos`, found by matching brackets outside
// strings; npos when an object or array is not closed. A value that does not start with a bracket
// runs to the next whitespace or opening brace (it is then rejected by the parser).
std::size_t valueEnd(std::string_view text, std::size_t pos) {
  if (text[pos] != '{' && text[pos] != '[') {
    while (pos < text.size() && !isSpace(text[pos]) && text[pos] != '{') ++pos;
    return pos;
  }
  int depth = 0;
  bool in_string = false;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (in_string) {
      if (c == '\\') {
        ++pos;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return pos + 1;
    }
  }
  return std::string_view::npos;
}

// The raw text of the top-level member `key` of a valid JSON object, if present.
std::optional<std::string_view> rawMember(std::string_view object, std::string_view key) {
  int depth = 0;
  bool expect_key = false;
  for (std::size_t pos = 0; pos < object.size(); ++pos) {
    const char c = object[pos];
    if (c == '"') {
      const std::size_t start = pos + 1;
      for (++pos; pos < object.size() && object[pos] != '"'; ++pos) {
        if (object[pos] == '\\') ++pos;
      }
      if (depth == 1 && expect_key) {
        const std::string_view name = object.substr(start, pos - start);
        std::size_t colon = skipSpace(object, pos + 1);
        if (name == key && colon < object.size() && object[colon] == ':') {
          const std::size_t begin = skipSpace(object, colon + 1);
          std::size_t end = begin;
          if (object[begin] == '{' || object[begin] == '[') {
            end = valueEnd(object, begin);
          } else if (object[begin] == '"') {
            for (end = begin + 1; end < object.size() && object[end] != '"'; ++end) {
              if (object[end] == '\\') ++end;
            }
            ++end;
          } else {
            while (end < object.size() && object[end] != ',' && object[end] != '}' &&
                   !isSpace(object[end])) {
              ++end;
            }
          }
          return object.substr(begin, end - begin);
        }
        expect_key = false;
      }
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
      expect_key = depth == 1 && c == '{';
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',' && depth == 1) {
      expect_key = true;
    }
  }
  return std::nullopt;
}

bool isNumericString(std::string_view text) {
  if (text.empty()) return false;
  bool digit = false;
  bool dot = false;
  for (const char c : text) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      digit = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digit;
}

bool flatFields(simdjson::dom::element fields) {
  simdjson::dom::object object;
  if (fields.get(object) != simdjson::SUCCESS) return false;
  for (auto [key, value] : object) {
    if (value.is_string()) continue;
    simdjson::dom::array array;
    if (value.get(array) != simdjson::SUCCESS) return false;
    for (auto item : array) {
      if (!item.is_string()) return false;
    }
  }
  return true;
}

// Validates one parsed envelope whose JSON text is `text`; 0 when good (filling `out` when given).
int checkEnvelope(simdjson::dom::element root, std::string_view text, const ParseOptions& options,
                  IndexedEvent* out) {
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS) return kInvalidDataFormat;

  simdjson::dom::element event;
  if (object["event"].get(event) != simdjson::SUCCESS) return kEventFieldRequired;
  if (event.is_null()) return kEventFieldBlank;
  std::string_view event_string;
  if (event.get(event_string) == simdjson::SUCCESS && event_string.empty()) {
    return kEventFieldBlank;
  }

  simdjson::dom::element time;
  if (object["time"].get(time) == simdjson::SUCCESS) {
    std::string_view time_string;
    const bool ok = time.is_number() ||
                    (time.get(time_string) == simdjson::SUCCESS && isNumericString(time_string));
    if (!ok) return kInvalidDataFormat;
  }
  std::array<std::string_view, 4> metadata{};
  constexpr std::array<std::string_view, 4> kMetadataKeys = {"host", "source", "sourcetype",
                                                             "index"};
  for (std::size_t i = 0; i < kMetadataKeys.size(); ++i) {
    simdjson::dom::element value;
    if (object[kMetadataKeys[i]].get(value) != simdjson::SUCCESS) continue;
    if (value.get(metadata[i]) != simdjson::SUCCESS) return kInvalidDataFormat;
  }
  simdjson::dom::element fields;
  const bool has_fields = object["fields"].get(fields) == simdjson::SUCCESS;
  if (has_fields && !flatFields(fields)) return kIndexedFieldsError;
  if (options.allowed_indexes != nullptr && !options.allowed_indexes->empty() &&
      !metadata[3].empty() && options.allowed_indexes->count(std::string(metadata[3])) == 0) {
    return kIncorrectIndex;
  }

  if (out != nullptr) {
    if (auto raw_time = rawMember(text, "time")) out->time = std::string(*raw_time);
    out->host = std::string(metadata[0]);
    out->source = std::string(metadata[1]);
    out->sourcetype = std::string(metadata[2]);
    out->index = std::string(metadata[3]);
    if (has_fields) out->fields = simdjson::minify(fields);
    out->event = simdjson::minify(event);
  }
  return kSuccess;
}

}  // namespace

std::string_view hecText(int code) {
  if (code < 0 || code >= static_cast<int>(kCodes.size())) return "Unknown";
  return kCodes[static_cast<std::size_t>(code)].text;
}

int hecHttpStatus(int code) {
  if (code < 0 || code >= static_cast<int>(kCodes.size())) return 500;
  return kCodes[static_cast<std::size_t>(code)].http;
}

std::string renderReply(const HecReply& reply) {
  std::string out = R"({"text":)";
  appendJsonString(out, hecText(reply.code));
  out += R"(,"code":)";
  out += std::to_string(reply.code);
  if (reply.ack_id) {
    out += R"(,"ackId":)";
    out += std::to_string(*reply.ack_id);
  }
  if (reply.invalid_event_number) {
    out += R"(,"invalid-event-number":)";
    out += std::to_string(*reply.invalid_event_number);
  }
  out += '}';
  return out;
}

static_assert(EventParser::kPadding >= simdjson::SIMDJSON_PADDING);

struct EventParser::Impl {
  simdjson::dom::parser parser;
};

EventParser::EventParser() : impl_(std::make_unique<Impl>()) {
  // One batch per body (below) never needs simdjson's stage-1 thread; larger bodies go batch by
  // batch on this thread rather than start one per request.
  impl_->parser.threaded = false;
}

EventParser::~EventParser() = default;

ParseResult EventParser::parse(std::string_view body, const ParseOptions& options) {
  // The whole body is one batch up to this size; beyond it simdjson cuts batches at document
  // boundaries, and an event larger than a batch ends the fast pass (the reference decides it).
  // The parser keeps about 15 bytes of working memory per batch byte.
  constexpr std::size_t kMinBatch = std::size_t{1} << 20;
  constexpr std::size_t kMaxBatch = std::size_t{8} << 20;
  const std::size_t first = skipSpace(body, 0);
  if (first == body.size()) return {};
  const std::size_t batch = std::clamp(std::bit_ceil(body.size()), kMinBatch, kMaxBatch);

  ParseResult result;
  simdjson::dom::document_stream stream;
  if (impl_->parser.parse_many(body.data(), body.size(), batch).get(stream) != simdjson::SUCCESS) {
    return parseBySplitting(body, options);
  }
  // The pass is trusted only while the documents it yields tile the body: each one an object
  // starting where the previous one (plus whitespace) ended. simdjson may skip an incomplete
  // trailing document or report a bad one against the start of its batch; in every such case the
  // reference decides.
  std::size_t expected = first;
  for (auto it = stream.begin(); it != stream.end(); ++it) {
    simdjson::dom::element root;
    if ((*it).get(root) != simdjson::SUCCESS || it.current_index() != expected ||
        body[expected] != '{') {
      return parseBySplitting(body, options);
    }
    const std::string_view text = it.source();
    if (text.empty() || text.back() != '}') return parseBySplitting(body, options);
    const int code = checkEnvelope(root, text, options, nullptr);
    if (code != kSuccess) {
      // Every event up to this one is a whole object where the reference would find it, so
      // the reference would stop here too, with the same code.
      result.error_code = code;
      return result;
    }
    if (options.keep_events) result.envelopes.push_back(text);
    ++result.accepted;
    expected = skipSpace(body, expected + text.size());
  }
  if (expected != body.size()) return parseBySplitting(body, options);
  return result;
}

ParseResult EventParser::parseBySplitting(std::string_view body, const ParseOptions& options) {
  ParseResult result;
  std::size_t pos = skipSpace(body, 0);
  while (pos < body.size()) {
    const std::size_t end = valueEnd(body, pos);
    if (end == std::string_view::npos) {
      result.error_code = kInvalidDataFormat;
      return result;
    }
    const std::string_view text = body.substr(pos, end - pos);
    simdjson::dom::element root;
    const int code = impl_->parser.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS
                         ? kInvalidDataFormat
                         : checkEnvelope(root, text, options, nullptr);
    if (code != kSuccess) {
      result.error_code = code;
      return result;
    }
    if (options.keep_events) result.envelopes.push_back(text);
    ++result.accepted;
    pos = skipSpace(body, end);
  }
  return result;
}

IndexedEvent EventParser::describe(std::string_view envelope) {
  IndexedEvent event;
  simdjson::dom::element root;
  if (impl_->parser.parse(envelope.data(), envelope.size()).get(root) == simdjson::SUCCESS) {
    checkEnvelope(root, envelope, ParseOptions{nullptr, true}, &event);
  }
  return event;
}

ParseResult parseEventBody(std::string_view body, const ParseOptions& options) {
  std::string padded;
  padded.reserve(body.size() + EventParser::kPadding);
  padded.append(body);
  padded.append(EventParser::kPadding, ' ');
  EventParser parser;
  return parser.parse(std::string_view(padded.data(), body.size()), options);
}

bool isGuid(std::string_view text) {
  constexpr std::array<std::size_t, 5> kGroups = {8, 4, 4, 4, 12};
  std::size_t pos = 0;
  for (std::size_t g = 0; g < kGroups.size(); ++g) {
    if (g > 0) {
      if (pos >= text.size() || text[pos] != '-') return false;
      ++pos;
    }
    for (std::size_t i = 0; i < kGroups[g]; ++i, ++pos) {
      if (pos >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[pos]))) return false;
    }
  }
  return pos == text.size();
}

}  // namespace siem::hec_fake
