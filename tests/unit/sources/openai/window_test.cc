#include "agent/sources/openai/window.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

namespace siem {
namespace {

Event ev(std::string id, std::int64_t t) {
  Event e;
  e.id = std::move(id);
  e.effective_at = t;
  e.type = "user.added";
  return e;
}

std::vector<std::string> ids(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.id);
  return out;
}

CursorState fresh(std::int64_t start) {
  CursorState s;
  s.watermark = start;
  s.origin = start;
  return s;
}

// Emits `events` in order with consecutive sequence numbers starting at `seq`.
std::uint64_t emitAll(WindowCursor& cursor, const std::vector<Event>& events, std::uint64_t seq) {
  for (const auto& e : events) cursor.emitted(seq++, e.id, e.effective_at);
  return seq;
}

CursorState roundTrip(const CursorState& state) {
  simdjson::ondemand::parser parser;
  auto parsed = parseCursorState(serializeCursorState(state), parser);
  EXPECT_TRUE(parsed) << parsed.error().message;
  return parsed ? *parsed : CursorState{};
}

TEST(WindowCursorTest, FirstWindowStartsAtOriginThenLooksBack) {
  WindowCursor first(fresh(1000), 300);
  TimeWindow w = first.nextWindow(5000, 0);
  EXPECT_EQ(w.start, 1000);  // not 700: nothing before start_at is read
  EXPECT_EQ(w.end, 5000);
  EXPECT_EQ(first.nextWindow(5000, 600).end, 1600);

  CursorState resumed = fresh(1000);
  resumed.watermark = 4000;
  WindowCursor second(resumed, 300);
  EXPECT_EQ(second.nextWindow(5000, 0).start, 3700);
  EXPECT_TRUE(second.nextWindow(3700, 0).empty());
}

TEST(WindowCursorTest, BackfillWalksForwardWithoutOverlapSteadyPollingRereadsLookback) {
  WindowCursor cursor(fresh(1000), 300);
  TimeWindow a = cursor.nextWindow(100'000, 2000);  // backfill: capped span, read long after
  EXPECT_EQ(a.start, 1000);
  EXPECT_EQ(a.end, 3000);
  cursor.windowDone(a);
  TimeWindow b = cursor.nextWindow(100'000, 2000);
  EXPECT_EQ(b.start, 3000);  // [1000, 3000) was final when read: no re-read
  cursor.windowDone(b);

  WindowCursor steady(fresh(1000), 300);
  TimeWindow c = steady.nextWindow(5000, 0);
  steady.windowDone(c);
  TimeWindow d = steady.nextWindow(5030, 0);
  EXPECT_EQ(d.start, 4700);  // the last lookback before it was read, to catch late indexing
  EXPECT_EQ(d.end, 5030);
  steady.windowDone(d);
  EXPECT_EQ(steady.nextWindow(5060, 0).start, 4730);

  // A halved window inside the lookback zone does not move the start backwards or forwards
  // past what may still change.
  WindowCursor halved(fresh(1000), 300);
  halved.windowDone(halved.nextWindow(5000, 0));
  TimeWindow e = halved.nextWindow(5030, 100);
  EXPECT_EQ(e.start, 4700);
  EXPECT_EQ(e.end, 4800);
  halved.windowDone(e);
  EXPECT_EQ(halved.nextWindow(5030, 0).start, 4730);
}

TEST(WindowCursorTest, IsNewKnowsSeenAndInFlight) {
  CursorState s = fresh(0);
  s.watermark = 100;
  s.seen = {{"done", 90}};
  WindowCursor cursor(s, 300);
  cursor.emitted(1, "flying", 95);
  EXPECT_FALSE(cursor.isNew("done"));
  EXPECT_FALSE(cursor.isNew("flying"));
  EXPECT_TRUE(cursor.isNew("fresh"));
}

TEST(WindowCursorTest, IsNewWithTimeAnswersLikeIsNewForEveryHeldTime) {
  CursorState s = fresh(0);
  s.watermark = 100;
  s.seen = {{"done", 90}};
  WindowCursor cursor(s, 300);
  cursor.emitted(1, "flying", 95);
  cursor.emitted(2, "latest", 120);
  EXPECT_FALSE(cursor.isNew("done", 90));
  EXPECT_FALSE(cursor.isNew("flying", 95));
  EXPECT_FALSE(cursor.isNew("latest", 120));
  EXPECT_TRUE(cursor.isNew("fresh", 95));
  EXPECT_TRUE(cursor.isNew("fresh", 121));
  // Acknowledged ids move from in flight to seen and stay known.
  cursor.acknowledged(2);
  EXPECT_FALSE(cursor.isNew("flying", 95));
  EXPECT_FALSE(cursor.isNew("latest", 120));
}

TEST(WindowCursorTest, InFlightIdsStayKnownAcrossLookupsEmissionsAndPartialAcks) {
  // The in-flight index is built by the first lookup that needs it, then kept up to date by
  // emissions and acknowledgements, and dropped once nothing is in flight.
  CursorState s = fresh(0);
  s.watermark = 1000;
  WindowCursor cursor(s, 300);
  cursor.emitted(1, "a", 1000);
  cursor.emitted(2, "b", 1001);
  EXPECT_FALSE(cursor.isNew("a"));  // builds the index
  cursor.emitted(3, "c", 1002);     // added to the built index
  EXPECT_FALSE(cursor.isNew("c"));
  EXPECT_TRUE(cursor.isNew("d"));
  cursor.acknowledged(1);  // "a" leaves the index for `seen`
  EXPECT_FALSE(cursor.isNew("a"));
  EXPECT_FALSE(cursor.isNew("b"));
  cursor.acknowledged(3);  // nothing in flight: the index goes
  EXPECT_EQ(cursor.inFlight(), 0u);
  cursor.emitted(4, "e", 1003);  // in flight again, not indexed until looked up
  EXPECT_FALSE(cursor.isNew("e"));
  EXPECT_FALSE(cursor.isNew("b"));  // in `seen`
  EXPECT_TRUE(cursor.isNew("f"));
}

TEST(WindowCursorTest, SelectNewDropsSeenInFlightAndRepeatsThenSorts) {
  CursorState s = fresh(0);
  s.watermark = 100;
  s.seen = {{"old", 90}};
  WindowCursor cursor(s, 300);
  cursor.emitted(1, "flying", 95);
  // Newest first, as the API pages them, with a repeat across pages.
  std::vector<Event> page = {ev("z", 99),   ev("b", 97), ev("a", 97), ev("flying", 95),
                             ev("old", 90), ev("b", 97), ev("c", 91)};
  EXPECT_EQ(cursor.selectNew(page), 3u);
  EXPECT_EQ(ids(page), (std::vector<std::string>{"c", "a", "b", "z"}));
}

TEST(WindowCursorTest, AcknowledgedIdsOlderThanTheLookbackAreNotRemembered) {
  WindowCursor cursor(fresh(0), 300);
  const TimeWindow w = cursor.nextWindow(1000, 0);
  std::vector<Event> events = {ev("old", 100), ev("older", 200), ev("recent", 900)};
  cursor.selectNew(events);
  emitAll(cursor, events, 1);
  cursor.windowDone(w);
  EXPECT_TRUE(cursor.acknowledged(3));
  EXPECT_EQ(cursor.watermark(), 1000);
  // Only "recent" lies in [W - lookback, W): the others could never be read again.
  EXPECT_EQ(cursor.seenCount(), 1u);
  EXPECT_FALSE(cursor.isNew("recent", 900));
  EXPECT_EQ(cursor.prunedState().seen.size(), 1u);
  EXPECT_EQ(cursor.nextWindow(2000, 0).start, 700);  // nothing before W - lookback is read again
}

TEST(WindowCursorTest, OrderNewIndexesTheNewEventsInEmissionOrder) {
  CursorState s = fresh(0);
  s.watermark = 100;
  s.seen = {{"old", 90}};
  WindowCursor cursor(s, 300);
  cursor.emitted(1, "flying", 95);
  const std::vector<Event> page = {ev("z", 99),   ev("b", 97), ev("a", 97), ev("flying", 95),
                                   ev("old", 90), ev("b", 97), ev("c", 91)};
  std::vector<std::uint32_t> order = {42};  // replaced, not appended to
  EXPECT_EQ(cursor.orderNew(page, order), 3u);
  std::vector<std::string> got;
  for (const std::uint32_t i : order) got.push_back(page[i].id);
  EXPECT_EQ(got, (std::vector<std::string>{"c", "a", "b", "z"}));
  EXPECT_EQ(page.size(), 7u);  // nothing moved
  EXPECT_EQ(page[0].id, "z");
}

TEST(WindowCursorTest, WholeWindowAcknowledgedMovesWatermarkToWindowEnd) {
  WindowCursor cursor(fresh(1000), 300);
  TimeWindow w = cursor.nextWindow(2000, 0);
  std::vector<Event> events = {ev("b", 1800), ev("a", 1750)};
  cursor.selectNew(events);
  emitAll(cursor, events, 1);
  cursor.windowDone(w);
  EXPECT_EQ(cursor.watermark(), 1750);  // "a" is still in flight
  EXPECT_FALSE(cursor.acknowledged(1));
  EXPECT_EQ(cursor.watermark(), 1800);
  EXPECT_TRUE(cursor.acknowledged(2));  // completes the window
  EXPECT_EQ(cursor.watermark(), 2000);
  EXPECT_EQ(cursor.inFlight(), 0u);
  EXPECT_EQ(cursor.prunedState().seen.size(), 2u);
  EXPECT_EQ(cursor.nextWindow(2030, 0).start, 1700);
}

TEST(WindowCursorTest, EmptyWindowMovesWatermarkAtOnce) {
  WindowCursor cursor(fresh(1000), 300);
  const auto v = cursor.version();
  cursor.windowDone(cursor.nextWindow(1030, 0));
  EXPECT_EQ(cursor.watermark(), 1030);
  EXPECT_GT(cursor.version(), v);
}

TEST(WindowCursorTest, AcknowledgementThatOvertakesTheEmitterIsNotLost) {
  WindowCursor cursor(fresh(1000), 300);
  TimeWindow w = cursor.nextWindow(2000, 0);
  // The sink confirmed seq 1 before emit() returned it to the source.
  EXPECT_FALSE(cursor.acknowledged(1));
  cursor.emitted(1, "fast", 1900);
  EXPECT_EQ(cursor.inFlight(), 0u);
  cursor.windowDone(w);
  EXPECT_EQ(cursor.watermark(), 2000);
  EXPECT_TRUE(cursor.prunedState().seen.contains("fast"));
}

TEST(WindowCursorTest, SequenceNumbersMayStartAtZero) {
  WindowCursor cursor(fresh(1000), 300);
  TimeWindow w = cursor.nextWindow(2000, 0);
  cursor.emitted(0, "zero", 1100);
  cursor.windowDone(w);
  EXPECT_EQ(cursor.inFlight(), 1u);
  EXPECT_EQ(cursor.watermark(), 1100);
  EXPECT_TRUE(cursor.acknowledged(0));
  EXPECT_EQ(cursor.watermark(), 2000);
}

TEST(WindowCursorTest, SameSecondSplitAcrossPagesResendsOnlyTheUnacknowledgedTail) {
  WindowCursor cursor(fresh(1000), 300);
  TimeWindow w = cursor.nextWindow(2000, 0);
  // Page 1 ends inside second 1500, page 2 continues it (newest first).
  std::vector<Event> window = {ev("d", 1501), ev("c", 1500), ev("a", 1500),  // page 1
                               ev("b", 1500), ev("x", 1400)};                // page 2
  cursor.selectNew(window);
  ASSERT_EQ(ids(window), (std::vector<std::string>{"x", "a", "b", "c", "d"}));
  emitAll(cursor, window, 1);
  cursor.windowDone(w);
  cursor.acknowledged(3);  // x, a, b delivered; c and d in flight
  EXPECT_EQ(cursor.watermark(), 1500);

  // Crash: restart from what was persisted.
  WindowCursor restarted(roundTrip(cursor.prunedState()), 300);
  TimeWindow again = restarted.nextWindow(2000, 0);
  EXPECT_LE(again.start, 1500);
  std::vector<Event> reread = {ev("d", 1501), ev("c", 1500), ev("b", 1500), ev("a", 1500),
                               ev("x", 1400)};
  restarted.selectNew(reread);
  EXPECT_EQ(ids(reread), (std::vector<std::string>{"c", "d"}));
}

TEST(WindowCursorTest, LateEventInNextWindowNeverMovesWatermarkBackOrPastIt) {
  WindowCursor cursor(fresh(1000), 300);
  TimeWindow w1 = cursor.nextWindow(2000, 0);
  std::vector<Event> first = {ev("p", 1900), ev("q", 1950)};
  std::uint64_t seq = emitAll(cursor, first, 1);
  cursor.windowDone(w1);
  cursor.acknowledged(1);
  EXPECT_EQ(cursor.watermark(), 1950);

  // Next window re-reads the lookback and finds a late-indexed event from 1750.
  TimeWindow w2 = cursor.nextWindow(2030, 0);
  EXPECT_EQ(w2.start, 1700);
  std::vector<Event> second = {ev("late", 1750), ev("q", 1950), ev("p", 1900)};
  cursor.selectNew(second);
  ASSERT_EQ(ids(second), (std::vector<std::string>{"late"}));
  seq = emitAll(cursor, second, seq);
  cursor.windowDone(w2);
  EXPECT_EQ(cursor.watermark(), 1950);  // monotonic
  cursor.acknowledged(2);               // q: window 1 complete, but "late" is still in flight
  EXPECT_EQ(cursor.watermark(), 1950);  // not 2000: "late" (1750) is not delivered
  // Crash now: "late" must be read again, so it has to lie within the restart's lookback.
  WindowCursor restarted(roundTrip(cursor.prunedState()), 300);
  TimeWindow w = restarted.nextWindow(2030, 0);
  EXPECT_LE(w.start, 1750);
  std::vector<Event> reread = {ev("late", 1750), ev("q", 1950), ev("p", 1900)};
  restarted.selectNew(reread);
  EXPECT_EQ(ids(reread), (std::vector<std::string>{"late"}));

  cursor.acknowledged(3);
  EXPECT_EQ(cursor.watermark(), 2030);
}

TEST(WindowCursorTest, PruneKeepsOnlyTheLookback) {
  CursorState s = fresh(0);
  s.watermark = 1000;
  s.seen = {{"ancient", 600}, {"edge", 700}, {"recent", 990}};
  WindowCursor cursor(s, 300);
  const CursorState& pruned = cursor.prunedState();
  EXPECT_FALSE(pruned.seen.contains("ancient"));
  EXPECT_TRUE(pruned.seen.contains("edge"));  // effective_at == W - lookback is still re-read
  EXPECT_TRUE(pruned.seen.contains("recent"));
}

TEST(CursorStateTest, SerializationRoundTrip) {
  CursorState s;
  s.watermark = 1'793'491'200;
  s.origin = 1'793'404'800;
  s.seen = {{"audit_log-abc", 1'793'491'100},
            {"quote\"back\\slash", 1'793'491'150},
            {"ctl\n\x01", 1'793'491'150},
            {"caf\xC3\xA9", 1'793'491'199}};
  std::string json = serializeCursorState(s);
  EXPECT_NE(json.find(R"("watermark_time":"2026-11-01T00:00:00Z")"), std::string::npos) << json;
  EXPECT_EQ(roundTrip(s), s);
  EXPECT_EQ(roundTrip(CursorState{}), CursorState{});
  // Deterministic: sorted by (effective_at, id).
  EXPECT_LT(json.find("audit_log-abc"), json.find("ctl"));
  EXPECT_LT(json.find("ctl"), json.find("quote"));
}

TEST(CursorStateTest, RejectsWhatItDidNotWrite) {
  simdjson::ondemand::parser parser;
  for (std::string_view bad :
       {R"({"format":2,"watermark":1,"seen":{}})", R"({"format":1,"seen":{}})",
        R"({"watermark":1})", R"({"format":1,"watermark":"1"})",
        R"({"format":1,"watermark":1,"seen":{"a":"x"}})", R"({"format":1,"watermark":1,"seen":[]})",
        "not json", R"([1,2])"}) {
    EXPECT_FALSE(parseCursorState(bad, parser)) << bad;
  }
}

// A randomized simulation of the whole protocol: a server whose events become visible late (within
// the lookback), windows of random size, acknowledgements that trail emission, and crashes that
// restart from the last persisted state. Checks at-least-once (every event is delivered), no
// re-send of anything whose acknowledgement was persisted, and a monotonic watermark.
TEST(WindowCursorTest, RandomizedCrashesLoseNothingAndResendOnlyTheUnpersistedTail) {
  constexpr std::int64_t kLookback = 120;
  for (unsigned seed = 1; seed <= 40; ++seed) {
    std::mt19937 rng(seed);
    auto uniform = [&](std::int64_t lo, std::int64_t hi) {
      return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    };
    struct ServerEvent {
      std::string id;
      std::int64_t t;
      std::int64_t visible_at;
    };
    const std::int64_t start = 10'000;
    std::vector<ServerEvent> server;
    for (int i = 0; i < 400; ++i) {
      std::int64_t t = start + uniform(0, 3000);
      std::int64_t delay = uniform(0, 9) == 0 ? uniform(1, kLookback - 35) : uniform(0, 2);
      server.push_back({fmt::format("ev{:03}", i), t, t + delay});
    }

    CursorState persisted = fresh(start);
    std::set<std::string> persisted_acked;  // acknowledged as of the persisted state
    auto cursor = std::make_unique<WindowCursor>(persisted, kLookback);
    std::set<std::string> delivered;                               // acknowledged at least once
    std::vector<std::pair<std::uint64_t, std::string>> in_flight;  // seq, id
    std::set<std::string> acked_now;  // acknowledged in this incarnation
    std::uint64_t seq = 100;
    std::int64_t now = start;
    std::int64_t last_w = cursor->watermark();

    for (int step = 0; step < 400; ++step) {
      now += uniform(5, 40);
      TimeWindow w = cursor->nextWindow(now, uniform(0, 3) == 0 ? uniform(1, 200) : 0);
      if (!w.empty()) {
        std::vector<Event> page;
        for (const auto& e : server) {
          if (e.t >= w.start && e.t < w.end && e.visible_at <= now) page.push_back(ev(e.id, e.t));
        }
        std::shuffle(page.begin(), page.end(), rng);
        cursor->selectNew(page);
        for (const auto& e : page) {
          ASSERT_FALSE(persisted_acked.contains(e.id)) << "seed " << seed << ": re-sent " << e.id;
          cursor->emitted(seq, e.id, e.effective_at);
          in_flight.emplace_back(seq, e.id);
          ++seq;
        }
        cursor->windowDone(w);
      }
      // Acknowledge a random prefix of what is in flight.
      if (!in_flight.empty() && uniform(0, 2) > 0) {
        std::size_t n =
            static_cast<std::size_t>(uniform(1, static_cast<std::int64_t>(in_flight.size())));
        cursor->acknowledged(in_flight[n - 1].first);
        for (std::size_t i = 0; i < n; ++i) {
          delivered.insert(in_flight[i].second);
          acked_now.insert(in_flight[i].second);
        }
        in_flight.erase(in_flight.begin(), in_flight.begin() + static_cast<std::ptrdiff_t>(n));
      }
      ASSERT_GE(cursor->watermark(), last_w) << "seed " << seed;
      last_w = cursor->watermark();
      if (uniform(0, 3) == 0) {  // persist
        persisted = roundTrip(cursor->prunedState());
        persisted_acked.insert(acked_now.begin(), acked_now.end());
      }
      if (uniform(0, 24) == 0) {  // crash
        cursor = std::make_unique<WindowCursor>(persisted, kLookback);
        in_flight.clear();
        acked_now = persisted_acked;
        last_w = cursor->watermark();
      }
    }
    // Drain: time passes beyond every event, everything is acknowledged.
    for (int step = 0; step < 20; ++step) {
      now += 60;
      TimeWindow w = cursor->nextWindow(now, 0);
      std::vector<Event> page;
      for (const auto& e : server) {
        if (e.t >= w.start && e.t < w.end && e.visible_at <= now) page.push_back(ev(e.id, e.t));
      }
      cursor->selectNew(page);
      for (const auto& e : page) {
        cursor->emitted(seq++, e.id, e.effective_at);
        delivered.insert(e.id);
      }
      cursor->windowDone(w);
      cursor->acknowledged(seq - 1);
    }
    for (const auto& e : server) {
      ASSERT_TRUE(delivered.contains(e.id))
          << "seed " << seed << ": lost " << e.id << " at " << e.t << " visible " << e.visible_at;
    }
  }
}

}  // namespace
}  // namespace siem

namespace siem {
namespace {

// `n` events spread evenly over [from, to), newest first, the oldest at `from`.
std::vector<Event> spread(std::size_t n, std::int64_t from, std::int64_t to) {
  std::vector<Event> out;
  const auto count = static_cast<std::int64_t>(n);
  for (std::int64_t i = count - 1; i >= 0; --i)
    out.push_back(ev(std::to_string(i), from + i * (to - from) / count));
  return out;
}

TEST(WindowSizingTest, OverflowSizesFromTheDensityOfTheNewestEvents) {
  const TimeWindow w{0, 10'000, 20'000};
  // 100 events in the last 1000 s: 0.1/s, so 20 events (half of 40) take 200 s.
  EXPECT_EQ(spanAfterOverflow(w, spread(100, 9'000, 10'000), 40), 200);
  // Ten a second: 2 s.
  EXPECT_EQ(spanAfterOverflow(w, spread(100, 9'990, 10'000), 40), 2);
  // Never less than a second.
  EXPECT_EQ(spanAfterOverflow(w, spread(100, 9'999, 10'000), 2), 1);
  // Never more than half the window, however sparse.
  EXPECT_EQ(spanAfterOverflow(w, spread(10, 0, 10'000), 40'000), 5'000);
  EXPECT_EQ(spanAfterOverflow(w, {}, 40), 5'000);
}

TEST(WindowSizingTest, FitAimsAtHalfTheLimitAndAtMostDoubles) {
  const TimeWindow w{0, 1'000, 5'000};
  EXPECT_EQ(spanAfterFit(w, 40, 40, 1'000), 500);    // full: halve
  EXPECT_EQ(spanAfterFit(w, 20, 40, 1'000), 1'000);  // on target: keep
  EXPECT_EQ(spanAfterFit(w, 15, 40, 1'000), 1'333);
  EXPECT_EQ(spanAfterFit(w, 1, 40, 1'000), 2'000);  // sparse: at most double
  EXPECT_EQ(spanAfterFit(w, 0, 40, 1'000), 2'000);
  // A window cut short (the end of a backfill) grows from the span it was planned with.
  const TimeWindow cut{0, 100, 5'000};
  EXPECT_EQ(spanAfterFit(cut, 0, 40, 1'000), 2'000);
  EXPECT_EQ(spanAfterFit(cut, 40, 40, 1'000), 50);
}

}  // namespace
}  // namespace siem
