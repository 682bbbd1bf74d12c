#include "agent/schema/json_writer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

namespace siem {
namespace {

// Builds `"` + parts + `"` (avoids a g++ 12 -Wrestrict false positive on chained operator+).
std::string quoted(std::initializer_list<std::string_view> parts) {
  std::string s = "\"";
  for (auto p : parts) s.append(p);
  s += '"';
  return s;
}

std::string str(std::string_view value) {
  std::string out;
  JsonWriter w(out);
  w.string(value);
  w.finish();
  return out;
}

TEST(JsonWriter, WritesNestedContainersWithCommas) {
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  w.field("a", 1);
  w.key("b");
  w.beginArray();
  w.string("x");
  w.null();
  w.boolean(false);
  w.beginObject();
  w.endObject();
  w.endArray();
  w.field("c", true);
  w.endObject();
  w.finish();
  EXPECT_EQ(out, R"({"a":1,"b":["x",null,false,{}],"c":true})");
  EXPECT_EQ(w.depth(), 0u);
}

TEST(JsonWriter, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(str("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(str("\n\r\t\b\f"), R"("\n\r\t\b\f")");
  EXPECT_EQ(str(std::string_view("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(str("\x7f/"), "\"\x7f/\"");  // DEL and '/' need no escape
}

TEST(JsonWriter, EscapesInsideLongPlainRuns) {
  // The 8-byte fast path must still find a byte needing an escape at every position.
  for (std::size_t pos = 0; pos < 24; ++pos) {
    std::string in(24, 'x');
    in[pos] = '"';
    const std::string_view head = std::string_view(in).substr(0, pos);
    const std::string_view tail = std::string_view(in).substr(pos + 1);
    EXPECT_EQ(str(in), quoted({head, "\\\"", tail})) << pos;
    in[pos] = '\x02';
    EXPECT_EQ(str(in), quoted({head, "\\u0002", tail})) << pos;
  }
}

TEST(JsonWriter, KeepsValidUtf8) {
  const std::string text = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x94\x92 \xEF\xBF\xBF";
  EXPECT_EQ(str(text), "\"" + text + "\"");
}

TEST(JsonWriter, ReplacesInvalidUtf8WithReplacementCharacter) {
  const std::string kFffd = "\xEF\xBF\xBD";
  EXPECT_EQ(str("a\x80z"), "\"a" + kFffd + "z\"");                      // lone continuation
  EXPECT_EQ(str("a\xC0\x80z"), "\"a" + kFffd + kFffd + "z\"");          // overlong NUL
  EXPECT_EQ(str("\xED\xA0\x80"), "\"" + kFffd + kFffd + kFffd + "\"");  // UTF-16 surrogate
  EXPECT_EQ(str("\xF4\x90\x80\x80"), "\"" + kFffd + kFffd + kFffd + kFffd + "\"");  // > U+10FFFF
  EXPECT_EQ(str("x\xE2\x82"), "\"x" + kFffd + kFffd + "\"");  // truncated sequence
  EXPECT_EQ(str("\xFF"), "\"" + kFffd + "\"");
}

TEST(JsonWriter, TruncatesLongStringsAtACharacterBoundary) {
  std::string in(JsonWriter::kMaxStringBytes - 1, 'a');
  in += "\xE2\x82\xAC";  // a 3-byte character straddling the limit
  in += std::string(100, 'b');
  std::string out;
  JsonWriter w(out);
  w.string(in);
  w.finish();
  EXPECT_TRUE(w.truncated());
  const std::string expected = "\"" + std::string(JsonWriter::kMaxStringBytes - 1, 'a') +
                               std::string(JsonWriter::kTruncationMarker) + "\"";
  EXPECT_EQ(out, expected);
}

TEST(JsonWriter, StringsAtTheLimitAreKeptWhole) {
  const std::string in(JsonWriter::kMaxStringBytes, 'q');
  std::string out;
  JsonWriter w(out);
  w.string(in);
  w.finish();
  EXPECT_FALSE(w.truncated());
  EXPECT_EQ(out, "\"" + in + "\"");
}

TEST(JsonWriter, StringPartsShareOneLengthBudget) {
  const std::string half(JsonWriter::kMaxStringBytes / 2 + 10, 'h');
  std::string out;
  JsonWriter w(out);
  w.stringParts({"<", half, half, ">"});
  w.finish();
  EXPECT_TRUE(w.truncated());
  EXPECT_EQ(out.size(), 2 + JsonWriter::kMaxStringBytes + JsonWriter::kTruncationMarker.size());
  std::string small;
  JsonWriter w2(small);
  w2.stringParts({"a", " by ", "b\"c"});
  w2.finish();
  EXPECT_EQ(small, R"("a by b\"c")");
}

TEST(JsonWriter, EscapesKeys) {
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  w.key(std::string_view("k\"\n\xC3"));
  w.number(std::int64_t{1});
  w.endObject();
  w.finish();
  EXPECT_EQ(out, "{\"k\\\"\\n\xEF\xBF\xBD\":1}");
}

TEST(JsonWriter, WritesNumbers) {
  std::string out;
  JsonWriter w(out);
  w.beginArray();
  w.number(std::numeric_limits<std::int64_t>::min());
  w.number(std::numeric_limits<std::uint64_t>::max());
  w.number(37.7749);
  w.number(-0.5);
  w.number(1e300 * 1e10);  // infinity
  w.number(std::numeric_limits<double>::quiet_NaN());
  w.endArray();
  w.finish();
  EXPECT_EQ(out, "[-9223372036854775808,18446744073709551615,37.7749,-0.5,null,null]");
}

// The short-decimal fast path must produce exactly what std::to_chars(double) does, or defer.
TEST(JsonWriter, ShortDecimalsMatchToChars) {
  std::mt19937_64 rng(7);
  auto check = [](double v) {
    char expected[32];
    const char* expected_end = std::to_chars(expected, expected + sizeof expected, v).ptr;
    char fast[32];
    const char* fast_end = writeShortDecimal(fast, v);
    if (fast_end == nullptr) return false;
    EXPECT_EQ(std::string_view(fast, static_cast<std::size_t>(fast_end - fast)),
              std::string_view(expected, static_cast<std::size_t>(expected_end - expected)))
        << "value " << v;
    return true;
  };
  int fast = 0;
  for (int i = 0; i < 200000; ++i) {
    // Decimal text as sources send it ("37.77490", "-122.4194", "0.0015"), parsed as they are.
    const int decimals = static_cast<int>(rng() % 11);
    std::string text = rng() % 2 == 0 ? "-" : "";
    text += std::to_string(rng() % (i % 3 == 0 ? 10 : 20000));
    if (decimals > 0) {
      text += '.';
      for (int d = 0; d < decimals; ++d) text += static_cast<char>('0' + rng() % 10);
    }
    double v = 0;
    std::from_chars(text.data(), text.data() + text.size(), v);
    fast += check(v) ? 1 : 0;
    // Arbitrary bit patterns and their neighbours.
    std::uint64_t bits = rng();
    std::memcpy(&v, &bits, sizeof v);
    if (std::isfinite(v)) check(v);
    check(std::nextafter(1234.5678, 0.0) + static_cast<double>(i % 7));
  }
  for (const double v : {0.001, -0.001, 0.00099999, 9999.999999999, 1e4, 0.1, 0.2, 0.3, 1.0, 0.5,
                         -122.4194, 37.7749, 1e-3 * 3, 0.1 + 0.2, 4095.9999999995}) {
    check(v);
  }
  EXPECT_GT(fast, 100000);  // the fast path does take the common inputs
}

TEST(JsonWriter, OutputOfArbitraryBytesIsValidJson) {
  // Every byte value, in every position of a short window, must come out as valid UTF-8 JSON.
  simdjson::dom::parser parser;
  for (int b = 0; b < 256; ++b) {
    std::string in = "ab";
    in.push_back(static_cast<char>(b));
    in += "\xC3\xA9z";
    std::string out;
    JsonWriter w(out);
    w.beginObject();
    w.key(in);
    w.string(in);
    w.endObject();
    w.finish();
    simdjson::dom::element doc;
    EXPECT_FALSE(parser.parse(out).get(doc)) << "byte " << b << ": " << out;
  }
}

TEST(Utf8, SanitizeReplacesOnlyInvalidBytes) {
  EXPECT_EQ(sanitizeUtf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(sanitizeUtf8("a\xFE"
                         "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(sanitizeUtf8(std::string_view("\x00", 1)), std::string("\x00", 1));
}

TEST(Utf8, SequenceLength) {
  auto len = [](std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    return utf8SequenceLength(p, p + s.size());
  };
  EXPECT_EQ(len("a"), 1u);
  EXPECT_EQ(len("\xC3\xA9"), 2u);
  EXPECT_EQ(len("\xE0\xA0\x80"), 3u);
  EXPECT_EQ(len("\xE0\x9F\x80"), 0u);  // overlong
  EXPECT_EQ(len("\xF0\x9F\x94\x92"), 4u);
  EXPECT_EQ(len("\xF0\x9F\x94"), 0u);  // cut short
  EXPECT_EQ(len("\xC1\xBF"), 0u);
}

}  // namespace
}  // namespace siem
