// The HEC sink against a scripted loopback server: what it sends, how it splits requests, how it
// turns each answer into per-event outcomes, and the indexer-acknowledgement cycle.
#include "sinks/splunk_hec/sink.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "agent/observability/metrics.h"
#include "tests/unit/config/test_util.h"

namespace siem {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::SizeIs;

constexpr auto D = Disposition::kDelivered;
constexpr auto R = Disposition::kRetry;
constexpr auto X = Disposition::kRejected;
constexpr auto kWait = std::chrono::seconds(10);

const std::string kSuccess = R"({"text":"Success","code":0})";

// A loopback server whose answers the test scripts, recording every request (bodies decoded).
class ScriptedHec {
 public:
  struct Seen {
    std::string path;
    std::string body;
    httplib::Headers headers;
  };
  struct Answer {
    int status = 200;
    std::string body = kSuccess;
  };
  using Script = std::function<Answer(const Seen&)>;

  ScriptedHec() {
    auto handle = [this](const httplib::Request& req, httplib::Response& res) {
      Seen seen{req.path, req.body, req.headers};
      Script script;
      {
        std::lock_guard lock(mutex_);
        seen_.push_back(seen);
        script = scripts_[req.path];
      }
      const Answer answer = script ? script(seen) : Answer{};
      res.status = answer.status;
      res.set_content(answer.body, "application/json");
      cv_.notify_all();
    };
    server_.Post(".*", handle);
    server_.Get(".*", handle);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the accept loop runs, so the destructor must not race it.
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
  ~ScriptedHec() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void on(const std::string& path, Script script) {
    std::lock_guard lock(mutex_);
    scripts_[path] = std::move(script);
  }
  std::vector<Seen> requests(const std::string& path) const {
    std::lock_guard lock(mutex_);
    std::vector<Seen> out;
    for (const Seen& s : seen_) {
      if (s.path == path) out.push_back(s);
    }
    return out;
  }
  bool waitFor(const std::string& path, std::size_t count) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, kWait, [&] {
      return std::count_if(seen_.begin(), seen_.end(), [&](const Seen& s) {
               return s.path == path;
             }) >= static_cast<std::ptrdiff_t>(count);
    });
  }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mutex_;  // guards seen_ and scripts_
  std::condition_variable cv_;
  std::vector<Seen> seen_;
  std::map<std::string, Script> scripts_;
};

const std::string kEvent = "/services/collector/event";
const std::string kAck = "/services/collector/ack";
const std::string kHealth = "/services/collector/health";

// Collects the done callback of one send.
class Captured {
 public:
  SendCallback callback() {
    return [this](SendOutcome o) {
      std::lock_guard lock(mutex_);
      ++calls_;
      outcome_ = std::move(o);
      cv_.notify_all();
    };
  }
  std::optional<SendOutcome> wait(std::chrono::milliseconds timeout = kWait) {
    std::unique_lock lock(mutex_);
    if (!cv_.wait_for(lock, timeout, [&] { return calls_ > 0; })) return std::nullopt;
    return outcome_;
  }
  int calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  int calls_ = 0;
  SendOutcome outcome_;
};

std::vector<Disposition> dispositions(const SendOutcome& o, std::size_t n) {
  std::vector<Disposition> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(o.at(i));
  return out;
}

BatchPtr batchOf(std::size_t n, std::size_t payload = 10) {
  auto b = std::make_shared<Batch>();
  for (std::size_t i = 0; i < n; ++i) {
    auto e = std::make_shared<Event>();
    e->id = "audit_log-" + std::to_string(i);
    e->type = "login.succeeded";
    e->effective_at = 1767225600 + static_cast<std::int64_t>(i);
    e->raw = R"({"id":")" + e->id + R"(","pad":")" + std::string(payload, 'x') + R"("})";
    b->bytes += e->raw.size();
    b->events.push_back(std::move(e));
  }
  return b;
}

// The events' ids in a request body, in order.
std::vector<std::string> idsIn(const std::string& body) {
  std::vector<std::string> ids;
  for (std::size_t pos = 0; (pos = body.find(R"("id":")", pos)) != std::string::npos;) {
    pos += 6;
    ids.push_back(body.substr(pos, body.find('"', pos) - pos));
  }
  return ids;
}

class SplunkHecSinkTest : public ::testing::Test {
 protected:
  SplunkHecSettings settings() const {
    SplunkHecSettings s;
    s.sink_id = "hec";
    s.endpoint = hec_.url();
    s.token = "tok-1";
    s.format.encoding = Encoding::kRaw;
    s.format.sourcetype = *HecTemplate::parse("openai:audit");
    s.healthcheck = false;
    s.timeout = milliseconds(5000);
    s.ack_poll_interval = milliseconds(20);
    return s;
  }
  std::unique_ptr<SplunkHecSink> make(SplunkHecSettings s) {
    auto sink = std::make_unique<SplunkHecSink>(std::move(s), component_, pending_);
    sink->start();
    return sink;
  }

  ScriptedHec hec_;
  Metrics metrics_{"test"};
  ComponentMetrics& component_ = metrics_.component("hec", "sink", "splunk_hec");
  prometheus::Gauge& pending_ = component_.extraGauge("splunk_pending_acks", "test");
};

TEST_F(SplunkHecSinkTest, SendsOneGzippedRequestOfConcatenatedEnvelopes) {
  auto sink = make(settings());
  const BatchPtr batch = batchOf(3);
  Captured done;
  sink->send(batch, done.callback());
  const auto outcome = done.wait();
  ASSERT_TRUE(outcome);
  EXPECT_THAT(dispositions(*outcome, 3), ElementsAre(D, D, D));

  const auto seen = hec_.requests(kEvent);
  ASSERT_THAT(seen, SizeIs(1));
  const auto& h = seen[0].headers;
  EXPECT_EQ(h.find("Authorization")->second, "Splunk tok-1");
  EXPECT_EQ(h.find("Content-Encoding")->second, "gzip");
  EXPECT_EQ(h.find("Content-Type")->second, "application/json");
  EXPECT_EQ(h.find("X-Splunk-Request-Channel")->second, sink->channel());
  EXPECT_THAT(sink->channel(),
              MatchesRegex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  std::string expected;
  for (const auto& e : batch->events) appendHecEnvelope(expected, *e, settings().format);
  EXPECT_EQ(seen[0].body, expected);
}

TEST_F(SplunkHecSinkTest, UncompressedWhenAskedAndTheChannelIsStable) {
  auto s = settings();
  s.gzip = false;
  auto sink = make(s);
  for (int i = 0; i < 2; ++i) {
    Captured done;
    sink->send(batchOf(1), done.callback());
    ASSERT_TRUE(done.wait());
  }
  const auto seen = hec_.requests(kEvent);
  ASSERT_THAT(seen, SizeIs(2));
  EXPECT_EQ(seen[0].headers.count("Content-Encoding"), 0u);
  EXPECT_EQ(seen[0].headers.find("X-Splunk-Request-Channel")->second,
            seen[1].headers.find("X-Splunk-Request-Channel")->second);
}

TEST_F(SplunkHecSinkTest, SplitsABatchIntoRequestsOfAtMostMaxRequestBytes) {
  auto s = settings();
  s.max_request_bytes = 1000;
  auto sink = make(s);
  Captured done;
  sink->send(batchOf(20, 100), done.callback());
  const auto outcome = done.wait();
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->disposition, D);
  EXPECT_TRUE(outcome->per_event.empty());
  const auto seen = hec_.requests(kEvent);
  ASSERT_GT(seen.size(), 2u);
  std::vector<std::string> ids;
  for (const auto& r : seen) {
    EXPECT_LE(r.body.size(), 1000u);
    for (auto& id : idsIn(r.body)) ids.push_back(id);
  }
  ASSERT_THAT(ids, SizeIs(20));
  for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], "audit_log-" + std::to_string(i));
}

TEST_F(SplunkHecSinkTest, ABatchCutWithTheSinksFramingFitsOneRequest) {
  auto s = settings();
  s.max_request_bytes = 10'000;
  auto sink = make(s);
  const std::size_t framing = sink->framingBytes();
  // The envelope of one of these events, less the event itself: what framing must cover.
  const BatchPtr probe = batchOf(1, 100);
  std::string one;
  ASSERT_TRUE(appendHecEnvelope(one, *probe->events[0], s.format));
  const std::size_t event_size = probe->events[0]->raw.size();
  ASSERT_GE(framing, one.size() - event_size);
  ASSERT_LT(framing, one.size() - event_size + 64) << "an estimate this loose wastes requests";

  // As many events as the driver puts in a batch of max_request_bytes with that framing.
  const std::size_t n = s.max_request_bytes / (event_size + framing);
  Captured done;
  sink->send(batchOf(n, 100), done.callback());
  ASSERT_TRUE(done.wait());
  const auto seen = hec_.requests(kEvent);
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_THAT(idsIn(seen[0].body), SizeIs(n));
  EXPECT_LE(seen[0].body.size(), s.max_request_bytes);
  // After a send the estimate is the batch's average envelope (plus a margin), still covering it.
  EXPECT_GE(sink->framingBytes(), (seen[0].body.size() - n * event_size) / n);
  EXPECT_LE(sink->framingBytes(), framing + 8);
}

TEST_F(SplunkHecSinkTest, PartialBatchDeliversThePrefixAndDeadLettersTheBadEvent) {
  hec_.on(kEvent, [](const ScriptedHec::Seen&) {
    return ScriptedHec::Answer{
        400, R"({"text":"Invalid data format","code":6,"invalid-event-number":1})"};
  });
  auto sink = make(settings());
  Captured done;
  sink->send(batchOf(4), done.callback());
  const auto outcome = done.wait();
  ASSERT_TRUE(outcome);
  EXPECT_THAT(dispositions(*outcome, 4), ElementsAre(D, X, R, R));
  EXPECT_THAT(outcome->reasonAt(1), HasSubstr("code 6"));
}

TEST_F(SplunkHecSinkTest, AFailedRequestStopsTheRestOfTheBatchAndKeepsEarlierRequests) {
  int calls = 0;
  hec_.on(kEvent, [&calls](const ScriptedHec::Seen&) {
    return ++calls == 1 ? ScriptedHec::Answer{}
                        : ScriptedHec::Answer{503, R"({"text":"Server is busy","code":9})"};
  });
  auto s = settings();
  s.max_request_bytes = 400;
  auto sink = make(s);
  Captured done;
  const BatchPtr batch = batchOf(12, 100);
  sink->send(batch, done.callback());
  const auto outcome = done.wait();
  ASSERT_TRUE(outcome);
  const auto seen = hec_.requests(kEvent);
  ASSERT_THAT(seen, SizeIs(2));  // the third and later requests are not sent
  const std::size_t first = idsIn(seen[0].body).size();
  ASSERT_GT(first, 0u);
  for (std::size_t i = 0; i < batch->size(); ++i) {
    EXPECT_EQ(outcome->at(i), i < first ? D : R) << i;
  }
  EXPECT_EQ(outcome->error_type, "hec_busy");
}

TEST_F(SplunkHecSinkTest, A413OnTheFirstRequestAsksTheDriverToSplit) {
  hec_.on(kEvent, [](const ScriptedHec::Seen&) { return ScriptedHec::Answer{413, "too big"}; });
  auto sink = make(settings());
  Captured done;
  sink->send(batchOf(4), done.callback());
  const auto outcome = done.wait();
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->too_large);
}

TEST_F(SplunkHecSinkTest, AnEventOverMaxEventBytesIsDeadLetteredWithoutBeingSent) {
  auto s = settings();
  s.max_event_bytes = 300;
  auto sink = make(s);
  auto batch = std::make_shared<Batch>(*batchOf(3));
  auto big = std::make_shared<Event>(*batch->events[1]);
  big->raw = R"({"id":"audit_log-big","pad":")" + std::string(1000, 'y') + R"("})";
  batch->events[1] = big;
  Captured done;
  sink->send(batch, done.callback());
  const auto outcome = done.wait();
  ASSERT_TRUE(outcome);
  EXPECT_THAT(dispositions(*outcome, 3), ElementsAre(D, X, D));
  EXPECT_THAT(outcome->reasonAt(1), HasSubstr("max_event_bytes=300"));
  EXPECT_EQ(outcome->error_type, "event_too_large");
  const auto seen = hec_.requests(kEvent);
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_THAT(idsIn(seen[0].body), ElementsAre("audit_log-0", "audit_log-2"));
}

TEST_F(SplunkHecSinkTest, ARefusedConnectionIsRetried) {
  auto s = settings();
  s.endpoint = "http://127.0.0.1:1";
  auto sink = make(s);
  Captured done;
  sink->send(batchOf(2), done.callback());
  const auto outcome = done.wait();
  ASSERT_TRUE(outcome);
  EXPECT_THAT(dispositions(*outcome, 2), ElementsAre(R, R));
  EXPECT_EQ(outcome->error_type, "connection");
  EXPECT_THAT(outcome->reason, HasSubstr("http://127.0.0.1:1"));
}

TEST_F(SplunkHecSinkTest, ARotatedTokenFileIsReadAfterA403) {
  siem::testing::TempDir dir;
  const std::string file = dir.write("token", "old\n");
  hec_.on(kEvent, [](const ScriptedHec::Seen& seen) {
    return seen.headers.find("Authorization")->second == "Splunk new"
               ? ScriptedHec::Answer{}
               : ScriptedHec::Answer{403, R"({"text":"Invalid token","code":4})"};
  });
  auto s = settings();
  s.token = "old";
  s.token_file = file;
  auto sink = make(s);
  dir.write("token", "new\n");
  Captured first;
  sink->send(batchOf(1), first.callback());
  const auto refused = first.wait();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->disposition, R);
  EXPECT_TRUE(refused->unhealthy);
  EXPECT_EQ(refused->error_type, "auth");
  Captured second;
  sink->send(batchOf(1), second.callback());
  const auto accepted = second.wait();
  ASSERT_TRUE(accepted);
  EXPECT_EQ(accepted->disposition, D);
}

TEST_F(SplunkHecSinkTest, IndexerAckDeliversOnlyOnceTheAckIsTrue) {
  std::atomic<bool> indexed{false};
  hec_.on(kEvent, [](const ScriptedHec::Seen&) {
    return ScriptedHec::Answer{200, R"({"text":"Success","code":0,"ackId":7})"};
  });
  hec_.on(kAck, [&indexed](const ScriptedHec::Seen& seen) {
    EXPECT_EQ(seen.body, R"({"acks":[7]})");
    return ScriptedHec::Answer{200, indexed ? R"({"acks":{"7":true}})" : R"({"acks":{"7":false}})"};
  });
  auto s = settings();
  s.indexer_ack = true;
  auto sink = make(s);
  Captured done;
  sink->send(batchOf(3), done.callback());
  ASSERT_TRUE(hec_.waitFor(kAck, 3));
  EXPECT_EQ(done.calls(), 0) << "delivered before the ack";
  EXPECT_EQ(pending_.Value(), 1);
  const auto ack = hec_.requests(kAck).front();
  EXPECT_EQ(ack.headers.find("X-Splunk-Request-Channel")->second, sink->channel());
  EXPECT_EQ(ack.headers.find("Authorization")->second, "Splunk tok-1");
  indexed = true;
  const auto outcome = done.wait();
  ASSERT_TRUE(outcome);
  EXPECT_THAT(dispositions(*outcome, 3), ElementsAre(D, D, D));
  EXPECT_EQ(pending_.Value(), 0);
}

TEST_F(SplunkHecSinkTest, AnAckNeverConfirmedIsResentAfterTheTimeout) {
  hec_.on(kEvent, [](const ScriptedHec::Seen&) {
    return ScriptedHec::Answer{200, R"({"text":"Success","code":0,"ackId":0})"};
  });
  hec_.on(kAck, [](const ScriptedHec::Seen&) {
    return ScriptedHec::Answer{200, R"({"acks":{"0":false}})"};
  });
  auto s = settings();
  s.indexer_ack = true;
  s.ack_timeout = milliseconds(300);
  auto sink = make(s);
  Captured done;
  const auto started = std::chrono::steady_clock::now();
  sink->send(batchOf(2), done.callback());
  const auto outcome = done.wait();
  ASSERT_TRUE(outcome);
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(300));
  EXPECT_THAT(dispositions(*outcome, 2), ElementsAre(R, R));
  EXPECT_EQ(outcome->error_type, "ack_timeout");
  EXPECT_THAT(outcome->reason, HasSubstr("ack id 0"));
  EXPECT_EQ(pending_.Value(), 0);
}

TEST_F(SplunkHecSinkTest, AckDisabledFallsBackToTwoHundredMeansDelivered) {
  hec_.on(kEvent, [](const ScriptedHec::Seen&) {
    return ScriptedHec::Answer{200, R"({"text":"Success","code":0,"ackId":0})"};
  });
  hec_.on(kAck, [](const ScriptedHec::Seen&) {
    return ScriptedHec::Answer{400, R"({"text":"ACK is disabled","code":14})"};
  });
  auto s = settings();
  s.indexer_ack = true;
  auto sink = make(s);
  Captured first;
  sink->send(batchOf(2), first.callback());
  const auto outcome = first.wait();
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->disposition, D);
  // From now on a 200 is final at once.
  Captured second;
  sink->send(batchOf(1), second.callback());
  EXPECT_EQ(second.calls(), 1);
  EXPECT_THAT(hec_.requests(kAck), SizeIs(1));
}

TEST_F(SplunkHecSinkTest, WithoutAnAckIdATwoHundredIsFinal) {
  auto s = settings();
  s.indexer_ack = true;
  auto sink = make(s);
  Captured done;
  sink->send(batchOf(1), done.callback());
  EXPECT_EQ(done.calls(), 1);
  EXPECT_EQ(done.wait()->disposition, D);
}

TEST_F(SplunkHecSinkTest, AReissuedAckIdResendsTheEarlierBatchAtOnce) {
  hec_.on(kEvent, [](const ScriptedHec::Seen&) {
    return ScriptedHec::Answer{200, R"({"text":"Success","code":0,"ackId":0})"};
  });
  hec_.on(kAck, [](const ScriptedHec::Seen&) {
    return ScriptedHec::Answer{200, R"({"acks":{"0":false}})"};
  });
  auto s = settings();
  s.indexer_ack = true;
  s.ack_timeout = std::chrono::hours(1);
  auto sink = make(s);
  Captured before;
  sink->send(batchOf(1), before.callback());
  Captured after;
  sink->send(batchOf(1), after.callback());
  const auto outcome = before.wait();
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->disposition, R);
  EXPECT_THAT(outcome->reason, HasSubstr("reissued"));
  EXPECT_EQ(after.calls(), 0);
  sink->stop(std::chrono::steady_clock::now());
  const auto stopped = after.wait();
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->disposition, R);
  EXPECT_THAT(stopped->reason, HasSubstr("stopping"));
}

TEST_F(SplunkHecSinkTest, AStartUpHealthProblemIsReportedUntilASendSucceeds) {
  hec_.on(kHealth, [](const ScriptedHec::Seen&) {
    return ScriptedHec::Answer{503, R"({"text":"HEC is unhealthy, queues are full","code":18})"};
  });
  auto s = settings();
  s.healthcheck = true;
  auto sink = make(s);
  ASSERT_TRUE(hec_.waitFor(kHealth, 1));
  const auto deadline = std::chrono::steady_clock::now() + kWait;
  while (sink->healthProblem().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_THAT(sink->healthProblem(), HasSubstr("queues are full"));
  EXPECT_EQ(hec_.requests(kHealth)[0].headers.find("Authorization")->second, "Splunk tok-1");
  Captured done;
  sink->send(batchOf(1), done.callback());
  ASSERT_TRUE(done.wait());
  EXPECT_EQ(sink->healthProblem(), "");
}

TEST_F(SplunkHecSinkTest, FactoryAppliesTheOptions) {
  auto options = std::make_shared<SplunkHecSinkOptions>();
  options->endpoint = hec_.url();
  options->token = "tok-9";
  options->index = "oai_{family}";
  options->compression = HecCompression::kNone;
  options->healthcheck = false;
  SinkConfig config;
  config.id = "splunk";
  config.type = "splunk_hec";
  config.encoding = Encoding::kRaw;
  config.options = options;
  Config agent_config;
  SinkEnv env{agent_config, component_};
  auto sink = createSplunkHecSink(config, env);
  ASSERT_TRUE(sink) << sink.error().message;
  (*sink)->start();
  Captured done;
  (*sink)->send(batchOf(1), done.callback());
  ASSERT_TRUE(done.wait());
  const auto seen = hec_.requests(kEvent);
  ASSERT_THAT(seen, SizeIs(1));
  EXPECT_EQ(seen[0].headers.find("Authorization")->second, "Splunk tok-9");
  EXPECT_THAT(seen[0].body, HasSubstr(R"("index":"oai_login")"));
  EXPECT_THAT(seen[0].body, HasSubstr(R"("sourcetype":"openai:audit")"));
  EXPECT_THAT(seen[0].body, HasSubstr(R"("source":"siem-agent:")"));
}

}  // namespace
}  // namespace siem
