#include "agent/schema/json_writer.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>

#include <emmintrin.h>

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

// Writes the escape for ASCII byte `c` at `dst`; returns the end of what was written.
char* writeEscape(char* dst, unsigned char c) {
  char short_form = 0;
  switch (c) {
    case '"':
      short_form = '"';
      break;
    case '\\':
      short_form = '\\';
      break;
    case '\n':
      short_form = 'n';
      break;
    case '\r':
      short_form = 'r';
      break;
    case '\t':
      short_form = 't';
      break;
    case '\b':
      short_form = 'b';
      break;
    case '\f':
      short_form = 'f';
      break;
    default:
      break;
  }
  if (short_form != 0) {
    dst[0] = '\\';
    dst[1] = short_form;
    return dst + 2;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
  std::memcpy(dst, esc, sizeof esc);
  return dst + sizeof esc;
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

std::string& threadScratch() {
  thread_local std::string scratch;
  return scratch;
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

void JsonWriter::grow(std::size_t n) {
  const std::size_t used = size();
  std::size_t target = std::max(out_.size() * 2, used + n + 256);
  target = std::max(target, out_.capacity());
  out_.resize(target);
  base_ = out_.data();
  pos_ = base_ + used;
  end_ = base_ + out_.size();
}

namespace {

inline std::uint64_t load8(const unsigned char* p) {
  std::uint64_t x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

inline std::uint32_t load4(const unsigned char* p) {
  std::uint32_t x;
  std::memcpy(&x, p, sizeof x);
  return x;
}

// The 8 bytes of `x` need no attention (see allPlain).
inline bool plain8(std::uint64_t x) {
  const std::uint64_t quote = x ^ (kOnes * '"');
  const std::uint64_t slash = x ^ (kOnes * '\\');
  const std::uint64_t control = x - kOnes * 0x20;
  const std::uint64_t hits = (control | (quote - kOnes) | (slash - kOnes)) & ~x;
  return ((hits | x) & kHighs) == 0;
}

// Some of the 16 bytes need attention. The signed compare flags control characters and every
// byte >= 0x80 at once.
inline bool special16(__m128i v) {
  const __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
  const __m128i slash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
  const __m128i low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
  return _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, slash), low)) != 0;
}

// The general loop: escapes, validates UTF-8 and replaces invalid bytes.
char* escapeSlow(char* dst, const unsigned char* p, const unsigned char* end) {
  while (p < end) {
    const auto* run = p;
    while (end - p >= 8 && allPlain(p)) p += 8;
    while (p < end && kPlain[*p]) ++p;
    const auto n = static_cast<std::size_t>(p - run);
    std::memcpy(dst, run, n);
    dst += n;
    if (p == end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      dst = writeEscape(dst, c);
      ++p;
      continue;
    }
    const std::size_t len = utf8SequenceLength(p, end);
    if (len == 0) {
      std::memcpy(dst, kReplacement.data(), kReplacement.size());
      dst += kReplacement.size();
      ++p;
    } else {
      std::memcpy(dst, p, len);
      dst += len;
      p += len;
    }
  }
  return dst;
}

// Escapes [p, end) to `dst`, which has room for 6 bytes per input byte; returns the new end.
// Plain text (the common case) is copied in whole words, reading only inside [p, end): short
// runs with two overlapping loads, long ones 16 bytes at a time with a final overlapping block.
char* escapeInto(char* dst, const unsigned char* p, const unsigned char* end) {
  const auto n = static_cast<std::size_t>(end - p);
  if (n <= 16) {
    if (n >= 8) {
      const std::uint64_t a = load8(p);
      const std::uint64_t b = load8(end - 8);
      if (plain8(a) && plain8(b)) {
        std::memcpy(dst, &a, 8);
        std::memcpy(dst + n - 8, &b, 8);
        return dst + n;
      }
    } else if (n >= 4) {
      const std::uint32_t a = load4(p);
      const std::uint32_t b = load4(end - 4);
      if (plain8(a | (std::uint64_t{b} << 32))) {
        std::memcpy(dst, &a, 4);
        std::memcpy(dst + n - 4, &b, 4);
        return dst + n;
      }
    } else {
      bool plain = true;
      for (std::size_t i = 0; i < n; ++i) plain = plain && kPlain[p[i]];
      if (plain) {
        for (std::size_t i = 0; i < n; ++i) dst[i] = static_cast<char>(p[i]);
        return dst + n;
      }
    }
    return escapeSlow(dst, p, end);
  }
  const unsigned char* q = p;
  char* d = dst;
  while (end - q > 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q));
    if (special16(v)) return escapeSlow(d, q, end);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(d), v);
    q += 16;
    d += 16;
  }
  // The last 1..16 bytes: the final 16 input bytes, overlapping what was already copied.
  const auto rest = static_cast<std::size_t>(end - q);
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(end - 16));
  if (special16(v)) return escapeSlow(d, q, end);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(d + rest - 16), v);
  return d + rest;
}

}  // namespace

char* writeShortDecimal(char* dst, double value) {
  // In this range fixed notation is never longer than scientific, so std::to_chars picks it too.
  const double magnitude = std::fabs(value);
  if (!(magnitude >= 1e-3 && magnitude < 1e4)) return nullptr;
  static constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
  static constexpr std::uint64_t kIntPow10[] = {1,      10,      100,      1000,      10000,
                                                100000, 1000000, 10000000, 100000000, 1000000000};
  for (std::size_t k = 0; k < std::size(kPow10); ++k) {
    // digits < 1e13 < 2^53 and 10^k are exact, so the division is the correctly rounded value
    // of the decimal digits * 10^-k, which is what parsing that text yields: it round-trips
    // exactly when the quotient is the value. The first k that does has the fewest digits, and
    // as 10^-k exceeds the spacing of doubles below 1e4, no other digit string of that length
    // round-trips.
    const double digits = std::nearbyint(magnitude * kPow10[k]);
    if (digits / kPow10[k] != magnitude) continue;
    const auto n = static_cast<std::uint64_t>(digits);
    if (value < 0) *dst++ = '-';
    dst = std::to_chars(dst, dst + 24, n / kIntPow10[k]).ptr;
    if (k == 0) return dst;
    *dst++ = '.';
    std::uint64_t fraction = n % kIntPow10[k];
    for (std::size_t i = k; i > 0; --i) {
      dst[i - 1] = static_cast<char>('0' + fraction % 10);
      fraction /= 10;
    }
    return dst + k;
  }
  return nullptr;
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
  // Worst case: every input byte becomes a 6-byte \u00XX escape.
  char* dst = room(limit * 6);
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  pos_ = escapeInto(dst, p, p + limit);
  return complete;
}

void JsonWriter::quoted(std::string_view value, char terminator) {
  if (value.size() > kMaxStringBytes) {
    put('"');
    std::size_t budget = kMaxStringBytes;
    appendEscaped(value, &budget);
    put(kTruncationMarker);
    truncated_ = true;
    put('"');
    if (terminator != 0) put(terminator);
    return;
  }
  // One reservation for the separator, quotes, terminator and the worst-case escaping.
  char* dst = room(value.size() * 6 + 4);
  *dst++ = '"';
  const auto* p = reinterpret_cast<const unsigned char*>(value.data());
  dst = escapeInto(dst, p, p + value.size());
  *dst++ = '"';
  if (terminator != 0) *dst++ = terminator;
  pos_ = dst;
}

void JsonWriter::key(std::string_view name) {
  separator();
  quoted(name, ':');
  need_comma_ = false;
}

void JsonWriter::string(std::string_view value) {
  separator();
  quoted(value, 0);
  need_comma_ = true;
}

void JsonWriter::stringParts(std::initializer_list<std::string_view> parts) {
  separator();
  put('"');
  std::size_t budget = kMaxStringBytes;
  for (std::string_view part : parts) {
    if (!appendEscaped(part, &budget)) {
      put(kTruncationMarker);
      truncated_ = true;
      break;
    }
  }
  put('"');
  need_comma_ = true;
}

void JsonWriter::number(std::uint64_t value) {
  separator();
  char* dst = room(24);
  pos_ = std::to_chars(dst, dst + 24, value).ptr;
  need_comma_ = true;
}

void JsonWriter::number(double value) {
  if (!std::isfinite(value)) {
    null();
    return;
  }
  separator();
  char* dst = room(32);
  char* end = writeShortDecimal(dst, value);
  pos_ = end != nullptr ? end : std::to_chars(dst, dst + 32, value).ptr;
  need_comma_ = true;
}

void JsonWriter::boolean(bool value) {
  separator();
  put(value ? std::string_view("true") : std::string_view("false"));
  need_comma_ = true;
}

void JsonWriter::null() {
  separator();
  put("null");
  need_comma_ = true;
}

void JsonWriter::rawValue(std::string_view json) {
  separator();
  put(json);
  need_comma_ = true;
}

}  // namespace siem
