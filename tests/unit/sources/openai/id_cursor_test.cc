#include "agent/sources/openai/id_cursor.h"

#include <gtest/gtest.h>

#include <string>

namespace siem {
namespace {

Event event(std::string id, std::int64_t created_at) {
  Event e;
  e.id = std::move(id);
  e.type = "user.added";
  e.effective_at = created_at;
  return e;
}

IdCursorState fromStart(std::int64_t not_before = 0) {
  IdCursorState s;
  s.not_before = not_before;
  return s;
}

TEST(IdCursorStateTest, RoundTripsAndNamesItsApi) {
  simdjson::ondemand::parser parser;
  IdCursorState state;
  state.last_id = "audit_log-\"quoted\"\\";
  state.not_before = 1'793'404'800;
  state.newest_created_at = 1'793'491'000;
  const std::string json = serializeIdCursorState(state);
  EXPECT_NE(json.find(R"("api":"organization_logs")"), std::string::npos);
  EXPECT_NE(json.find(R"("not_before_time":"2026-10-31T00:00:00Z")"), std::string::npos);
  auto parsed = parseIdCursorState(json, parser);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, state);

  const IdCursorState empty = fromStart(5);
  const std::string empty_json = serializeIdCursorState(empty);
  EXPECT_NE(empty_json.find(R"("last_id":null)"), std::string::npos);
  auto parsed_empty = parseIdCursorState(empty_json, parser);
  ASSERT_TRUE(parsed_empty);
  EXPECT_EQ(*parsed_empty, empty);
}

TEST(IdCursorStateTest, RejectsWhatIsNotItsOwnState) {
  simdjson::ondemand::parser parser;
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "not a JSON object"},
      {"[]", "not a JSON object"},
      {R"({"format":2,"api":"organization_logs","last_id":null,"not_before":0})",
       "unsupported format 2"},
      // The audit_logs source's checkpoint is not a variant checkpoint.
      {R"({"format":1,"watermark":5,"origin":5,"seen":{}})", "`api` is missing"},
      {R"({"format":1,"api":"audit_logs","last_id":null,"not_before":0})",
       "written for api audit_logs"},
      {R"({"format":1,"api":"organization_logs","not_before":0})", "`last_id` is missing"},
      {R"({"format":1,"api":"organization_logs","last_id":"","not_before":0})",
       "`last_id` is empty"},
      {R"({"format":1,"api":"organization_logs","last_id":7,"not_before":0})",
       "`last_id` is not a string or null"},
      {R"({"format":1,"api":"organization_logs","last_id":null})", "`not_before` is missing"},
      {R"({"format":1,"api":"organization_logs","last_id":null,"not_before":"x"})",
       "`not_before` is not an integer"},
      {R"({"format":1,"api":"organization_logs","last_id":null,"not_before":0} {})",
       "content after the object"},
  };
  for (const auto& [json, message] : cases) {
    auto parsed = parseIdCursorState(json, parser);
    ASSERT_FALSE(parsed) << json;
    EXPECT_NE(parsed.error().message.find(message), std::string::npos)
        << json << " -> " << parsed.error().message;
  }
}

TEST(IdCursorTest, MovesOnlyOverTheAcknowledgedPrefix) {
  IdCursor cursor(fromStart(), 100);
  cursor.emitted(1, "a", 10);
  cursor.emitted(2, "b", 30);
  cursor.emitted(3, "c", 20);
  EXPECT_EQ(cursor.state().last_id, std::nullopt);
  EXPECT_EQ(cursor.inFlight(), 3u);
  const auto v0 = cursor.version();

  EXPECT_FALSE(cursor.acknowledged(2));
  EXPECT_EQ(cursor.state().last_id, "b");
  EXPECT_EQ(cursor.state().newest_created_at, 30);
  EXPECT_GT(cursor.version(), v0);
  EXPECT_EQ(cursor.inFlight(), 1u);

  const auto v1 = cursor.version();
  EXPECT_FALSE(cursor.acknowledged(2));  // repeated: nothing changes
  EXPECT_FALSE(cursor.acknowledged(1));  // stale
  EXPECT_EQ(cursor.version(), v1);

  EXPECT_TRUE(cursor.acknowledged(3));  // nothing in flight any more
  EXPECT_EQ(cursor.state().last_id, "c");
  EXPECT_EQ(cursor.state().newest_created_at, 30);  // the newest, not the last
  EXPECT_EQ(cursor.inFlight(), 0u);
}

TEST(IdCursorTest, AnAcknowledgementMayArriveBeforeEmittedIsRecorded) {
  IdCursor cursor(fromStart(), 100);
  cursor.emitted(1, "a", 10);
  EXPECT_TRUE(cursor.acknowledged(2));  // the sink confirmed seq 2 before emit() returned
  EXPECT_EQ(cursor.state().last_id, "a");
  cursor.emitted(2, "b", 11);
  EXPECT_EQ(cursor.state().last_id, "b");
  EXPECT_EQ(cursor.inFlight(), 0u);
  cursor.emitted(3, "c", 12);
  EXPECT_EQ(cursor.state().last_id, "b");
}

TEST(IdCursorTest, SkippedEventsFollowTheEventsBeforeThem) {
  IdCursor cursor(fromStart(100), 100);
  EXPECT_EQ(cursor.classify(event("old", 99)), IdCursor::Verdict::kBeforeStart);
  EXPECT_EQ(cursor.classify(event("new", 100)), IdCursor::Verdict::kNew);

  // Nothing in flight: the position passes a skipped event at once.
  cursor.skipped("old1");
  EXPECT_EQ(cursor.state().last_id, "old1");
  EXPECT_EQ(cursor.state().newest_created_at, 0);

  // In flight: it waits for the emitted event before it.
  cursor.emitted(1, "x", 150);
  cursor.skipped("old2");
  cursor.emitted(2, "y", 160);
  EXPECT_EQ(cursor.state().last_id, "old1");
  cursor.acknowledged(1);
  EXPECT_EQ(cursor.state().last_id, "old2");
  cursor.acknowledged(2);
  EXPECT_EQ(cursor.state().last_id, "y");
  EXPECT_EQ(cursor.state().newest_created_at, 160);
}

TEST(IdCursorTest, RecentIdsAreDuplicatesWithinABoundedMemory) {
  IdCursor cursor(fromStart(), 2);
  cursor.emitted(1, "a", 1);
  EXPECT_EQ(cursor.classify(event("a", 1)), IdCursor::Verdict::kDuplicate);
  cursor.emitted(2, "b", 1);
  cursor.emitted(3, "c", 1);
  EXPECT_EQ(cursor.classify(event("a", 1)), IdCursor::Verdict::kNew);  // forgotten
  EXPECT_EQ(cursor.classify(event("b", 1)), IdCursor::Verdict::kDuplicate);
  EXPECT_EQ(cursor.classify(event("c", 1)), IdCursor::Verdict::kDuplicate);
  // A duplicate is a duplicate even when it is also old.
  IdCursor floor(fromStart(100), 10);
  floor.emitted(1, "z", 200);
  EXPECT_EQ(floor.classify(event("z", 50)), IdCursor::Verdict::kDuplicate);
}

TEST(IdCursorTest, ResumesFromAPersistedPosition) {
  IdCursorState state;
  state.last_id = "k";
  state.not_before = 7;
  state.newest_created_at = 9;
  IdCursor cursor(state, 10);
  EXPECT_EQ(cursor.state(), state);
  EXPECT_EQ(cursor.inFlight(), 0u);
  cursor.emitted(40, "l", 8);
  cursor.acknowledged(40);
  EXPECT_EQ(cursor.state().last_id, "l");
  EXPECT_EQ(cursor.state().newest_created_at, 9);
  EXPECT_EQ(cursor.state().not_before, 7);
}

}  // namespace
}  // namespace siem
