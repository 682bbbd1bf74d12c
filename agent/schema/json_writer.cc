#include "agent/schema/json_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace siem {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// 1 for bytes that are copied as they are (printable ASCII other than `"` and `\`).
constexpr std::array<bool, 256> makePlainTable() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[c] = c != '"' && c != '\\';
  return t;
}
constexpr std::array<bool, 256> kPlain = makePlainTable();

constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
constexpr std::uint64_t kHighs = 0x8080808080808080ULL;

// True when none of the 8 bytes needs attention: no control character, `"`, `\` or non-ASCII.
inline bool allPlain(const unsigned char* p) {
  std::uint64_t x;
  std::memcpy(&x, p, sizeof x);
  const std::uint64_t quote = x ^ (kOnes * '"');
  const std::uint64_t slash = x ^ (kOnes * '\\');
  const std::uint64_t control = x - kOnes * 0x20;  // borrows into the high bit for bytes < 0x20
  const std::uint64_t hits = (control | (quote - kOnes) | (slash - kOnes)) & ~x;
  return ((hits | x) & kHighs) == 0;
}

void appendControlEscape(std::string& out, unsigned char c) {
  switch (c) {
    case '"':
      out.append("\\\"");
      return;
    case '\\':
      out.append("\\\\");
      return;
    case '\n':
      out.append("\\n");
      return;
    case '\r':
      out.append("\\r");
      return;
    case '\t':
      out.append("\\t");
      return;
    case '\b':
      out.append("\\b");
      return;
    case '\f':
      out.append("\\f");
      return;
    default:
      break;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
  out.append(esc, sizeof esc);
}

}  // namespace

std::size_t utf8SequenceLength(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  const auto avail = static_cast<std::size_t>(end - p);
  auto cont = [&](std::size_t i, unsigned char lo, unsigned char hi) {
    return i < avail && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1, 0x80, 0xBF) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
    return cont(1, lo, hi) && cont(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    return cont(1, lo, hi) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

std::string sanitizeUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 16);
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  const auto* end = p + in.size();
  while (p < end) {
    const std::size_t n = utf8SequenceLength(p, end);
    if (n == 0) {
      out.append(kReplacement);
      ++p;
    } else {
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
    }
  }
  return out;
}

bool JsonWriter::appendEscaped(std::string_view value, std::size_t* budget) {
  std::size_t limit = value.size();
  bool complete = true;
  if (limit > *budget) {
    complete = false;
    limit = *budget;
    // Cut before a continuation byte only if that keeps a whole character (at most 3 steps back).
    for (int i = 0; i < 3 && limit > 0 && (static_cast<unsigned char>(value[limit]) & 0xC0) == 0x80;
         ++i) {
      --limit;
    }
  }
  *budget -= limit;

  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  const auto* end = p + limit;
  const auto* run = p;
  while (p < end) {
    if (end - p >= 8 && allPlain(p)) {
      p += 8;
      continue;
    }
    const unsigned char c = *p;
    if (kPlain[c]) {
      ++p;
      continue;
    }
    out_.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    if (c < 0x80) {
      appendControlEscape(out_, c);
      ++p;
    } else {
      const std::size_t n = utf8SequenceLength(p, end);
      if (n == 0) {
        out_.append(kReplacement);
        ++p;
      } else {
        out_.append(reinterpret_cast<const char*>(p), n);
        p += n;
      }
    }
    run = p;
  }
  out_.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
  return complete;
}

void JsonWriter::beginObject() {
  separator();
  out_.push_back('{');
  ++depth_;
  need_comma_ = false;
}

void JsonWriter::endObject() {
  out_.push_back('}');
  --depth_;
  need_comma_ = true;
}

void JsonWriter::beginArray() {
  separator();
  out_.push_back('[');
  ++depth_;
  need_comma_ = false;
}

void JsonWriter::endArray() {
  out_.push_back(']');
  --depth_;
  need_comma_ = true;
}

void JsonWriter::key(std::string_view name) {
  separator();
  out_.push_back('"');
  std::size_t budget = kMaxStringBytes;
  if (!appendEscaped(name, &budget)) {
    out_.append(kTruncationMarker);
    truncated_ = true;
  }
  out_.append("\":");
  need_comma_ = false;
}

void JsonWriter::string(std::string_view value) {
  separator();
  out_.push_back('"');
  std::size_t budget = kMaxStringBytes;
  if (!appendEscaped(value, &budget)) {
    out_.append(kTruncationMarker);
    truncated_ = true;
  }
  out_.push_back('"');
  need_comma_ = true;
}

void JsonWriter::stringParts(std::initializer_list<std::string_view> parts) {
  separator();
  out_.push_back('"');
  std::size_t budget = kMaxStringBytes;
  for (std::string_view part : parts) {
    if (!appendEscaped(part, &budget)) {
      out_.append(kTruncationMarker);
      truncated_ = true;
      break;
    }
  }
  out_.push_back('"');
  need_comma_ = true;
}

void JsonWriter::number(std::int64_t value) {
  separator();
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, static_cast<std::size_t>(res.ptr - buf));
  need_comma_ = true;
}

void JsonWriter::number(std::uint64_t value) {
  separator();
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, static_cast<std::size_t>(res.ptr - buf));
  need_comma_ = true;
}

void JsonWriter::number(double value) {
  if (!std::isfinite(value)) {
    null();
    return;
  }
  separator();
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, static_cast<std::size_t>(res.ptr - buf));
  need_comma_ = true;
}

void JsonWriter::boolean(bool value) {
  separator();
  out_.append(value ? "true" : "false");
  need_comma_ = true;
}

void JsonWriter::null() {
  separator();
  out_.append("null");
  need_comma_ = true;
}

void JsonWriter::rawValue(std::string_view json) {
  separator();
  out_.append(json);
  need_comma_ = true;
}

}  // namespace siem
