#include "agent/core/gzip.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace siem {
namespace {

// Audit-log-like JSON: repetitive keys, varying ids and times, as the HEC bodies are.
std::string sampleJson(std::size_t events) {
  std::string out;
  std::uint64_t x = 88172645463325252ull;
  for (std::size_t i = 0; i < events; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out += R"({"time":)" + std::to_string(1700000000000 + i * 977) +
           R"(,"class_uid":6003,"activity_id":1,"actor":{"user":{"uid":"user-)" +
           std::to_string(x % 100000) + R"("}},"api":{"operation":"api_key.created"},)" +
           R"("metadata":{"uid":"audit_log-)" + std::to_string(x) +
           R"(","product":{"name":"OpenAI"}}})" + "\n";
  }
  return out;
}

// zlib's gzip encoder, optionally writing a file name into the header (as the gzip tool does).
std::string zlibGzip(std::string_view data, int level, const char* name = nullptr) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
  gz_header header{};
  std::string name_copy = name != nullptr ? name : "";
  if (name != nullptr) {
    header.name = reinterpret_cast<Bytef*>(name_copy.data());
    header.os = 3;
    EXPECT_EQ(deflateSetHeader(&zs, &header), Z_OK);
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// zlib's gzip decoder; nullopt when zlib rejects the data.
std::optional<std::string> zlibGunzip(std::string_view data) {
  z_stream zs{};
  EXPECT_EQ(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[65536];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

TEST(GzipTest, RoundTripAndRejectsGarbage) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "{\"event\":" + std::to_string(i) + "}\n";
  auto packed = gzipCompress(text);
  ASSERT_TRUE(packed);
  EXPECT_LT(packed->size(), text.size() / 4);
  EXPECT_EQ(static_cast<unsigned char>((*packed)[0]), 0x1f);  // gzip magic
  EXPECT_EQ(gzipDecompress(*packed).value(), text);
  EXPECT_FALSE(gzipDecompress("not gzip at all"));
  EXPECT_FALSE(gzipDecompress(packed->substr(0, packed->size() / 2)));
  EXPECT_FALSE(gzipDecompress(*packed, 100));
}

TEST(GzipTest, RoundTripsAtTheIsalAndZlibLevels) {
  const std::string text = sampleJson(5'000);  // about 1 MB, like a HEC request body
  for (int level : {0, 1, 6, 9}) {
    auto packed = gzipCompress(text, level);
    ASSERT_TRUE(packed) << level;
    EXPECT_LT(packed->size() * 4, text.size()) << level;  // JSON shrinks several times over
    auto unpacked = gzipDecompress(*packed);
    ASSERT_TRUE(unpacked) << level << ": " << unpacked.error().message;
    EXPECT_EQ(*unpacked, text) << level;
  }
}

TEST(GzipTest, IncompressibleInputRoundTrips) {
  std::string noise(300'000, '\0');
  std::uint32_t x = 2463534242u;
  for (char& c : noise) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  for (int level : {0, 1, 6}) {
    auto packed = gzipCompress(noise, level);
    ASSERT_TRUE(packed) << level;
    EXPECT_GT(packed->size(), noise.size() / 2) << level;
    EXPECT_EQ(gzipDecompress(*packed).value(), noise) << level;
  }
}

TEST(GzipTest, IsalOutputIsPlainGzipForZlib) {
  const std::string text = sampleJson(2'000);
  for (int level : {0, 1}) {
    auto packed = gzipCompress(text, level);
    ASSERT_TRUE(packed);
    ASSERT_GE(packed->size(), 18u);
    EXPECT_EQ(static_cast<unsigned char>((*packed)[0]), 0x1f);
    EXPECT_EQ(static_cast<unsigned char>((*packed)[1]), 0x8b);
    auto unpacked = zlibGunzip(*packed);
    ASSERT_TRUE(unpacked) << level;
    EXPECT_EQ(*unpacked, text) << level;
  }
}

TEST(GzipTest, DecodesZlibOutputIncludingHeaderFields) {
  const std::string text = sampleJson(2'000);
  EXPECT_EQ(gzipDecompress(zlibGzip(text, 1)).value(), text);
  EXPECT_EQ(gzipDecompress(zlibGzip(text, 9)).value(), text);
  EXPECT_EQ(gzipDecompress(zlibGzip(text, 6, "audit.json")).value(), text);
}

TEST(GzipTest, EmptyInput) {
  auto packed = gzipCompress("", 1);
  ASSERT_TRUE(packed);
  EXPECT_EQ(gzipDecompress(*packed).value(), "");
  EXPECT_EQ(zlibGunzip(*packed).value(), "");
  EXPECT_EQ(gzipDecompress(gzipCompress("", 6).value()).value(), "");
  auto nothing = gzipDecompress("");
  ASSERT_FALSE(nothing);
  EXPECT_EQ(nothing.error().message, "invalid gzip data");
}

TEST(GzipTest, TruncatedInputIsAnErrorWhereverItIsCut) {
  const std::string text = sampleJson(500);
  const std::string packed = gzipCompress(text, 1).value();
  // In the header, in the deflate data, and in the 8-byte trailer.
  for (std::size_t cut : {std::size_t{1}, std::size_t{5}, std::size_t{10}, packed.size() / 2,
                          packed.size() - 8, packed.size() - 3, packed.size() - 1}) {
    auto result = gzipDecompress(std::string_view(packed).substr(0, cut));
    ASSERT_FALSE(result) << cut;
    EXPECT_EQ(result.error().message, "truncated gzip data") << cut;
  }
}

TEST(GzipTest, CorruptInputIsAnError) {
  const std::string text = sampleJson(500);
  const std::string packed = gzipCompress(text, 1).value();
  auto expectInvalid = [](std::string_view data, const char* what) {
    auto result = gzipDecompress(data);
    ASSERT_FALSE(result) << what;
    EXPECT_EQ(result.error().message, "invalid gzip data") << what;
  };
  expectInvalid("not gzip at all, just text", "not gzip");
  expectInvalid(zlibGzip(text, 6).substr(10), "raw deflate without the gzip header");

  std::string bad_crc = packed;
  bad_crc[bad_crc.size() - 6] ^= 0x01;
  expectInvalid(bad_crc, "CRC mismatch");

  std::string bad_length = packed;
  bad_length[bad_length.size() - 4] ^= 0x01;
  expectInvalid(bad_length, "ISIZE mismatch");

  std::string bad_method = packed;
  bad_method[2] = 7;  // only 8 (deflate) exists
  expectInvalid(bad_method, "unknown method");

  // A flipped bit inside the compressed data breaks the stream, or the CRC catches it, or the
  // changed codes run past the end of the input.
  std::string bad_data = packed;
  bad_data[packed.size() / 2] ^= 0x10;
  auto flipped = gzipDecompress(bad_data);
  ASSERT_FALSE(flipped);
  EXPECT_TRUE(flipped.error().message == "invalid gzip data" ||
              flipped.error().message == "truncated gzip data")
      << flipped.error().message;
}

TEST(GzipTest, OutputIsCappedAtMaxBytes) {
  const std::string text = sampleJson(300);
  const std::string packed = gzipCompress(text, 1).value();
  EXPECT_EQ(gzipDecompress(packed, text.size()).value(), text);  // exactly the cap is fine
  auto over = gzipDecompress(packed, text.size() - 1);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().message, "decompressed data too large");
}

TEST(GzipTest, GzipBombStopsAtTheCap) {
  const std::string zeros(64u << 20, '\0');
  const std::string bomb = zlibGzip(zeros, 9);
  ASSERT_LT(bomb.size(), 100'000u);
  auto result = gzipDecompress(bomb, 1u << 20);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "decompressed data too large");

  // A trailer claiming 4 GiB does not make the decoder reserve it.
  std::string liar = gzipCompress("tiny", 1).value();
  for (std::size_t i = liar.size() - 4; i < liar.size(); ++i) liar[i] = '\xff';
  EXPECT_FALSE(gzipDecompress(liar));
}

TEST(GzipTest, OnlyTheFirstMemberIsDecoded) {
  // Concatenated members are not joined: bytes after the first member's trailer are ignored.
  const std::string first = gzipCompress("first member\n", 1).value();
  const std::string second = gzipCompress("second member\n", 6).value();
  EXPECT_EQ(gzipDecompress(first + second).value(), "first member\n");
  EXPECT_EQ(gzipDecompress(first + "trailing bytes").value(), "first member\n");
}

TEST(GzipInflaterTest, DecodesPiecesIntoTheCallersStorageWithSpareCapacity) {
  const std::string text = sampleJson(3'000);
  const std::string packed = gzipCompress(text, 1).value();
  GzipInflater inflater(64u << 20, 64);
  std::string out;
  for (std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{16384}, packed.size()}) {
    inflater.start(out);
    for (std::size_t at = 0; at < packed.size(); at += piece) {
      ASSERT_TRUE(inflater.feed(std::string_view(packed).substr(at, piece))) << piece;
    }
    ASSERT_TRUE(inflater.finish()) << piece;
    EXPECT_EQ(out, text) << piece;
    EXPECT_GE(out.capacity(), out.size() + 64) << piece;
  }
}

TEST(GzipInflaterTest, ReusedStorageHoldsOnlyTheNewMember) {
  GzipInflater inflater(1u << 20, 64);
  std::string out;
  inflater.start(out);
  ASSERT_TRUE(inflater.feed(gzipCompress(std::string(100'000, 'a'), 1).value()));
  ASSERT_TRUE(inflater.finish());
  const std::size_t capacity = out.capacity();
  inflater.start(out);
  ASSERT_TRUE(inflater.feed(gzipCompress("short", 1).value()));
  ASSERT_TRUE(inflater.finish());
  EXPECT_EQ(out, "short");
  EXPECT_EQ(out.capacity(), capacity);  // no new allocation
}

TEST(GzipInflaterTest, ErrorsAreStickyAndTruncationShowsAtFinish) {
  const std::string packed = gzipCompress(sampleJson(100), 1).value();
  GzipInflater inflater(1u << 20);
  std::string out;
  inflater.start(out);
  ASSERT_TRUE(inflater.feed(std::string_view(packed).substr(0, packed.size() - 4)));
  auto truncated = inflater.finish();
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error(), GunzipError::kTruncated);

  inflater.start(out);
  auto invalid = inflater.feed("definitely not gzip");
  ASSERT_FALSE(invalid);
  EXPECT_EQ(invalid.error(), GunzipError::kInvalid);
  auto again = inflater.feed(packed);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), GunzipError::kInvalid);
  EXPECT_FALSE(inflater.finish());

  // start() clears the error.
  inflater.start(out);
  ASSERT_TRUE(inflater.feed(packed));
  EXPECT_TRUE(inflater.finish());
  EXPECT_EQ(out, sampleJson(100));
}

}  // namespace

TEST(GzipTest, ReusedIsalStateGivesTheSameOutputAsAFreshOne) {
  std::vector<std::string> inputs;
  for (int n : {100'000, 10, 250'000, 0, 5'000}) {
    std::string s;
    for (int i = 0; s.size() < static_cast<std::size_t>(n); ++i) {
      s += R"({"id":"audit_log-)" + std::to_string(i * 7919 % 100'003) + R"(","type":"x"})";
    }
    s.resize(static_cast<std::size_t>(n));
    inputs.push_back(std::move(s));
  }
  // On a thread of its own every call starts from fresh ISA-L state.
  auto fresh = [](const std::string& in, int level) {
    std::string out;
    std::thread([&] { out = gzipCompress(in, level).value(); }).join();
    return out;
  };
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      const int level = static_cast<int>((i + round) % 2);
      auto packed = gzipCompress(inputs[i], level);
      ASSERT_TRUE(packed);
      EXPECT_EQ(*packed, fresh(inputs[i], level)) << "input " << i << " level " << level;
      auto back = gzipDecompress(*packed);
      ASSERT_TRUE(back);
      EXPECT_EQ(*back, inputs[i]);
    }
  }
}

}  // namespace siem
