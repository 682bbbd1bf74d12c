#include "sinks/file/sink.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sinks/file/encoder.h"

namespace siem {
namespace {

EventPtr event(const std::string& id, std::int64_t t) {
  auto e = std::make_shared<Event>();
  e->id = id;
  e->effective_at = t;
  e->raw = R"({"id":")" + id + R"("})";
  return e;
}

std::vector<std::string> lines(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

class FileSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        std::filesystem::temp_directory_path() / ("siem-file-sink-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST(FileEncoderTest, ExpandsPatternsInUtc) {
  EXPECT_EQ(expandPathPattern("/a/openai-%Y-%m-%d.ndjson", 1764028800),
            "/a/openai-2025-11-25.ndjson");
  EXPECT_EQ(expandPathPattern("/a/plain.ndjson", 0), "/a/plain.ndjson");
}

// The remembered expansion is always what expandPathPattern would give.
TEST(FileEncoderTest, PathExpanderMatchesEveryExpansion) {
  const std::vector<std::string> patterns = {"/a/d-%Y-%m-%d.ndjson", "/a/h-%Y%m%d%H.ndjson",
                                             "/a/%F/%%s.ndjson", "/a/s-%s.ndjson",
                                             "/a/plain.ndjson"};
  // Across midnight, hours and seconds, before and after 1970.
  const std::vector<std::int64_t> times = {1764028799, 1764028800, 1764028801, 1764032399,
                                           1764032400, 1764032400, 1764028799, -1,
                                           0,          -86401,     -86400};
  for (const auto& pattern : patterns) {
    PathExpander expander(pattern);
    for (const std::int64_t t : times) {
      EXPECT_EQ(expander.expand(t), expandPathPattern(pattern, t)) << pattern << " at " << t;
    }
  }
}

TEST_F(FileSinkTest, FilesEventsByTheirOwnDayAndAppends) {
  FileSink sink((dir_ / "sub/openai-%Y-%m-%d.ndjson").string(), true, Encoding::kRaw);
  Batch b;
  b.events = {event("a", 1764028800), event("b", 1764028800 + 86400), event("c", 1764028801)};
  auto o = sink.sendSync(b);
  EXPECT_EQ(o.at(0), Disposition::kDelivered);
  EXPECT_EQ(o.at(1), Disposition::kDelivered);
  EXPECT_EQ(o.at(2), Disposition::kDelivered);
  EXPECT_EQ(lines(dir_ / "sub/openai-2025-11-25.ndjson"),
            (std::vector<std::string>{R"({"id":"a"})", R"({"id":"c"})"}));
  EXPECT_EQ(lines(dir_ / "sub/openai-2025-11-26.ndjson"),
            (std::vector<std::string>{R"({"id":"b"})"}));
  Batch b2;
  b2.events = {event("d", 1764028802)};
  sink.sendSync(b2);
  EXPECT_EQ(lines(dir_ / "sub/openai-2025-11-25.ndjson").size(), 3u);
}

TEST_F(FileSinkTest, UnwritableTargetIsRetriedNotLost) {
  std::filesystem::create_directories(dir_);
  std::ofstream(dir_ / "not-a-dir") << "x";
  FileSink sink((dir_ / "not-a-dir/out.ndjson").string(), true, Encoding::kRaw);
  Batch b;
  b.events = {event("a", 0)};
  auto o = sink.sendSync(b);
  EXPECT_EQ(o.at(0), Disposition::kRetry);
  EXPECT_EQ(o.error_type, "io");
  EXPECT_NE(o.reason.find("not-a-dir"), std::string::npos);
}

}  // namespace
}  // namespace siem
