#include "agent/api/event.h"

#include <gtest/gtest.h>

namespace siem {
namespace {

TEST(EventTest, EncodedRawIsTheOriginalObject) {
  Event e;
  e.raw = R"({"id":"a"})";
  e.rendered[static_cast<std::size_t>(Encoding::kOcsf)] = R"({"class_uid":3004})";
  EXPECT_EQ(e.encoded(Encoding::kRaw), e.raw);
  EXPECT_EQ(e.encoded(Encoding::kOcsf), R"({"class_uid":3004})");
  EXPECT_GT(e.memoryBytes(), e.raw.size());
}

TEST(EventTest, NamesOfEnums) {
  EXPECT_EQ(toString(Outcome::kFailure), "failure");
  EXPECT_EQ(toString(Encoding::kEcs), "ecs");
}

}  // namespace
}  // namespace siem
