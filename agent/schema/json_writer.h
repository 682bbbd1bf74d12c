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

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

namespace siem {

class JsonWriter {
 public:
  static constexpr std::size_t kMaxStringBytes = 64 * 1024;
  static constexpr std::size_t kMaxDepth = 32;
  static constexpr std::string_view kTruncationMarker = "...[truncated]";

  // Appends to `out`, which must outlive the writer. While writing, `out` may hold spare bytes
  // past the written text; finish() (or the destructor) trims them.
  explicit JsonWriter(std::string& out)
      : out_(out), base_(out.data()), pos_(base_ + out.size()), end_(pos_) {}
  // Writes from the start of `scratch`, a buffer reused across writers that is never trimmed (so
  // it is not zero-filled again); the text is view(). Used for the per-event hot path.
  struct Scratch {};
  JsonWriter(std::string& scratch, Scratch)
      : out_(scratch),
        base_(scratch.data()),
        pos_(base_),
        end_(base_ + scratch.size()),
        trim_(false) {}
  ~JsonWriter() { finish(); }
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  // Trims `out` to the text written so far (not for a scratch writer). Idempotent; writing may
  // continue afterwards.
  void finish() {
    if (!trim_) return;
    const std::size_t used = size();
    out_.resize(used);
    base_ = out_.data();
    pos_ = base_ + used;
    end_ = pos_;
  }
  // Bytes of `out` written so far (including what it held before).
  std::size_t size() const { return static_cast<std::size_t>(pos_ - base_); }
  std::string_view view() const { return {base_, size()}; }

  // Appends `members`, pre-formed `"name":value` pairs separated by commas, to the open object.
  // The caller guarantees they are valid JSON; used for constant runs of members.
  void members(std::string_view members) {
    separator();
    put(members);
    need_comma_ = true;
  }

  void beginObject() { open('{'); }
  void endObject() { close('}'); }
  void beginArray() { open('['); }
  void endArray() { close(']'); }

  // Object member name; the value follows with one of the value calls below. Escaped and
  // length-limited like a string value.
  void key(std::string_view name);
  // A member name written as a string literal in this code base: trusted to need no escaping
  // (the encoders only use ASCII letters, digits, '_', '@' and '.'), so it is copied as it is.
  template <std::size_t N>
  void key(const char (&literal)[N]) {
    char* d = room(N + 3);
    if (need_comma_) *d++ = ',';
    *d++ = '"';
    std::memcpy(d, literal, N - 1);  // constant size: inlined
    d += N - 1;
    *d++ = '"';
    *d++ = ':';
    pos_ = d;
    need_comma_ = false;
  }
  // Same as key(), for a trusted literal run of members (see members()).
  template <std::size_t N>
  void members(const char (&literal)[N]) {
    char* d = room(N);
    if (need_comma_) *d++ = ',';
    std::memcpy(d, literal, N - 1);
    pos_ = d + N - 1;
    need_comma_ = true;
  }

  void string(std::string_view value);
  // One string value made of several pieces; the length limit applies to their sum.
  void stringParts(std::initializer_list<std::string_view> parts);
  void number(std::int64_t value) {
    separator();
    char* dst = room(24);
    pos_ = std::to_chars(dst, dst + 24, value).ptr;
    need_comma_ = true;
  }
  void number(std::uint64_t value);
  void number(int value) { number(static_cast<std::int64_t>(value)); }
  // Non-finite values are written as null (JSON has no NaN or infinity).
  void number(double value);
  void boolean(bool value);
  void null();
  // Appends `json` verbatim as one value. The caller guarantees it is valid, compact JSON.
  void rawValue(std::string_view json);

  // A string value from this code base's own constant tables (captions, labels): trusted to need
  // no escaping, so it is copied as it is. Never use it for input data.
  void trustedString(std::string_view value) {
    char* d = room(value.size() + 3);
    if (need_comma_) *d++ = ',';
    *d++ = '"';
    std::memcpy(d, value.data(), value.size());
    d += value.size();
    *d++ = '"';
    pos_ = d;
    need_comma_ = true;
  }
  void trustedString(std::initializer_list<std::string_view> parts) {
    std::size_t n = 3;
    for (std::string_view p : parts) n += p.size();
    char* d = room(n);
    if (need_comma_) *d++ = ',';
    *d++ = '"';
    for (std::string_view p : parts) {
      std::memcpy(d, p.data(), p.size());
      d += p.size();
    }
    *d++ = '"';
    pos_ = d;
    need_comma_ = true;
  }
  template <std::size_t N>
  void trustedField(const char (&name)[N], std::string_view value) {
    key(name);
    trustedString(value);
  }

  // Convenience: a literal member name and its value in one call.
  template <std::size_t N>
  void field(const char (&name)[N], std::string_view value) {
    key(name);
    string(value);
  }
  template <std::size_t N>
  void field(const char (&name)[N], const char* value) {
    key(name);
    string(value);
  }
  template <std::size_t N>
  void field(const char (&name)[N], std::int64_t value) {
    key(name);
    number(value);
  }
  template <std::size_t N>
  void field(const char (&name)[N], int value) {
    key(name);
    number(value);
  }
  template <std::size_t N>
  void field(const char (&name)[N], double value) {
    key(name);
    number(value);
  }
  template <std::size_t N>
  void field(const char (&name)[N], bool value) {
    key(name);
    boolean(value);
  }

  std::size_t depth() const { return depth_; }
  bool truncated() const { return truncated_; }

 private:
  // Room for `n` more bytes at the write position; returns where to write.
  char* room(std::size_t n) {
    if (static_cast<std::size_t>(end_ - pos_) < n) grow(n);
    return pos_;
  }
  void grow(std::size_t n);
  void put(char c) { *room(1) = c, ++pos_; }
  void put(std::string_view s) {
    std::memcpy(room(s.size()), s.data(), s.size());
    pos_ += s.size();
  }
  void separator() {
    if (need_comma_) put(',');
  }
  void open(char bracket) {
    char* d = room(2);
    if (need_comma_) *d++ = ',';
    *d++ = bracket;
    pos_ = d;
    ++depth_;
    need_comma_ = false;
  }
  void close(char bracket) {
    put(bracket);
    --depth_;
    need_comma_ = true;
  }
  // Escapes `value` into the output, spending at most `*budget` input bytes; returns false when
  // the budget ran out before the end of `value`.
  bool appendEscaped(std::string_view value, std::size_t* budget);
  // Writes `value` as a quoted, escaped string followed by `terminator` (if not 0).
  void quoted(std::string_view value, char terminator);

  std::string& out_;
  // The text is [base_, pos_); [pos_, end_) is spare room inside out_.
  char* base_;
  char* pos_;
  char* end_;
  bool trim_ = true;
  std::size_t depth_ = 0;
  bool need_comma_ = false;
  bool truncated_ = false;
};

// The calling thread's scratch buffer for JsonWriter::Scratch writers (one writer at a time).
std::string& threadScratch();

// Writes `value` as std::to_chars(double) does (shortest round-trip form) when it is a short
// decimal (at most 9 fractional digits, 1e-3 <= |value| < 1e4: coordinates, scores) and returns
// the end; returns nullptr, writing nothing, for any other value. `dst` needs 24 bytes.
char* writeShortDecimal(char* dst, double value);

// Replaces every invalid UTF-8 sequence in `in` with U+FFFD, using the same rules as the writer.
// Used to repair an input document before parsing it.
std::string sanitizeUtf8(std::string_view in);

// Length of the valid UTF-8 sequence starting at `p` (1 to 4), or 0 if the bytes at `p` do not
// start one. Reads at most `end - p` bytes.
std::size_t utf8SequenceLength(const unsigned char* p, const unsigned char* end);

}  // namespace siem
