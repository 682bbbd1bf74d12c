#include "agent/sources/openai/source.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include "agent/observability/metrics.h"
#include "tests/unit/observability/exposition.h"
#include "tests/unit/sources/openai/fake_audit_server.h"
#include "tests/unit/sources/openai/fake_clock.h"

namespace siem {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using siem::testing::FakeAuditServer;
using siem::testing::FakeClock;

constexpr std::int64_t kNow = 1'793'491'200;  // 2026-11-01T00:00:00Z

// Records every event and acknowledges according to its mode. Acknowledgements are made from the
// emitting thread right after the pipeline "took" the event, which is the earliest a sink could.
class RecordingEmitter : public EventEmitter {
 public:
  void attach(Source* source) { source_ = source; }
  // Acknowledge only events with seq <= limit (nullopt: all).
  void setAckLimit(std::optional<std::uint64_t> limit) {
    std::lock_guard lock(mutex_);
    ack_limit_ = limit;
  }
  // Refuse events after this many (the pipeline is stopping).
  void setAcceptLimit(std::size_t n) {
    std::lock_guard lock(mutex_);
    accept_limit_ = n;
  }

  std::optional<std::uint64_t> emit(Event event) override {
    std::uint64_t seq = 0;
    bool ack = false;
    {
      std::lock_guard lock(mutex_);
      if (accept_limit_ && events_.size() >= *accept_limit_) return std::nullopt;
      seq = next_seq_++;
      event.seq = seq;
      events_.push_back(std::move(event));
      ack = !ack_limit_ || seq <= *ack_limit_;
    }
    cv_.notify_all();
    if (ack && source_ != nullptr) source_->acknowledged(seq);
    return seq;
  }

  bool waitForCount(std::size_t n, std::chrono::seconds timeout = 30s) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return events_.size() >= n; });
  }
  std::vector<Event> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<std::string> ids() const {
    std::vector<std::string> out;
    for (const auto& e : events()) out.push_back(e.id);
    return out;
  }

 private:
  Source* source_ = nullptr;
  mutable std::mutex mutex_;  // guards everything below
  std::condition_variable cv_;
  std::vector<Event> events_;
  std::uint64_t next_seq_ = 1;
  std::optional<std::uint64_t> ack_limit_;
  std::optional<std::size_t> accept_limit_;
};

class CountingObserver : public OpenAiSourceObserver {
 public:
  void onHttpRequest(int status, double) override {
    std::lock_guard lock(mutex_);
    ++http_[status];
  }
  void onError(std::string_view) override {}
  void onRetry(std::chrono::milliseconds) override {}
  void onUtf8Repaired() override {}
  void onEventEmitted(std::string_view type, Outcome outcome, std::size_t bytes) override {
    std::lock_guard lock(mutex_);
    ++emitted_;
    bytes_ += bytes;
    if (outcome == Outcome::kFailure) ++failures_[std::string(type)];
  }
  void onCheckpointError(std::string_view) override {}
  void onCursor(std::int64_t watermark, std::int64_t now, bool persisted) override {
    std::lock_guard lock(mutex_);
    lag_ = now - watermark;
    if (persisted) checkpoint_time_ = watermark;
  }

  std::size_t emitted() const {
    std::lock_guard lock(mutex_);
    return emitted_;
  }
  std::size_t bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
  }
  int http(int status) const {
    std::lock_guard lock(mutex_);
    auto it = http_.find(status);
    return it == http_.end() ? 0 : it->second;
  }
  std::int64_t checkpointTime() const {
    std::lock_guard lock(mutex_);
    return checkpoint_time_;
  }
  std::map<std::string, int> failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
  }

 private:
  mutable std::mutex mutex_;  // guards everything below
  std::map<int, int> http_;
  std::size_t emitted_ = 0;
  std::size_t bytes_ = 0;
  std::map<std::string, int> failures_;
  std::int64_t lag_ = 0;
  std::int64_t checkpoint_time_ = 0;
};

// Routes spdlog's default logger into memory for the life of the object.
class LogCapture {
 public:
  LogCapture()
      : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)),
        previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("capture", sink_);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  std::string text() const {
    std::string out;
    for (const auto& line : sink_->last_formatted()) out += line;
    return out;
  }

 private:
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

// Polls `pred` until it holds or `timeout` passes.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

class OpenAiSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = fs::temp_directory_path() /
                ("siem-source-test-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(data_dir_);
    server_.start();
    config_.id = "openai_prod";
    config_.type = "openai_audit_logs";
    config_.organization_id = "org-123";
    info_.id = config_.id;
    info_.type = config_.type;
    info_.organization_id = config_.organization_id;
    options_.base_url = server_.baseUrl();
    options_.api_key = "sk-admin-good";
    options_.start_at = "2h";
    options_.lookback_secs = 300;
    options_.poll_interval_secs = 30;
    options_.page_size = 100;
    options_.max_requests_per_sec = 0;
  }
  void TearDown() override {
    stopSource();
    fs::remove_all(data_dir_);
  }

  // 250 events over the last hour, in groups of three sharing a second (so page boundaries
  // at 100 split a second), with a few failed logins.
  std::vector<std::string> addBacklog(int n = 250) {
    std::vector<std::pair<std::int64_t, std::string>> sorted;
    for (int i = 0; i < n; ++i) {
      std::string id = fmt::format("audit_log-{:04}", i);
      std::int64_t t = kNow - 3600 + std::int64_t{i / 3} * 40;
      server_.addEvent(id, t, i % 25 == 0 ? "login.failed" : "api_key.created");
      sorted.emplace_back(t, id);
    }
    std::sort(sorted.begin(), sorted.end());
    std::vector<std::string> ids;
    for (auto& [t, id] : sorted) ids.push_back(id);
    return ids;
  }

  // `configure` prepares the pipeline stand-in before the source can emit anything.
  void startSource(const std::function<void(RecordingEmitter&)>& configure = {}) {
    OpenAiSourceDeps deps;
    deps.observer = metrics_ != nullptr ? nullptr : observer_;
    deps.clock = real_clock_ ? nullptr : &clock_;
    deps.unit_random = [] { return 0.5; };
    deps.read_ahead_windows = read_ahead_windows_;
    deps.refused_retry = refused_retry_;
    source_ = metrics_ != nullptr ? std::make_unique<OpenAiAuditLogSource>(
                                        config_, options_, data_dir_, info_, metrics_, deps)
                                  : std::make_unique<OpenAiAuditLogSource>(config_, options_,
                                                                           data_dir_, info_, deps);
    emitter_ = std::make_unique<RecordingEmitter>();
    emitter_->attach(source_.get());
    if (configure) configure(*emitter_);
    thread_ = std::jthread([this](std::stop_token stop) { source_->run(stop, *emitter_); });
  }
  void stopSource() {
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
    if (source_) source_->commit();
  }

  std::optional<CursorState> checkpoint() {
    auto r = readCheckpoint(data_dir_, config_.id);
    return r ? *r : std::nullopt;
  }
  bool checkpointReaches(std::int64_t watermark) {
    return eventually([&] {
      auto c = checkpoint();
      return c && c->watermark >= watermark;
    });
  }
  std::uint64_t errorCount(const std::string& type) const {
    auto s = source_->stats();
    auto it = s.errors.find(type);
    return it == s.errors.end() ? 0 : it->second;
  }

  fs::path data_dir_;
  FakeAuditServer server_;
  FakeClock clock_{kNow};
  SourceConfig config_;
  SourceInfo info_;
  OpenAiSourceOptions options_;
  std::size_t read_ahead_windows_ = OpenAiSourceDeps{}.read_ahead_windows;
  std::shared_ptr<CountingObserver> observer_ = std::make_shared<CountingObserver>();
  bool real_clock_ = false;                        // SystemClock instead of clock_
  std::chrono::milliseconds refused_retry_ = 30s;  // OpenAiSourceDeps::refused_retry
  ComponentMetrics* metrics_ = nullptr;            // set: the production constructor
  std::unique_ptr<OpenAiAuditLogSource> source_;
  std::unique_ptr<RecordingEmitter> emitter_;
  std::jthread thread_;
};

TEST_F(OpenAiSourceTest, DeliversEveryEventOnceThroughFaultsAndAdvancesTheCheckpoint) {
  const std::vector<std::string> expected = addBacklog();
  server_.pushFault({429, R"({"error":{"message":"Rate limit reached"}})", {{"Retry-After", "7"}}});
  server_.pushFault({200, R"({"data":[{"id":"broken"}],"has_more":false})", {}});
  startSource();

  ASSERT_TRUE(emitter_->waitForCount(expected.size()));
  ASSERT_TRUE(checkpointReaches(kNow));
  // A few more polls re-read the lookback; nothing may come twice.
  const auto requests_before = server_.requests().size();
  ASSERT_TRUE(eventually([&] { return server_.requests().size() >= requests_before + 3; }));
  stopSource();

  EXPECT_EQ(emitter_->ids(), expected);  // each once, ascending (effective_at, id)
  EXPECT_EQ(errorCount("rate_limited"), 1u);
  EXPECT_EQ(errorCount("malformed_page"), 1u);
  auto sleeps = clock_.sleeps();
  EXPECT_NE(std::find(sleeps.begin(), sleeps.end(), 7s), sleeps.end()) << "Retry-After ignored";
  EXPECT_GE(source_->stats().duplicates_dropped, 1u);  // the lookback re-read was suppressed
  EXPECT_EQ(source_->notReadyReason(), "");

  auto cp = checkpoint();
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->watermark, kNow);
  EXPECT_EQ(cp->origin, kNow - 7200);
  for (const auto& [id, t] : cp->seen) EXPECT_GE(t, kNow - 300) << id;  // pruned to the lookback
  EXPECT_FALSE(cp->seen.empty());
  EXPECT_EQ(observer_->checkpointTime(), kNow);
  EXPECT_EQ(observer_->emitted(), expected.size());
  EXPECT_EQ(observer_->failures()["login.failed"], 10);
  std::size_t raw_bytes = 0;
  for (const auto& e : emitter_->events()) raw_bytes += e.raw.size();
  EXPECT_EQ(observer_->bytes(), raw_bytes);
  EXPECT_EQ(observer_->http(429), 1);
  // The first query covered exactly [start_at, now).
  EXPECT_NE(server_.requests()[0].find(fmt::format("effective_at%5Bgte%5D={}", kNow - 7200)),
            std::string::npos)
      << server_.requests()[0];
  EXPECT_NE(server_.requests()[0].find(fmt::format("effective_at%5Blt%5D={}", kNow)),
            std::string::npos);
}

TEST_F(OpenAiSourceTest, EventsCarryTheirFieldsAndExactBytes) {
  server_.addEvent("only", kNow - 60, "login.failed");
  startSource();
  ASSERT_TRUE(emitter_->waitForCount(1));
  stopSource();
  const Event e = emitter_->events().at(0);
  EXPECT_EQ(e.type, "login.failed");
  EXPECT_EQ(e.outcome, Outcome::kFailure);
  EXPECT_EQ(e.effective_at, kNow - 60);
  EXPECT_EQ(e.actor_type, "session");
  EXPECT_EQ(e.actor_email, "ann@example.com");
  EXPECT_EQ(e.project_id, "proj_0");
  EXPECT_EQ(e.raw, siem::testing::auditEventJson("only", kNow - 60, "login.failed", 0));
}

TEST_F(OpenAiSourceTest, UnauthorizedIsNotReadyUntilTheRotatedKeyFileWorks) {
  addBacklog(20);
  const fs::path key_file = data_dir_ / "admin-key";
  fs::create_directories(data_dir_);
  std::ofstream(key_file) << "sk-admin-revoked\n";
  options_.api_key = "";
  options_.api_key_file = key_file.string();
  startSource();

  ASSERT_TRUE(eventually([&] { return !source_->notReadyReason().empty(); }));
  const std::string reason = source_->notReadyReason();
  EXPECT_NE(reason.find("an organization Admin API key is required"), std::string::npos) << reason;
  EXPECT_NE(reason.find("Incorrect API key provided"), std::string::npos) << reason;
  EXPECT_EQ(reason.find("revoked"), std::string::npos) << reason;
  EXPECT_TRUE(emitter_->events().empty());
  EXPECT_GE(errorCount("unauthorized"), 1u);
  auto sleeps = clock_.sleeps();
  EXPECT_NE(std::find(sleeps.begin(), sleeps.end(), 30s), sleeps.end()) << "slow retry expected";

  std::ofstream(key_file, std::ios::trunc) << "sk-admin-good\n";  // the secret is rotated
  ASSERT_TRUE(emitter_->waitForCount(20));
  EXPECT_TRUE(eventually([&] { return source_->notReadyReason().empty(); }));
}

TEST_F(OpenAiSourceTest, LateAndSameSecondEventsArriveExactlyOnce) {
  const std::vector<std::string> first = addBacklog(12);
  server_.addEvent("recent-a", kNow - 50);
  startSource();
  ASSERT_TRUE(emitter_->waitForCount(13));
  ASSERT_TRUE(checkpointReaches(kNow));

  // Indexed late: inside the lookback, and one in the very second of an event already sent.
  server_.addEvent("late-b", kNow - 200);
  server_.addEvent("recent-a2", kNow - 50);
  clock_.setNow(kNow + 30);
  ASSERT_TRUE(emitter_->waitForCount(15));
  ASSERT_TRUE(checkpointReaches(kNow + 30));
  clock_.setNow(kNow + 60);
  ASSERT_TRUE(checkpointReaches(kNow + 60));
  stopSource();

  auto ids = emitter_->ids();
  EXPECT_EQ(ids.size(), 15u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
  EXPECT_EQ(ids[13], "late-b");
  EXPECT_EQ(ids[14], "recent-a2");
}

TEST_F(OpenAiSourceTest, RestartResendsOnlyTheUnacknowledgedTail) {
  const std::vector<std::string> expected = addBacklog();
  startSource([](RecordingEmitter& e) { e.setAckLimit(100); });  // sinks confirmed only 100
  ASSERT_TRUE(emitter_->waitForCount(expected.size()));
  stopSource();  // includes commit()
  auto cp = checkpoint();
  ASSERT_TRUE(cp);
  EXPECT_LT(cp->watermark, kNow);  // not past what is unacknowledged

  // "Crash" and restart with a fresh pipeline that acknowledges everything.
  startSource();
  ASSERT_TRUE(emitter_->waitForCount(expected.size() - 100));
  ASSERT_TRUE(checkpointReaches(kNow));
  const auto requests_before = server_.requests().size();
  ASSERT_TRUE(eventually([&] { return server_.requests().size() >= requests_before + 2; }));
  stopSource();
  EXPECT_EQ(emitter_->ids(), std::vector<std::string>(expected.begin() + 100, expected.end()));
}

TEST_F(OpenAiSourceTest, CheckpointOnlyFollowsAcknowledgements) {
  addBacklog(30);
  startSource([](RecordingEmitter& e) { e.setAckLimit(0); });  // nothing confirmed yet
  ASSERT_TRUE(emitter_->waitForCount(30));
  ASSERT_TRUE(eventually([&] { return server_.requests().size() >= 3; }));  // polled again
  source_->commit();  // writes the current cursor now, whatever the writer thread is doing
  const auto before = checkpoint();
  ASSERT_TRUE(before);
  // Nothing before the oldest event in flight exists, so W may stand there, but no further.
  EXPECT_EQ(before->watermark, kNow - 3600);
  EXPECT_TRUE(before->seen.empty());
  source_->acknowledged(30);  // a sink thread confirms everything
  ASSERT_TRUE(checkpointReaches(kNow));
  EXPECT_EQ(checkpoint()->watermark, kNow);
}

TEST_F(OpenAiSourceTest, BackfillHalvesWindowsThatHoldTooMuch) {
  const std::vector<std::string> expected = addBacklog();
  options_.max_window_events = 40;
  startSource();
  ASSERT_TRUE(emitter_->waitForCount(expected.size()));
  ASSERT_TRUE(checkpointReaches(kNow));
  stopSource();
  EXPECT_EQ(emitter_->ids(), expected);
  EXPECT_GE(source_->stats().windows_halved, 3u);
}

// A backlog over days: windows are split to the density, read ahead on reader threads while
// earlier ones are emitted, and still come out once each in (effective_at, id) order.
TEST_F(OpenAiSourceTest, BackfillReadAheadEmitsInOrderExactlyOnce) {
  std::vector<std::pair<std::int64_t, std::string>> sorted;
  for (int i = 0; i < 600; ++i) {
    const std::string id = fmt::format("audit_log-{:04}", i);
    // Denser towards now, with runs of events sharing a second.
    const std::int64_t t = kNow - 3 * 86400 + (i < 300 ? i * 400 : 120'000 + (i - 300) / 4 * 300);
    server_.addEvent(id, t);
    sorted.emplace_back(t, id);
  }
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string> expected;
  for (auto& [t, id] : sorted) expected.push_back(id);
  options_.start_at = "4d";
  options_.page_size = 7;
  options_.max_window_events = 60;
  startSource();
  ASSERT_TRUE(emitter_->waitForCount(expected.size()));
  ASSERT_TRUE(checkpointReaches(kNow));
  stopSource();
  EXPECT_EQ(emitter_->ids(), expected);
  const OpenAiSourceStats stats = source_->stats();
  EXPECT_GT(stats.windows_read_ahead, 10u);
  EXPECT_GE(stats.windows_halved, 1u);
  EXPECT_EQ(observer_->emitted(), expected.size());
  EXPECT_EQ(source_->notReadyReason(), "");
}

TEST_F(OpenAiSourceTest, BackfillWithoutReadAheadReadsWindowsInTurn) {
  const std::vector<std::string> expected = addBacklog();
  options_.max_window_events = 40;
  read_ahead_windows_ = 0;
  startSource();
  ASSERT_TRUE(emitter_->waitForCount(expected.size()));
  ASSERT_TRUE(checkpointReaches(kNow));
  stopSource();
  EXPECT_EQ(emitter_->ids(), expected);
  EXPECT_EQ(source_->stats().windows_read_ahead, 0u);
  EXPECT_GE(source_->stats().windows_halved, 1u);
  // One window after another: each query starts where the previous window ended.
  std::int64_t last_start = 0;
  for (const std::string& target : server_.requests()) {
    const auto at = target.find("effective_at%5Bgte%5D=");
    ASSERT_NE(at, std::string::npos) << target;
    const std::int64_t start = std::stoll(target.substr(at + 22));
    EXPECT_GE(start, last_start) << target;
    last_start = start;
  }
}

TEST_F(OpenAiSourceTest, CorruptCheckpointIsNotReadyAndLeftUntouched) {
  addBacklog(5);
  const fs::path path = openAiCheckpointPath(data_dir_, config_.id);
  fs::create_directories(path.parent_path());
  const std::string garbage = "siem-agent-checkpoint v1 crc32=00000000 length=3\n{x}";
  std::ofstream(path) << garbage;
  startSource();
  ASSERT_TRUE(eventually([&] { return !source_->notReadyReason().empty(); }));
  stopSource();
  const std::string reason = source_->notReadyReason();
  EXPECT_NE(reason.find(path.string()), std::string::npos) << reason;
  EXPECT_NE(reason.find("siem-agent checkpoint reset"), std::string::npos) << reason;
  EXPECT_TRUE(server_.requests().empty());
  EXPECT_TRUE(emitter_->events().empty());
  EXPECT_EQ(errorCount("checkpoint_corrupt"), 1u);
  std::stringstream bytes;
  bytes << std::ifstream(path).rdbuf();
  EXPECT_EQ(bytes.str(), garbage);
}

TEST_F(OpenAiSourceTest, UnparsableCursorInAValidFrameIsAlsoCorrupt) {
  CheckpointStore store(data_dir_ / "checkpoints");
  ASSERT_TRUE(store.write(config_.id + ".json", R"({"format":7})"));
  startSource();
  ASSERT_TRUE(eventually([&] { return !source_->notReadyReason().empty(); }));
  EXPECT_NE(source_->notReadyReason().find("corrupt"), std::string::npos);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(OpenAiSourceTest, LeftoverTempFromACrashIsCountedAndRemoved) {
  addBacklog(10);
  CursorState state;
  state.watermark = kNow - 7200;
  state.origin = kNow - 7200;
  ASSERT_TRUE(writeCheckpoint(data_dir_, config_.id, state));
  const fs::path temp = fs::path(openAiCheckpointPath(data_dir_, config_.id).string() + ".tmp");
  std::ofstream(temp) << "half a checkp";
  startSource();
  ASSERT_TRUE(emitter_->waitForCount(10));
  EXPECT_EQ(errorCount("checkpoint_leftover_temp"), 1u);
  EXPECT_FALSE(fs::exists(temp) && fs::file_size(temp) == 13);
}

TEST_F(OpenAiSourceTest, StoppingPipelineEndsRunWithoutSkippingEvents) {
  const std::vector<std::string> expected = addBacklog(50);
  startSource([](RecordingEmitter& e) { e.setAcceptLimit(20); });
  ASSERT_TRUE(emitter_->waitForCount(20));
  // emit() refused the 21st event: run() returns on its own.
  thread_.join();
  source_->commit();
  auto cp = checkpoint();
  ASSERT_TRUE(cp);
  // Every event after the 20th is still ahead of the watermark or within its lookback.
  for (std::size_t i = 20; i < expected.size(); ++i) EXPECT_FALSE(cp->seen.contains(expected[i]));
  EXPECT_LE(cp->watermark, kNow - 3600 + std::int64_t{20 / 3} * 40);
}

// A 200 page holding `ids` (effective_at `t`), as a queued fault of the fake server.
FakeAuditServer::Fault fixedPage(const std::vector<std::string>& ids, std::int64_t t, bool has_more,
                                 const std::string& last_id) {
  std::string body = R"({"object":"list","data":[)";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) body += ",";
    body += siem::testing::auditEventJson(ids[i], t, "user.added", static_cast<int>(i));
  }
  body += fmt::format(R"(],"first_id":null,"last_id":"{}","has_more":{}}})", last_id,
                      has_more ? "true" : "false");
  return {200, body, {}};
}

TEST_F(OpenAiSourceTest, PaginationLoopAbandonsTheWindowAndReadsItAgainAfterABackoff) {
  const std::vector<std::string> expected = addBacklog(30);
  // The server hands out a cursor it already gave for this window: a loop.
  server_.pushFault(fixedPage({"loop-a1", "loop-a2"}, kNow - 100, true, "loop-a2"));
  server_.pushFault(fixedPage({"loop-b1", "loop-b2"}, kNow - 100, true, "loop-b2"));
  server_.pushFault(fixedPage({"loop-a1", "loop-a2"}, kNow - 100, true, "loop-a2"));
  LogCapture logs;
  startSource();
  ASSERT_TRUE(emitter_->waitForCount(expected.size()));
  ASSERT_TRUE(checkpointReaches(kNow));
  stopSource();

  // Nothing of the abandoned read was emitted; the window was then read whole.
  EXPECT_EQ(emitter_->ids(), expected);
  EXPECT_EQ(errorCount("pagination_loop"), 1u);
  EXPECT_EQ(source_->stats().window_failures, 1u);
  const auto requests = server_.requests();
  ASSERT_GE(requests.size(), 4u);
  EXPECT_NE(requests[1].find("after=loop-a2"), std::string::npos) << requests[1];
  EXPECT_NE(requests[2].find("after=loop-b2"), std::string::npos) << requests[2];
  // Read again from the start of the same window: the cursor did not move.
  const std::string gte = fmt::format("effective_at%5Bgte%5D={}", kNow - 7200);
  EXPECT_NE(requests[3].find(gte), std::string::npos) << requests[3];
  EXPECT_EQ(requests[3].find("after="), std::string::npos) << requests[3];
  const auto sleeps = clock_.sleeps();
  EXPECT_NE(std::find(sleeps.begin(), sleeps.end(), 250ms), sleeps.end())
      << "the retry of the window waits a backoff (0.5 x 500 ms)";
  const std::string text = logs.text();
  EXPECT_NE(text.find("pagination loops: cursor loop-a2 came back"), std::string::npos) << text;
  EXPECT_NE(text.find("the cursor stays at"), std::string::npos) << text;
}

TEST_F(OpenAiSourceTest, EndlessEmptyPagesWithHasMoreAreGivenUpAndRetried) {
  const std::vector<std::string> expected = addBacklog(10);
  for (int i = 0; i < 5; ++i) server_.pushFault(fixedPage({}, 0, true, fmt::format("e{}", i)));
  startSource();
  ASSERT_TRUE(emitter_->waitForCount(expected.size()));
  ASSERT_TRUE(checkpointReaches(kNow));
  stopSource();
  EXPECT_EQ(emitter_->ids(), expected);
  EXPECT_EQ(errorCount("empty_pages"), 1u);
  EXPECT_EQ(source_->stats().window_failures, 1u);
}

TEST_F(OpenAiSourceTest, ReloadReReadsTheKeyFileBeforeTheNextRequest) {
  addBacklog(10);
  const fs::path key_file = data_dir_ / "admin-key";
  fs::create_directories(data_dir_);
  std::ofstream(key_file) << "sk-admin-good\n";
  options_.api_key = "";
  options_.api_key_file = key_file.string();
  LogCapture logs;
  startSource();
  ASSERT_TRUE(emitter_->waitForCount(10));

  server_.alsoAccept("sk-admin-next");
  std::ofstream(key_file, std::ios::trunc) << "sk-admin-next\n";
  source_->reload();
  auto used_next_key = [&] {
    for (const auto& headers : server_.requestHeaders()) {
      auto it = headers.find("Authorization");
      if (it != headers.end() && it->second == "Bearer sk-admin-next") return true;
    }
    return false;
  };
  ASSERT_TRUE(eventually(used_next_key));
  stopSource();
  EXPECT_EQ(source_->stats().key_reloads, 1u);
  EXPECT_EQ(observer_->http(401), 0) << "reloaded on request, not after a refusal";
  const std::string text = logs.text();
  EXPECT_NE(text.find("reloaded the Admin API key from api_key_file"), std::string::npos) << text;
  EXPECT_EQ(text.find("sk-admin-next"), std::string::npos) << "a key was logged";
  EXPECT_EQ(text.find("sk-admin-good"), std::string::npos) << "a key was logged";
}

TEST_F(OpenAiSourceTest, ReloadWakesTheSlowRetryAfterARefusal) {
  // This test runs on the real clock, so its events are recent in real time.
  const std::int64_t now = unixSeconds(std::chrono::system_clock::now());
  for (int i = 0; i < 20; ++i) server_.addEvent(fmt::format("wake-{:02}", i), now - 600 + i);
  const fs::path key_file = data_dir_ / "admin-key";
  fs::create_directories(data_dir_);
  std::ofstream(key_file) << "sk-admin-revoked\n";
  options_.api_key = "";
  options_.api_key_file = key_file.string();
  real_clock_ = true;
  refused_retry_ = std::chrono::hours(1);  // only reload() can end this wait within the test
  startSource();
  ASSERT_TRUE(eventually([&] { return !source_->notReadyReason().empty(); }));
  std::ofstream(key_file, std::ios::trunc) << "sk-admin-good\n";
  source_->reload();
  ASSERT_TRUE(emitter_->waitForCount(20, 20s));
  EXPECT_TRUE(eventually([&] { return source_->notReadyReason().empty(); }));
  stopSource();
  EXPECT_EQ(observer_->http(401), 1);
  EXPECT_EQ(source_->stats().key_reloads, 1u);
}

TEST_F(OpenAiSourceTest, ReloadWithAnInlineKeyChangesNothing) {
  addBacklog(5);
  startSource();
  ASSERT_TRUE(emitter_->waitForCount(5));
  source_->reload();
  const auto requests_before = server_.requests().size();
  ASSERT_TRUE(eventually([&] { return server_.requests().size() >= requests_before + 2; }));
  stopSource();
  EXPECT_EQ(source_->stats().key_reloads, 0u);
  EXPECT_EQ(source_->notReadyReason(), "");
}

TEST_F(OpenAiSourceTest, EveryAcknowledgedPrefixIsPersistedWithinAWindow) {
  const std::vector<std::string> expected = addBacklog(30);
  startSource([](RecordingEmitter& e) { e.setAckLimit(0); });
  ASSERT_TRUE(emitter_->waitForCount(30));
  // A sink confirms the first 10, then 20: each prefix is written without waiting for the window
  // to complete, so a crash re-sends only what came after it.
  for (std::size_t acked : {10u, 20u}) {
    source_->acknowledged(acked);
    ASSERT_TRUE(eventually([&] {
      auto cp = checkpoint();
      return cp && cp->seen.size() == acked;
    })) << acked;
    const auto cp = checkpoint();
    for (std::size_t i = 0; i < acked; ++i) EXPECT_TRUE(cp->seen.contains(expected[i])) << i;
    // Events 3k..3k+2 share a second: W is the time of the oldest one still in flight.
    EXPECT_EQ(cp->watermark, kNow - 3600 + static_cast<std::int64_t>(acked / 3) * 40);
  }
}

TEST_F(OpenAiSourceTest, ReportsLagCheckpointAuditEventsAndHalvingsWithTheOrganizationLabel) {
  Metrics metrics("test");
  metrics_ = &metrics.component(config_.id, "source", config_.type, config_.organization_id);
  const std::vector<std::string> expected = addBacklog();
  options_.max_window_events = 40;
  startSource();
  ASSERT_TRUE(emitter_->waitForCount(expected.size()));
  ASSERT_TRUE(checkpointReaches(kNow));
  ASSERT_TRUE(eventually([&] { return metrics_->checkpoint_timestamp.Value() >= kNow; }));
  stopSource();

  const std::string text = metrics.serialize();
  const siem::testing::LabelSet labels = {{"component_id", "openai_prod"},
                                          {"component_kind", "source"},
                                          {"component_type", "openai_audit_logs"},
                                          {"organization_id", "org-123"}};
  using siem::testing::sampleValue;
  EXPECT_EQ(sampleValue(text, "siem_agent_checkpoint_timestamp_seconds", labels), kNow) << text;
  EXPECT_EQ(sampleValue(text, "siem_agent_source_lag_seconds", labels), 0);  // now - W
  auto with = [&](std::initializer_list<std::pair<const std::string, std::string>> extra) {
    siem::testing::LabelSet l = labels;
    l.insert(extra);
    return l;
  };
  EXPECT_EQ(sampleValue(text, "siem_agent_audit_events_total",
                        with({{"event_type", "login.failed"}, {"outcome", "failure"}})),
            10);
  EXPECT_EQ(sampleValue(text, "siem_agent_audit_events_total",
                        with({{"event_type", "api_key.created"}, {"outcome", "success"}})),
            240);
  EXPECT_EQ(sampleValue(text, "siem_agent_component_received_events_total", labels), 250);
  const auto halved = sampleValue(text, "siem_agent_openai_windows_halved_total", labels);
  ASSERT_TRUE(halved);
  EXPECT_EQ(*halved, static_cast<double>(source_->stats().windows_halved));
  EXPECT_GE(*halved, 3);
}

TEST(OpenAiCheckpointFileTest, ReadWriteAndMissing) {
  const fs::path dir = fs::temp_directory_path() / ("siem-cp-file-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto none = readCheckpoint(dir, "src");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  CursorState s;
  s.watermark = 123;
  s.origin = 100;
  s.seen = {{"a", 120}};
  ASSERT_TRUE(writeCheckpoint(dir, "src", s));
  EXPECT_EQ(openAiCheckpointPath(dir, "src"), dir / "checkpoints" / "src.json");
  auto back = readCheckpoint(dir, "src");
  ASSERT_TRUE(back && back->has_value());
  EXPECT_EQ(**back, s);
  std::ofstream(openAiCheckpointPath(dir, "src"), std::ios::app) << "x";
  auto corrupt = readCheckpoint(dir, "src");
  ASSERT_FALSE(corrupt);
  EXPECT_NE(corrupt.error().message.find("corrupt"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace siem
