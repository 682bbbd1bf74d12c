// A small, fast, append-only JSON writer used by the OCSF and ECS encoders.
//
// Contract: whatever bytes are handed in, the output is valid UTF-8 JSON.
//  * Strings and keys are escaped (`"`, `\`, and every control character below U+0020; the common
//    ones as \n \r \t \b \f, the rest as \u00XX). Invalid UTF-8 (bad lead or continuation bytes,
//    overlong forms, surrogates, code points above U+10FFFF, truncated sequences) is replaced by
//    U+FFFD, one replacement per offending byte.
//  * A string or key longer than kMaxStringBytes input bytes is cut at the last character
//    boundary at or below the limit and ends with kTruncationMarker; truncated() then reports it.
//  * Containers nest at most kMaxDepth deep. The writer does not enforce this itself (cutting a
//    container would break the document); callers that copy arbitrary input check depth() first
//    and write a deeper subtree as one string instead (see writeJsonValue in json_copy.h).
// Not thread-safe; one writer per output string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace siem {

class JsonWriter {
 public:
  static constexpr std::size_t kMaxStringBytes = 64 * 1024;
  static constexpr std::size_t kMaxDepth = 32;
  static constexpr std::string_view kTruncationMarker = "...[truncated]";

  // Appends to `out`, which must outlive the writer.
  explicit JsonWriter(std::string& out) : out_(out) {}

  void beginObject();
  void endObject();
  void beginArray();
  void endArray();

  // Object member name; the value follows with one of the value calls below.
  void key(std::string_view name);

  void string(std::string_view value);
  // One string value made of several pieces; the length limit applies to their sum.
  void stringParts(std::initializer_list<std::string_view> parts);
  void number(std::int64_t value);
  void number(std::uint64_t value);
  void number(int value) { number(static_cast<std::int64_t>(value)); }
  // Non-finite values are written as null (JSON has no NaN or infinity).
  void number(double value);
  void boolean(bool value);
  void null();
  // Appends `json` verbatim as one value. The caller guarantees it is valid, compact JSON.
  void rawValue(std::string_view json);

  // Convenience: key and value in one call.
  void field(std::string_view name, std::string_view value) {
    key(name);
    string(value);
  }
  void field(std::string_view name, const char* value) { field(name, std::string_view(value)); }
  void field(std::string_view name, std::int64_t value) {
    key(name);
    number(value);
  }
  void field(std::string_view name, int value) {
    key(name);
    number(value);
  }
  void field(std::string_view name, double value) {
    key(name);
    number(value);
  }
  void field(std::string_view name, bool value) {
    key(name);
    boolean(value);
  }

  std::size_t depth() const { return depth_; }
  bool truncated() const { return truncated_; }
  std::string& buffer() { return out_; }

 private:
  void separator() {
    if (need_comma_) out_.push_back(',');
  }
  // Escapes `value` into the output, spending at most `*budget` input bytes; returns false when
  // the budget ran out before the end of `value`.
  bool appendEscaped(std::string_view value, std::size_t* budget);

  std::string& out_;
  std::size_t depth_ = 0;
  bool need_comma_ = false;
  bool truncated_ = false;
};

// Replaces every invalid UTF-8 sequence in `in` with U+FFFD, using the same rules as the writer.
// Used to repair an input document before parsing it.
std::string sanitizeUtf8(std::string_view in);

// Length of the valid UTF-8 sequence starting at `p` (1 to 4), or 0 if the bytes at `p` do not
// start one. Reads at most `end - p` bytes.
std::size_t utf8SequenceLength(const unsigned char* p, const unsigned char* end);

}  // namespace siem
