// The HEC receiver's pure parts: the envelope-body parser (one simdjson pass, checked against the
// bracket-matching reference) and the capped gzip decoder.
//
// The fake is an executable, not a library, so its two pure sources are compiled into this test
// directly; they depend on nothing but siem_core, simdjson and ISA-L.
#include "tests/fakes/hec_receiver/gunzip.cc"        // NOLINT(bugprone-suspicious-include)
#include "tests/fakes/hec_receiver/hec_protocol.cc"  // NOLINT(bugprone-suspicious-include)

#include <zlib.h>

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace siem::hec_fake {
namespace {

// A ParseResult with copies of the envelopes, which outlive the padded body they were cut from.
struct Parsed {
  std::vector<std::string> envelopes;
  std::size_t accepted = 0;
  std::optional<int> error_code;
};

Parsed own(const ParseResult& result) {
  return Parsed{
      {result.envelopes.begin(), result.envelopes.end()}, result.accepted, result.error_code};
}

Parsed parseWith(EventParser& parser, std::string_view body, bool keep = true,
                 const std::set<std::string>* allowed = nullptr) {
  std::string padded(body);
  padded.append(EventParser::kPadding, '\0');
  return own(
      parser.parse(std::string_view(padded.data(), body.size()), ParseOptions{allowed, keep}));
}

Parsed parse(std::string_view body) {
  EventParser parser;
  return parseWith(parser, body);
}

std::vector<IndexedEvent> described(const Parsed& result) {
  EventParser parser;
  std::vector<IndexedEvent> out;
  for (std::string_view envelope : result.envelopes) out.push_back(parser.describe(envelope));
  return out;
}

std::vector<std::string> eventsOf(const Parsed& result) {
  std::vector<std::string> out;
  for (const IndexedEvent& e : described(result)) out.push_back(e.event);
  return out;
}

// Both paths give the same verdict and keep the same envelopes.
void expectSame(const Parsed& fast, const ParseResult& reference, std::string_view body) {
  ASSERT_EQ(fast.accepted, reference.accepted) << body;
  ASSERT_EQ(fast.error_code, reference.error_code) << body;
  ASSERT_EQ(fast.envelopes, own(reference).envelopes) << body;
}

TEST(HecEventParserTest, SplitsConcatenatedObjectsWithAndWithoutWhitespace) {
  const Parsed r =
      parse(R"({"time":1767225600.000,"host":"h","source":"s","sourcetype":"st","index":"main",)"
            R"("event":{"a":1},"fields":{"k":"v","l":["x","y"]}}{"event":"b"})"
            "\n\t "
            R"({"time":"1767225601.5","event":"c"})");
  ASSERT_FALSE(r.error_code);
  EXPECT_EQ(r.accepted, 3u);
  EXPECT_EQ(r.envelopes[1], R"({"event":"b"})");
  EXPECT_EQ(eventsOf(r), (std::vector<std::string>{R"({"a":1})", R"("b")", R"("c")"}));
  const std::vector<IndexedEvent> events = described(r);
  EXPECT_EQ(events[0].time, "1767225600.000");
  EXPECT_EQ(events[0].host, "h");
  EXPECT_EQ(events[0].source, "s");
  EXPECT_EQ(events[0].sourcetype, "st");
  EXPECT_EQ(events[0].index, "main");
  EXPECT_EQ(events[0].fields, R"({"k":"v","l":["x","y"]})");
  EXPECT_EQ(events[1].fields, "");
  EXPECT_EQ(events[1].time, "");
  EXPECT_EQ(events[1].host, "");
  EXPECT_EQ(events[2].time, R"("1767225601.5")");
}

TEST(HecEventParserTest, BracesAndQuotesInsideStringsDoNotSplit) {
  const Parsed r = parse(R"({"event":"}{\"]["}{"event":{"s":"\\"}})");
  ASSERT_FALSE(r.error_code);
  EXPECT_EQ(eventsOf(r), (std::vector<std::string>{R"("}{\"][")", R"({"s":"\\"})"}));
}

TEST(HecEventParserTest, LeadingAndTrailingWhitespaceIsNotAnEvent) {
  const Parsed r = parse(" \r\n\t{\"event\":1}\n{\"event\":2}\n\n \t\r\n");
  ASSERT_FALSE(r.error_code);
  EXPECT_EQ(r.accepted, 2u);
}

TEST(HecEventParserTest, EmptyAndWhitespaceOnlyBodiesHoldNoEvent) {
  // The receiver answers code 5 for these before parsing; the parser itself finds nothing.
  for (std::string_view body : {"", " ", "\n\r\t  \n"}) {
    const Parsed r = parse(body);
    EXPECT_FALSE(r.error_code) << body;
    EXPECT_EQ(r.accepted, 0u) << body;
  }
}

TEST(HecEventParserTest, StopsAtTheFirstBadEventKeepingTheEarlierOnes) {
  const std::set<std::string> allowed = {"main"};
  struct Case {
    std::string_view body;
    int code;
    std::size_t at;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"event":"k1"}{"event":"k2"}{"event":""}{"event":"never"})", kEventFieldBlank, 2},
           {R"({"event":"k1"}{"event":null}{"event":"never"})", kEventFieldBlank, 1},
           {R"({"event":"k1"}{"time":1}{"event":"never"})", kEventFieldRequired, 1},
           {R"({"event":"k1"}{"event":"x","fields":{"n":{"deep":1}}})", kIndexedFieldsError, 1},
           {R"({"event":"k1"}{"event":"x","fields":{"n":[1]}})", kIndexedFieldsError, 1},
           {R"({"event":"k1"}{"event":"x","index":"secret"})", kIncorrectIndex, 1},
           {R"({"event":"k1"}{"event":"x","time":"soon"})", kInvalidDataFormat, 1},
           {R"({"event":"k1"}{"event":"x","host":5})", kInvalidDataFormat, 1},
           // Not JSON, in the middle: the events after it are never looked at.
           {R"({"event":"k1"}{"event":"k2"}{"event":2,}{"event":"never"})", kInvalidDataFormat, 2},
           {R"({"event":"k1"} {"event":tru} {"event":"never"})", kInvalidDataFormat, 1},
           {R"({"event":"k1"}{"event":"k2"}}{"event":"never"})", kInvalidDataFormat, 2},
           {"{\"event\":\"k1\"}{\"event\":\"bad\x01\"}{\"event\":\"never\"}", kInvalidDataFormat,
            1},
           {"{\"event\":\"k1\"}{\"event\":\"\xC3\x28\"}{\"event\":\"never\"}", kInvalidDataFormat,
            1},
           // Not an object, in the middle or at the end.
           {R"({"event":"k1"}[1,2]{"event":"never"})", kInvalidDataFormat, 1},
           {R"({"event":"k1"} 42 {"event":"never"})", kInvalidDataFormat, 1},
           {R"({"event":"k1"}"text")", kInvalidDataFormat, 1},
           {R"({"event":"k1"} garbage)", kInvalidDataFormat, 1},
           // The last object is cut short.
           {R"({"event":"k1"}{"event":"k2"}{"event":"trunc)", kInvalidDataFormat, 2},
           {R"({"event":"k1"}{"event":{"a":1})", kInvalidDataFormat, 1},
           {R"({"event":"k1"}{)", kInvalidDataFormat, 1},
           {R"({"event")", kInvalidDataFormat, 0},
       }) {
    EventParser parser;
    const Parsed r = parseWith(parser, c.body, true, &allowed);
    EXPECT_EQ(r.error_code, c.code) << c.body;
    EXPECT_EQ(r.accepted, c.at) << c.body;
    ASSERT_EQ(r.envelopes.size(), c.at) << c.body;
    for (const std::string& e : eventsOf(r)) EXPECT_TRUE(e.starts_with("\"k")) << c.body;
    expectSame(r, parser.parseBySplitting(c.body, ParseOptions{&allowed, true}), c.body);
  }
}

TEST(HecEventParserTest, CountsWithoutRecordingWhenAskedTo) {
  EventParser parser;
  const Parsed r = parseWith(parser, R"({"event":1}{"event":2}{"time":3})", false);
  EXPECT_EQ(r.error_code, kEventFieldRequired);
  EXPECT_EQ(r.accepted, 2u);
  EXPECT_TRUE(r.envelopes.empty());
}

std::string envelope(std::size_t i, std::size_t payload) {
  return R"({"time":)" + std::to_string(1767225600 + i) + R"(.5,"host":"h)" + std::to_string(i) +
         R"(","sourcetype":"openai:audit","fields":{"org":"o","tags":["a","b"]},"event":{"id":")" +
         std::to_string(i) + R"(","pad":")" + std::string(payload, 'x') + R"("}})";
}

TEST(HecEventParserTest, BodiesLargerThanOneBatchAreSplitBatchByBatch) {
  // About 12 MiB: more than one simdjson batch, with a bad event in a later batch.
  std::string body;
  constexpr std::size_t kEvents = 6000;
  constexpr std::size_t kBad = 5500;
  for (std::size_t i = 0; i < kEvents; ++i) {
    body += i == kBad ? std::string(R"({"event":""})") : envelope(i, 2000);
    body += '\n';
  }
  EventParser parser;
  Parsed r = parseWith(parser, body, false);
  EXPECT_EQ(r.error_code, kEventFieldBlank);
  EXPECT_EQ(r.accepted, kBad);

  body.erase(body.find(R"({"event":""})"), 13);
  r = parseWith(parser, body, false);
  EXPECT_FALSE(r.error_code);
  EXPECT_EQ(r.accepted, kEvents - 1);
}

TEST(HecEventParserTest, AnEventLargerThanABatchIsStillParsed) {
  const std::string body = envelope(1, 100) + envelope(2, 9u << 20) + envelope(3, 100);
  EventParser parser;
  const Parsed r = parseWith(parser, body, true);
  ASSERT_FALSE(r.error_code);
  EXPECT_EQ(r.accepted, 3u);
  EXPECT_EQ(eventsOf(r)[1], R"({"id":"2","pad":")" + std::string(9u << 20, 'x') + R"("})");
}

TEST(HecEventParserTest, ReusedParserForgetsThePreviousBody) {
  EventParser parser;
  EXPECT_EQ(parseWith(parser, envelope(1, 50000) + envelope(2, 10)).accepted, 2u);
  const Parsed r = parseWith(parser, R"({"event":"small"})");
  ASSERT_FALSE(r.error_code);
  EXPECT_EQ(eventsOf(r), std::vector<std::string>{R"("small")"});
  EXPECT_EQ(parseWith(parser, R"({"event":"k"}{"event")").accepted, 1u);
}

TEST(HecEventParserTest, AgreesWithTheReferenceOnMutatedBodies) {
  // Deterministic mutations of a valid body: every verdict and every recorded event must match
  // the bracket-matching reference, whatever the damage.
  std::string valid;
  for (std::size_t i = 0; i < 6; ++i) {
    valid += envelope(i, 3);
    valid += i % 2 == 0 ? "\n" : "";
  }
  valid += R"({"event":"a\"}{b","index":"main"} {"event":[1,{"x":null}],"time":"17.5"})";
  constexpr std::string_view kAlphabet = "{}[]\":, \n\\x1tfn.-e\x01\xC3";
  std::mt19937 random(20240607);
  const std::set<std::string> allowed = {"main"};
  EventParser fast;
  EventParser reference;
  std::size_t failing = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string body = valid;
    const int edits = 1 + static_cast<int>(random() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t pos = random() % body.size();
      const char c = kAlphabet[random() % kAlphabet.size()];
      switch (random() % 4) {
        case 0:
          body.erase(pos, 1);
          break;
        case 1:
          body.insert(pos, 1, c);
          break;
        case 2:
          body[pos] = c;
          break;
        default:
          body.resize(pos);
          break;
      }
    }
    const Parsed r = parseWith(fast, body, true, &allowed);
    if (r.error_code) ++failing;
    expectSame(r, reference.parseBySplitting(body, ParseOptions{&allowed, true}), body);
    if (HasFatalFailure()) return;
  }
  // The mutations do reach the error paths (and leave some bodies valid).
  EXPECT_GT(failing, 1000u);
  EXPECT_LT(failing, 3000u);
}

std::string gzipOf(std::string_view data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string_view decoded(const std::string& buffer, std::size_t size) {
  return std::string_view(buffer.data(), size);
}

TEST(HecGunzipTest, DecodesIntoReusedStorageWithSpareRoom) {
  const std::string text = envelope(1, 300000);
  Gunzip gunzip;
  std::string buffer;
  std::size_t size = 0;
  ASSERT_EQ(gunzip.decode(gzipOf(text), 1u << 30, 64, buffer, size), GunzipStatus::kOk);
  EXPECT_EQ(decoded(buffer, size), text);
  EXPECT_GE(buffer.size(), size + 64);
  const char* const storage = buffer.data();
  ASSERT_EQ(gunzip.decode(gzipOf("{\"event\":1}"), 1u << 30, 64, buffer, size), GunzipStatus::kOk);
  EXPECT_EQ(decoded(buffer, size), "{\"event\":1}");
  EXPECT_EQ(buffer.data(), storage);
}

TEST(HecGunzipTest, DecodesMembersBackToBack) {
  Gunzip gunzip;
  std::string buffer;
  std::size_t size = 0;
  const std::string body = gzipOf("{\"event\":1}") + gzipOf("{\"event\":2}");
  ASSERT_EQ(gunzip.decode(body, 1000, 64, buffer, size), GunzipStatus::kOk);
  EXPECT_EQ(decoded(buffer, size), "{\"event\":1}{\"event\":2}");
}

TEST(HecGunzipTest, EmptyInputIsEmptyOutput) {
  Gunzip gunzip;
  std::string buffer;
  std::size_t size = 7;
  ASSERT_EQ(gunzip.decode("", 1000, 64, buffer, size), GunzipStatus::kOk);
  EXPECT_EQ(size, 0u);
  EXPECT_GE(buffer.size(), 64u);
}

TEST(HecGunzipTest, StopsJustPastTheCap) {
  const std::string text(5'000'000, '0');
  const std::string bomb = gzipOf(text);
  ASSERT_LT(bomb.size(), 10'000u);
  Gunzip gunzip;
  std::string buffer;
  std::size_t size = 0;
  EXPECT_EQ(gunzip.decode(bomb, 10'000, 64, buffer, size), GunzipStatus::kTooLarge);
  EXPECT_LE(buffer.size(), 10'000u + 1 + 64);
  // Exactly at the cap is accepted.
  ASSERT_EQ(gunzip.decode(bomb, text.size(), 64, buffer, size), GunzipStatus::kOk);
  EXPECT_EQ(size, text.size());
  EXPECT_EQ(gunzip.decode(bomb, text.size() - 1, 64, buffer, size), GunzipStatus::kTooLarge);
}

TEST(HecGunzipTest, RejectsDamagedInput) {
  const std::string good = gzipOf(envelope(1, 5000));
  Gunzip gunzip;
  std::string buffer;
  std::size_t size = 0;
  EXPECT_EQ(gunzip.decode(good.substr(0, good.size() / 2), 1u << 20, 64, buffer, size),
            GunzipStatus::kTruncated);
  EXPECT_EQ(gunzip.decode(good.substr(0, good.size() - 2), 1u << 20, 64, buffer, size),
            GunzipStatus::kTruncated);
  std::string crc = good;
  crc[crc.size() - 6] ^= 0x55;  // inside the CRC-32 of the trailer
  EXPECT_EQ(gunzip.decode(crc, 1u << 20, 64, buffer, size), GunzipStatus::kInvalid);
  EXPECT_EQ(gunzip.decode("{\"event\":1}", 1u << 20, 64, buffer, size), GunzipStatus::kInvalid);
  EXPECT_EQ(gunzip.decode(good + "trailing garbage, not a member", 1u << 20, 64, buffer, size),
            GunzipStatus::kInvalid);
  EXPECT_EQ(gunzip.decode(good + good.substr(0, 5), 1u << 20, 64, buffer, size),
            GunzipStatus::kTruncated);
  // The decoder recovers for the next body.
  ASSERT_EQ(gunzip.decode(good, 1u << 20, 64, buffer, size), GunzipStatus::kOk);
  EXPECT_EQ(decoded(buffer, size), envelope(1, 5000));
}

}  // namespace
}  // namespace siem::hec_fake
