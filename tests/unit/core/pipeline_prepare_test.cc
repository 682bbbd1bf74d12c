// EventEmitter::prepare: rendering ahead of emit(), on any thread.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "agent/core/pipeline.h"
#include "agent/observability/metrics.h"

namespace siem {
namespace {

using namespace std::chrono_literals;

// Runs `body` with the emitter, then idles until stopped.
class ScriptSource final : public Source {
 public:
  explicit ScriptSource(std::function<void(EventEmitter&)> body) : body_(std::move(body)) {}

  void run(std::stop_token stop, EventEmitter& out) override {
    body_(out);
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    cv.wait(lock, stop, [] { return false; });
  }
  void acknowledged(std::uint64_t) override {}
  void commit() override {}
  std::string notReadyReason() const override { return {}; }

 private:
  std::function<void(EventEmitter&)> body_;
};

// Delivers at once and keeps what it was handed.
class KeepingSink final : public Sink {
 public:
  void send(BatchPtr batch, SendCallback done) override {
    {
      std::lock_guard lock(mutex_);
      for (const auto& e : batch->events) seen_.push_back(e);
    }
    cv_.notify_all();
    done(SendOutcome::delivered());
  }
  // Waits (with a deadline) until `n` events were handed over, and returns them.
  std::vector<EventPtr> waitFor(std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, 10s, [&] { return seen_.size() >= n; });
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<EventPtr> seen_;
};

Event makeEvent(int i, std::string type) {
  Event e;
  e.id = "id" + std::to_string(i);
  e.type = std::move(type);
  e.outcome = Outcome::kSuccess;
  e.raw = R"({"id":")" + e.id + R"("})";
  return e;
}

// Renders "<encoding>:<id>@<organization>" and counts calls per encoding and per event.
struct CountingRenderer {
  std::atomic<int> calls[kEncodingCount] = {};
  std::mutex mutex;
  std::multiset<std::string> rendered;  // "<encoding>:<id>" once per call
  std::set<std::string> failing;        // ids whose rendering throws

  Renderer fn() {
    return [this](const Event& e, Encoding enc) {
      ++calls[static_cast<std::size_t>(enc)];
      {
        std::lock_guard lock(mutex);
        rendered.insert(std::string(toString(enc)) + ":" + e.id);
      }
      if (failing.count(e.id) != 0) throw std::runtime_error("cannot map this one");
      const std::string org = e.source != nullptr ? e.source->organization_id : "?";
      return std::string(toString(enc)) + ":" + e.id + "@" + org;
    };
  }
  std::size_t count(const std::string& key) {
    std::lock_guard lock(mutex);
    return rendered.count(key);
  }
};

// Sinks a (ocsf), b (ecs), c (raw). login.* -> a; api_key.* -> b, c; anything else: no route.
Config threeSinkConfig() {
  Config config;
  config.data_dir = ::testing::TempDir() + "pipeline-prepare-test";
  config.sources.push_back({"src", "script", "org-1", nullptr, {}});
  SinkConfig a;
  a.id = "a";
  a.type = "keeping";
  a.encoding = Encoding::kOcsf;
  a.batch = {50, 1'000'000, 5};
  SinkConfig b = a;
  b.id = "b";
  b.encoding = Encoding::kEcs;
  SinkConfig c = a;
  c.id = "c";
  c.encoding = Encoding::kRaw;
  config.sinks = {a, b, c};
  RouteConfig logins;
  logins.name = "logins";
  logins.from = {"*"};
  logins.when.type_globs = {"login.*"};
  logins.to = {"a"};
  RouteConfig keys;
  keys.name = "keys";
  keys.from = {"src"};
  keys.when.type_globs = {"api_key.*"};
  keys.to = {"b", "c"};
  config.routes = {logins, keys};
  return config;
}

struct Harness {
  Config config = threeSinkConfig();
  Metrics metrics{"test"};
  ComponentRegistry registry;
  CountingRenderer renderer;
  KeepingSink* a = nullptr;
  KeepingSink* b = nullptr;
  KeepingSink* c = nullptr;
  std::unique_ptr<Pipeline> pipeline;

  void start(std::function<void(EventEmitter&)> body) {
    pipeline =
        std::make_unique<Pipeline>(config, registry, metrics, renderer.fn(), PipelineOptions{});
    std::vector<std::unique_ptr<Source>> sources;
    sources.push_back(std::make_unique<ScriptSource>(std::move(body)));
    std::vector<std::unique_ptr<Sink>> sinks;
    for (KeepingSink** slot : {&a, &b, &c}) {
      auto sink = std::make_unique<KeepingSink>();
      *slot = sink.get();
      sinks.push_back(std::move(sink));
    }
    ASSERT_TRUE(pipeline->build(std::move(sources), std::move(sinks)));
    pipeline->start();
  }
  ~Harness() {
    if (pipeline) pipeline->stop(std::chrono::steady_clock::now() + 5s);
  }
};

std::uint8_t bit(Encoding e) { return static_cast<std::uint8_t>(1U << static_cast<unsigned>(e)); }

const char* typeOf(int i) {
  return i % 3 == 0 ? "login.succeeded" : i % 3 == 1 ? "api_key.created" : "group.created";
}

TEST(PipelinePrepareTest, PrepareRendersWhatRoutedSinksNeedAndEmitDoesNotRenderAgain) {
  constexpr int kEvents = 30;
  Harness h;
  std::vector<std::uint8_t> masks;      // after prepare
  std::vector<std::string> ocsf_forms;  // after prepare
  std::promise<void> emitted;
  h.start([&](EventEmitter& out) {
    std::vector<Event> events;
    for (int i = 0; i < kEvents; ++i) events.push_back(makeEvent(i, typeOf(i)));
    // The first two thirds are prepared ahead; emit() must render the rest itself.
    out.prepare(std::span<Event>(events).first(20));
    for (const Event& e : events) {
      masks.push_back(e.rendered_mask);
      ocsf_forms.push_back(e.rendered[static_cast<std::size_t>(Encoding::kOcsf)]);
    }
    for (Event& e : events) {
      if (!out.emit(std::move(e))) return;
    }
    emitted.set_value();
  });
  const auto at_a = h.a->waitFor(10);
  const auto at_b = h.b->waitFor(10);
  const auto at_c = h.c->waitFor(10);
  ASSERT_EQ(emitted.get_future().wait_for(10s), std::future_status::ready);
  ASSERT_EQ(at_a.size(), 10u);
  ASSERT_EQ(at_b.size(), 10u);
  ASSERT_EQ(at_c.size(), 10u);

  ASSERT_EQ(masks.size(), static_cast<std::size_t>(kEvents));
  for (int i = 0; i < kEvents; ++i) {
    SCOPED_TRACE(i);
    if (i >= 20) {
      EXPECT_EQ(masks[i], 0);  // not prepared
    } else if (i % 3 == 0) {
      EXPECT_EQ(masks[i], bit(Encoding::kOcsf));
      EXPECT_EQ(ocsf_forms[i], "ocsf:id" + std::to_string(i) + "@org-1");
    } else if (i % 3 == 1) {
      EXPECT_EQ(masks[i], bit(Encoding::kEcs));  // raw needs no rendering
    } else {
      EXPECT_EQ(masks[i], 0);  // routed nowhere: nothing rendered
    }
  }
  // Each routed event rendered exactly once per encoding its sinks use, prepared or not.
  EXPECT_EQ(h.renderer.calls[static_cast<std::size_t>(Encoding::kOcsf)].load(), 10);
  EXPECT_EQ(h.renderer.calls[static_cast<std::size_t>(Encoding::kEcs)].load(), 10);
  EXPECT_EQ(h.renderer.calls[static_cast<std::size_t>(Encoding::kRaw)].load(), 0);
  for (const auto& e : at_a) {
    EXPECT_EQ(h.renderer.count("ocsf:" + e->id), 1u);
    EXPECT_EQ(e->encoded(Encoding::kOcsf), "ocsf:" + e->id + "@org-1");
  }
  for (const auto& e : at_b) EXPECT_EQ(e->encoded(Encoding::kEcs), "ecs:" + e->id + "@org-1");
  for (const auto& e : at_c) EXPECT_EQ(e->encoded(Encoding::kRaw), e->raw);
}

TEST(PipelinePrepareTest, PrepareFromSeveralThreadsAtOnceRendersEachEventOnce) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 600;
  constexpr int kEvents = kThreads * kPerThread;
  Harness h;
  std::promise<void> emitted;
  std::atomic<int> prepared_wrong{0};
  h.start([&](EventEmitter& out) {
    std::vector<Event> events;
    for (int i = 0; i < kEvents; ++i) events.push_back(makeEvent(i, typeOf(i)));
    {
      // Distinct slices, prepared at the same time (a barrier lines the threads up).
      std::atomic<int> ready{0};
      std::vector<std::jthread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          ++ready;
          while (ready.load() < kThreads) std::this_thread::yield();
          const auto slice = std::span<Event>(events).subspan(t * kPerThread, kPerThread);
          for (std::size_t k = 0; k < slice.size(); k += 7) {
            out.prepare(slice.subspan(k, std::min<std::size_t>(7, slice.size() - k)));
          }
        });
      }
    }
    for (int i = 0; i < kEvents; ++i) {
      const Event& e = events[i];
      const std::uint8_t want = i % 3 == 0   ? bit(Encoding::kOcsf)
                                : i % 3 == 1 ? bit(Encoding::kEcs)
                                             : 0;
      if (e.rendered_mask != want) ++prepared_wrong;
    }
    for (Event& e : events) {
      if (!out.emit(std::move(e))) return;
    }
    emitted.set_value();
  });
  const auto at_a = h.a->waitFor(kEvents / 3);
  const auto at_b = h.b->waitFor(kEvents / 3);
  ASSERT_EQ(emitted.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(prepared_wrong.load(), 0);
  ASSERT_EQ(at_a.size(), static_cast<std::size_t>(kEvents / 3));
  ASSERT_EQ(at_b.size(), static_cast<std::size_t>(kEvents / 3));
  EXPECT_EQ(h.renderer.calls[static_cast<std::size_t>(Encoding::kOcsf)].load(), kEvents / 3);
  EXPECT_EQ(h.renderer.calls[static_cast<std::size_t>(Encoding::kEcs)].load(), kEvents / 3);
  for (const auto& e : at_a) EXPECT_EQ(e->encoded(Encoding::kOcsf), "ocsf:" + e->id + "@org-1");
  for (const auto& e : at_b) EXPECT_EQ(e->encoded(Encoding::kEcs), "ecs:" + e->id + "@org-1");
}

// The value of errors_total{component_id="src", error_type="encode", stage="render"}, 0 if absent.
double renderErrors(const Metrics& metrics) {
  std::istringstream text(metrics.serialize());
  for (std::string line; std::getline(text, line);) {
    if (line.rfind("siem_agent_component_errors_total{", 0) != 0) continue;
    if (line.find(R"(component_id="src")") == std::string::npos ||
        line.find(R"(error_type="encode")") == std::string::npos ||
        line.find(R"(stage="render")") == std::string::npos)
      continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return 0;
}

TEST(PipelinePrepareTest, ARenderFailureInPrepareIsCountedAndTheOriginalForwarded) {
  Harness h;
  h.renderer.failing = {"id0"};
  std::uint8_t mask = 0;
  std::string form;
  double errors_after_prepare = -1;
  std::promise<void> emitted;
  h.start([&](EventEmitter& out) {
    std::vector<Event> events{makeEvent(0, "login.failed"), makeEvent(3, "login.succeeded")};
    std::jthread([&] { out.prepare(events); }).join();  // from another thread
    mask = events[0].rendered_mask;
    form = events[0].rendered[static_cast<std::size_t>(Encoding::kOcsf)];
    errors_after_prepare = renderErrors(h.metrics);
    for (Event& e : events) {
      if (!out.emit(std::move(e))) return;
    }
    emitted.set_value();
  });
  const auto at_a = h.a->waitFor(2);
  ASSERT_EQ(emitted.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(mask, bit(Encoding::kOcsf));
  EXPECT_EQ(form, R"({"id":"id0"})");
  EXPECT_EQ(errors_after_prepare, 1);
  ASSERT_EQ(at_a.size(), 2u);
  EXPECT_EQ(at_a[0]->id, "id0");
  EXPECT_EQ(at_a[0]->encoded(Encoding::kOcsf), R"({"id":"id0"})");  // the original
  EXPECT_EQ(at_a[1]->encoded(Encoding::kOcsf), "ocsf:id3@org-1");
  // emit() did not try again: one attempt, one error.
  EXPECT_EQ(h.renderer.count("ocsf:id0"), 1u);
  EXPECT_EQ(renderErrors(h.metrics), 1);
}

}  // namespace
}  // namespace siem
