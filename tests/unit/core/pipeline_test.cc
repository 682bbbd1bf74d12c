#include "agent/core/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "agent/observability/metrics.h"

namespace siem {
namespace {

using namespace std::chrono_literals;

// Emits a fixed list of events, then idles; records acknowledgements.
class ListSource final : public Source {
 public:
  explicit ListSource(std::vector<Event> events) : events_(std::move(events)) {}

  void run(std::stop_token stop, EventEmitter& out) override {
    for (auto& e : events_) {
      if (!out.emit(std::move(e))) return;
    }
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait(lock, stop, [] { return false; });
  }
  void acknowledged(std::uint64_t upto) override {
    std::lock_guard lock(mutex_);
    EXPECT_GT(upto, acked_) << "acknowledgements must increase";
    acked_ = upto;
    cv_.notify_all();
  }
  void commit() override { committed_ = true; }
  std::string notReadyReason() const override { return {}; }

  bool waitAcked(std::uint64_t n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 10s, [&] { return acked_ >= n; });
  }
  std::uint64_t acked() {
    std::lock_guard lock(mutex_);
    return acked_;
  }
  std::atomic<bool> committed_{false};

 private:
  std::vector<Event> events_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t acked_ = 0;
};

// Delivers at once, except the batch holding event "id0", which it confirms only on release():
// every later batch completes before the first one.
class RecordingSink final : public Sink {
 public:
  void send(BatchPtr batch, SendCallback done) override {
    std::lock_guard lock(mutex_);
    bool hold = false;
    for (const auto& e : batch->events) {
      seen_.push_back(e);
      hold |= e->id == "id0";
    }
    if (hold) {
      held_ = std::move(done);
    } else {
      done(SendOutcome::delivered());
    }
  }
  void release() {
    SendCallback done;
    {
      std::lock_guard lock(mutex_);
      done = std::move(held_);
    }
    ASSERT_TRUE(done);
    done(SendOutcome::delivered());
  }
  std::size_t seenCount() {
    std::lock_guard lock(mutex_);
    return seen_.size();
  }
  std::vector<EventPtr> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::vector<EventPtr> seen_;
  SendCallback held_;
};

Event makeEvent(int i, std::string type) {
  Event e;
  e.id = "id" + std::to_string(i);
  e.type = std::move(type);
  e.outcome = Outcome::kSuccess;
  e.raw = R"({"id":"x"})";
  return e;
}

TEST(PipelineTest, RoutesRendersOnceAndAcknowledgesOnlyWhatEverySinkConfirmed) {
  Config config;
  config.data_dir = ::testing::TempDir() + "pipeline-test";
  config.sources.push_back({"src", "list", "org-1", nullptr, {}});
  SinkConfig a;
  a.id = "a";
  a.type = "recording";
  a.encoding = Encoding::kOcsf;
  a.batch = {3, 1'000'000, 5};
  a.concurrency = 4;  // the held batch occupies one slot; the others keep flowing
  SinkConfig b = a;
  b.id = "b";
  b.encoding = Encoding::kRaw;
  config.sinks = {a, b};
  RouteConfig logins;
  logins.name = "logins";
  logins.from = {"*"};
  logins.when.type_globs = {"login.*"};
  logins.to = {"a", "b"};
  RouteConfig keys;
  keys.name = "keys";
  keys.from = {"src"};
  keys.when.type_globs = {"api_key.*"};
  keys.to = {"b"};
  config.routes = {logins, keys};

  std::vector<Event> events;
  for (int i = 0; i < 30; ++i) {
    const char* type = i % 3 == 0   ? "login.failed"
                       : i % 3 == 1 ? "api_key.created"
                                    : "group.created";
    events.push_back(makeEvent(i, type));
  }
  auto source = std::make_unique<ListSource>(std::move(events));
  ListSource* src = source.get();
  auto sink_a = std::make_unique<RecordingSink>();
  auto sink_b = std::make_unique<RecordingSink>();
  RecordingSink* ra = sink_a.get();
  RecordingSink* rb = sink_b.get();

  std::atomic<int> renders{0};
  Metrics metrics("test");
  ComponentRegistry registry;
  Pipeline pipeline(config, registry, metrics,
                    [&](const Event& e, Encoding enc) {
                      ++renders;
                      EXPECT_EQ(enc, Encoding::kOcsf);
                      EXPECT_EQ(e.source->organization_id, "org-1");
                      return std::string(R"({"class_uid":3002})");
                    },
                    {});
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(std::move(source));
  std::vector<std::unique_ptr<Sink>> sinks;
  sinks.push_back(std::move(sink_a));
  sinks.push_back(std::move(sink_b));
  ASSERT_TRUE(pipeline.build(std::move(sources), std::move(sinks)));
  pipeline.start();
  // Wait until both sinks have been handed every event routed to them.
  for (int i = 0; i < 10000 && (ra->seenCount() < 10 || rb->seenCount() < 20); ++i)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(ra->seenCount(), 10u);
  ASSERT_EQ(rb->seenCount(), 20u);
  // Everything after the first event is confirmed, but the first is still held by both sinks:
  // the cursor must not move at all.
  EXPECT_EQ(src->acked(), 0u);
  ra->release();
  EXPECT_EQ(src->acked(), 0u);  // sink b still holds it
  rb->release();
  ASSERT_TRUE(src->waitAcked(30));
  pipeline.stop(std::chrono::steady_clock::now() + 5s);

  EXPECT_TRUE(src->committed_);
  EXPECT_EQ(renders.load(), 10);  // only the login events go to the OCSF sink, rendered once each
  EXPECT_EQ(ra->seen().size(), 10u);
  EXPECT_EQ(rb->seen().size(), 20u);
  for (const auto& e : ra->seen()) EXPECT_EQ(e->encoded(Encoding::kOcsf), R"({"class_uid":3002})");
  auto& m = metrics.component("src", "source", "list");
  EXPECT_EQ(m.discarded_intentional.Value(), 10);  // group.* matched no route
  EXPECT_TRUE(pipeline.notReadyReasons().empty());
}

}  // namespace
}  // namespace siem
