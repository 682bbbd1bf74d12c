#include "agent/sources/openai/id_set.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <set>
#include <string>

namespace siem {
namespace {

TEST(IdViewSetTest, InsertFindEraseLikeASet) {
  IdViewSet set;
  const std::string a = "audit_log-1";
  const std::string b = "audit_log-2";
  EXPECT_FALSE(set.contains(a));
  EXPECT_FALSE(set.erase(a));
  EXPECT_TRUE(set.insert(a));
  EXPECT_FALSE(set.insert(std::string("audit_log-1")));  // equal bytes, another string
  EXPECT_TRUE(set.insert(b));
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains("audit_log-2"));
  EXPECT_TRUE(set.erase(std::string_view("audit_log-1")));
  EXPECT_FALSE(set.contains(a));
  EXPECT_TRUE(set.contains(b));
  EXPECT_EQ(set.size(), 1u);
  set.clear();
  EXPECT_TRUE(set.empty());
  EXPECT_FALSE(set.contains(b));
}

TEST(IdViewSetTest, EmptyIdIsAnIdLikeAnyOther) {
  IdViewSet set;
  EXPECT_TRUE(set.insert(std::string_view()));
  EXPECT_TRUE(set.contains(""));
  EXPECT_FALSE(set.insert(""));
  EXPECT_TRUE(set.erase(std::string_view()));
  EXPECT_TRUE(set.empty());
}

// Random inserts and erases, checked against std::set; growth and backward-shift deletion must
// keep every member findable.
TEST(IdViewSetTest, MatchesStdSetUnderRandomChurn) {
  std::deque<std::string> storage;  // stable addresses for the views
  for (int i = 0; i < 5000; ++i) storage.push_back("id-" + std::to_string(i * 7919 % 10007));
  IdViewSet set;
  std::set<std::string> reference;
  std::mt19937 rng(42);
  for (int step = 0; step < 200'000; ++step) {
    const std::string& id = storage[rng() % storage.size()];
    if (rng() % 3 == 0) {
      EXPECT_EQ(set.erase(id), reference.erase(id) == 1) << id;
    } else {
      EXPECT_EQ(set.insert(id), reference.insert(id).second) << id;
    }
    ASSERT_EQ(set.size(), reference.size());
  }
  for (const std::string& id : storage) EXPECT_EQ(set.contains(id), reference.contains(id)) << id;
  for (const std::string& id : reference) EXPECT_TRUE(set.erase(id));
  EXPECT_TRUE(set.empty());
  for (const std::string& id : storage) EXPECT_FALSE(set.contains(id));
}

}  // namespace
}  // namespace siem
