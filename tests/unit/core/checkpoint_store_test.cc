#include "agent/core/checkpoint_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

namespace siem {
namespace {

namespace fs = std::filesystem;

class CheckpointStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("siem-checkpoint-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  static void spit(const fs::path& p, std::string_view bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << bytes;
  }

  fs::path dir_;
};

TEST_F(CheckpointStoreTest, MissingThenWrittenThenReplaced) {
  CheckpointStore store(dir_ / "checkpoints");
  EXPECT_EQ(store.read("a.json").status, CheckpointStatus::kMissing);

  ASSERT_TRUE(store.write("a.json", R"({"w":1})"));
  auto first = store.read("a.json");
  ASSERT_EQ(first.status, CheckpointStatus::kOk) << first.error;
  EXPECT_EQ(first.payload, R"({"w":1})");
  EXPECT_FALSE(first.leftover_warning);

  ASSERT_TRUE(store.write("a.json", R"({"w":2})"));
  EXPECT_EQ(store.read("a.json").payload, R"({"w":2})");
  // The replacement went through a temp file that is gone afterwards.
  EXPECT_FALSE(fs::exists(store.tempPathOf("a.json")));
  EXPECT_EQ(slurp(store.pathOf("a.json")).substr(0, 25), "siem-agent-checkpoint v1 ");
}

TEST_F(CheckpointStoreTest, RoundTripsArbitraryBytes) {
  CheckpointStore store(dir_);
  std::string payload;
  std::mt19937 rng(7);
  for (int i = 0; i < 100'000; ++i) payload.push_back(static_cast<char>(rng()));
  ASSERT_TRUE(store.write("bin", payload));
  auto read = store.read("bin");
  ASSERT_EQ(read.status, CheckpointStatus::kOk);
  EXPECT_EQ(read.payload, payload);
  ASSERT_TRUE(store.write("empty", ""));
  EXPECT_EQ(store.read("empty").status, CheckpointStatus::kOk);
  EXPECT_EQ(store.read("empty").payload, "");
}

TEST_F(CheckpointStoreTest, FlippedByteIsCorruptAndTheFileIsLeftAlone) {
  CheckpointStore store(dir_);
  ASSERT_TRUE(store.write("c.json", R"({"watermark":1793491200})"));
  std::string bytes = slurp(store.pathOf("c.json"));
  bytes[bytes.size() - 3] ^= 0x01;
  spit(store.pathOf("c.json"), bytes);

  auto read = store.read("c.json");
  EXPECT_EQ(read.status, CheckpointStatus::kCorrupt);
  EXPECT_NE(read.error.find(store.pathOf("c.json").string()), std::string::npos) << read.error;
  EXPECT_NE(read.error.find("checksum"), std::string::npos) << read.error;
  EXPECT_NE(read.error.find("siem-agent checkpoint reset"), std::string::npos) << read.error;
  EXPECT_EQ(slurp(store.pathOf("c.json")), bytes);  // never silently reset
}

TEST_F(CheckpointStoreTest, TruncatedAndForeignFilesAreCorrupt) {
  CheckpointStore store(dir_);
  ASSERT_TRUE(store.write("t.json", R"({"watermark":1793491200})"));
  std::string bytes = slurp(store.pathOf("t.json"));
  spit(store.pathOf("t.json"), bytes.substr(0, bytes.size() - 4));
  auto truncated = store.read("t.json");
  EXPECT_EQ(truncated.status, CheckpointStatus::kCorrupt);
  EXPECT_NE(truncated.error.find("truncated"), std::string::npos) << truncated.error;

  spit(store.pathOf("f.json"), R"({"watermark":1})");
  EXPECT_EQ(store.read("f.json").status, CheckpointStatus::kCorrupt);
  spit(store.pathOf("v.json"), "siem-agent-checkpoint v9 crc32=00000000 length=0\n");
  auto future = store.read("v.json");
  EXPECT_EQ(future.status, CheckpointStatus::kCorrupt);
  EXPECT_NE(future.error.find("v9"), std::string::npos) << future.error;
  spit(store.pathOf("e.json"), "");
  EXPECT_EQ(store.read("e.json").status, CheckpointStatus::kCorrupt);
}

TEST_F(CheckpointStoreTest, LeftoverTempIsReportedAndRemovedWithoutTouchingTheCheckpoint) {
  CheckpointStore store(dir_);
  ASSERT_TRUE(store.write("s.json", "committed"));
  // A crash between creating the temp file and the rename leaves this behind.
  spit(store.tempPathOf("s.json"), "half-writ");

  auto kept = store.read("s.json", LeftoverPolicy::kKeep);
  ASSERT_TRUE(kept.leftover_warning);
  EXPECT_TRUE(fs::exists(store.tempPathOf("s.json")));
  EXPECT_EQ(kept.payload, "committed");

  auto read = store.read("s.json");
  EXPECT_EQ(read.status, CheckpointStatus::kOk);
  EXPECT_EQ(read.payload, "committed");
  ASSERT_TRUE(read.leftover_warning);
  EXPECT_NE(read.leftover_warning->find(store.tempPathOf("s.json").string()), std::string::npos);
  EXPECT_FALSE(fs::exists(store.tempPathOf("s.json")));
  EXPECT_FALSE(store.read("s.json").leftover_warning);
}

TEST_F(CheckpointStoreTest, LeftoverTempWithoutCheckpointIsStillMissing) {
  CheckpointStore store(dir_);
  fs::create_directories(dir_);
  spit(store.tempPathOf("n.json"), "partial");
  auto read = store.read("n.json");
  EXPECT_EQ(read.status, CheckpointStatus::kMissing);
  EXPECT_TRUE(read.leftover_warning);
  EXPECT_FALSE(fs::exists(store.tempPathOf("n.json")));
}

TEST_F(CheckpointStoreTest, RejectsNamesThatEscapeTheDirectory) {
  CheckpointStore store(dir_);
  EXPECT_FALSE(store.write("../x", "p"));
  EXPECT_FALSE(store.write(".hidden", "p"));
  EXPECT_FALSE(store.write("", "p"));
  EXPECT_EQ(store.read("a/b").status, CheckpointStatus::kError);
}

TEST_F(CheckpointStoreTest, FailedWriteIsAnErrorAndKeepsTheOldFile) {
  CheckpointStore store(dir_);
  ASSERT_TRUE(store.write("p.json", "old"));
  // A directory where the temp file must go makes the write fail (also when running as root).
  fs::create_directories(store.tempPathOf("p.json"));
  auto written = store.write("p.json", "new");
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().message.find("p.json.tmp"), std::string::npos)
      << written.error().message;
  fs::remove(store.tempPathOf("p.json"));
  EXPECT_EQ(store.read("p.json").payload, "old");
}

TEST(CheckpointFramingTest, FrameAndUnframeAreInverse) {
  for (std::string_view payload :
       {std::string_view(""), std::string_view("{}"), std::string_view("line1\nline2\n")}) {
    auto framed = frameCheckpoint(payload);
    auto back = unframeCheckpoint(framed);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(*back, payload);
  }
  EXPECT_FALSE(unframeCheckpoint("no newline at all"));
}

}  // namespace
}  // namespace siem
