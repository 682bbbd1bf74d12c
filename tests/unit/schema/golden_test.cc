// Golden tests: every input audit log in tests/data/schema/audit_logs.ndjson must render exactly
// as the line at the same position in expected_ocsf.ndjson / expected_ecs.ndjson.
//
// To regenerate the expected files after an intended mapping change, run
//   SIEM_UPDATE_GOLDEN=1 build/tests/unit_tests --gtest_filter='SchemaGolden.*'
// and review the diff line by line before committing it.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <ostream>

#include "agent/schema/render.h"
#include "tests/unit/schema/schema_test_util.h"

namespace siem {
namespace {

using schema_test::dataPath;
using schema_test::eventFromRaw;
using schema_test::readLines;

constexpr std::string_view kInputs = "audit_logs.ndjson";
constexpr std::string_view kExpectedOcsf = "expected_ocsf.ndjson";
constexpr std::string_view kExpectedEcs = "expected_ecs.ndjson";

bool updating() {
  const char* v = std::getenv("SIEM_UPDATE_GOLDEN");
  return v != nullptr && std::string_view(v) == "1";
}

struct GoldenCase {
  std::size_t index;
  std::string input;
  std::string name;
};

// CTest lists parameterized tests with their parameter; name the input line instead of dumping
// the struct's bytes.
void PrintTo(const GoldenCase& c, std::ostream* os) { *os << "input line " << c.index + 1; }

std::vector<GoldenCase> loadCases() {
  std::vector<GoldenCase> cases;
  const auto lines = readLines(dataPath(kInputs));
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const Event e = eventFromRaw(lines[i]);
    std::string name = "line" + std::to_string(i + 1) + "_";
    for (char c : e.type.empty() ? std::string("untyped") : e.type) {
      name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    }
    cases.push_back({i, lines[i], name});
  }
  return cases;
}

const std::vector<std::string>& expected(std::string_view file) {
  static const std::vector<std::string> kOcsf = readLines(dataPath(kExpectedOcsf));
  static const std::vector<std::string> kEcs = readLines(dataPath(kExpectedEcs));
  return file == kExpectedOcsf ? kOcsf : kEcs;
}

class SchemaGoldenTest : public ::testing::TestWithParam<GoldenCase> {
 protected:
  void check(Encoding encoding, std::string_view file) {
    if (updating()) GTEST_SKIP() << "SIEM_UPDATE_GOLDEN=1: expected files are being rewritten";
    const GoldenCase& c = GetParam();
    const auto& lines = expected(file);
    ASSERT_LT(c.index, lines.size()) << file << " has no line " << c.index + 1;
    EXPECT_EQ(renderEvent(eventFromRaw(c.input), encoding), lines[c.index])
        << "input line " << c.index + 1 << ": " << c.input;
  }
};

TEST_P(SchemaGoldenTest, Ocsf) { check(Encoding::kOcsf, kExpectedOcsf); }

TEST_P(SchemaGoldenTest, Ecs) { check(Encoding::kEcs, kExpectedEcs); }

INSTANTIATE_TEST_SUITE_P(AuditLogs, SchemaGoldenTest, ::testing::ValuesIn(loadCases()),
                         [](const ::testing::TestParamInfo<GoldenCase>& info) {
                           return info.param.name;
                         });

// With SIEM_UPDATE_GOLDEN=1 rewrites the expected files; otherwise checks that they have exactly
// one line per input, so that a stale file cannot pass by being shorter.
TEST(SchemaGolden, ExpectedFilesMatchTheInputs) {
  const auto inputs = readLines(dataPath(kInputs));
  ASSERT_GT(inputs.size(), 145u);
  if (updating()) {
    std::vector<std::string> ocsf;
    std::vector<std::string> ecs;
    for (const auto& line : inputs) {
      ocsf.push_back(renderEvent(eventFromRaw(line), Encoding::kOcsf));
      ecs.push_back(renderEvent(eventFromRaw(line), Encoding::kEcs));
    }
    ASSERT_TRUE(schema_test::writeLines(dataPath(kExpectedOcsf), ocsf));
    ASSERT_TRUE(schema_test::writeLines(dataPath(kExpectedEcs), ecs));
    return;
  }
  EXPECT_EQ(readLines(dataPath(kExpectedOcsf)).size(), inputs.size());
  EXPECT_EQ(readLines(dataPath(kExpectedEcs)).size(), inputs.size());
}

}  // namespace
}  // namespace siem
