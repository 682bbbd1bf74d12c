// OrganizationLogsSource against an in-test organization_logs server: order, the acknowledged-
// prefix cursor, start_at, bad input, refusals and the checkpoint file.
#include "agent/sources/openai/org_logs_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "tests/unit/sources/openai/fake_clock.h"
#include "tests/unit/sources/openai/fake_org_logs_server.h"

namespace siem {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using siem::testing::FakeClock;
using siem::testing::FakeOrgLogsServer;

constexpr std::int64_t kNow = 1'793'491'200;  // 2026-11-01T00:00:00Z

// The pipeline stand-in: records events and acknowledges those with seq <= the ack limit from the
// emitting thread, right after taking them (the earliest a sink could).
class Pipeline : public EventEmitter {
 public:
  void attach(Source* source) { source_ = source; }
  void setAckLimit(std::optional<std::uint64_t> limit) {
    std::lock_guard lock(mutex_);
    ack_limit_ = limit;
  }
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

class Observer : public OpenAiSourceObserver {
 public:
  void onHttpRequest(int, double) override {}
  void onError(std::string_view) override {}
  void onRetry(std::chrono::milliseconds delay) override {
    std::lock_guard lock(mutex_);
    retries_.push_back(delay);
  }
  void onUtf8Repaired() override {}
  void onEventEmitted(std::string_view, Outcome, std::size_t bytes) override {
    std::lock_guard lock(mutex_);
    ++emitted_;
    bytes_ += bytes;
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
  std::int64_t checkpointTime() const {
    std::lock_guard lock(mutex_);
    return checkpoint_time_;
  }
  std::int64_t lag() const {
    std::lock_guard lock(mutex_);
    return lag_;
  }
  std::vector<std::chrono::milliseconds> retries() const {
    std::lock_guard lock(mutex_);
    return retries_;
  }

 private:
  mutable std::mutex mutex_;  // guards everything below
  std::size_t emitted_ = 0;
  std::size_t bytes_ = 0;
  std::int64_t lag_ = 0;
  std::int64_t checkpoint_time_ = 0;
  std::vector<std::chrono::milliseconds> retries_;
};

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
  return true;
}

class OrgLogsSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = fs::temp_directory_path() /
                ("siem-orglogs-test-" + std::to_string(::getpid()) + "-" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(data_dir_);
    server_.start();
    config_.id = "openai_seed";
    config_.type = "openai_audit_logs";
    info_.id = config_.id;
    info_.type = config_.type;
    options_.api = OpenAiApiVariant::kOrganizationLogs;
    options_.base_url = server_.baseUrl();
    options_.api_key = "sk-admin-good";
    options_.start_at = "2h";
    options_.poll_interval_secs = 30;
    options_.page_size = 100;
    options_.max_requests_per_sec = 0;
  }
  void TearDown() override {
    stopSource();
    fs::remove_all(data_dir_);
  }

  // `n` events created over the last hour, listed in that order; every 25th a failed login.
  std::vector<std::string> addBacklog(int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      ids.push_back(fmt::format("log-{:04}", i));
      server_.add(ids.back(), kNow - 3600 + std::int64_t{i} * 10,
                  i % 25 == 0 ? "login.failed" : "user.added");
    }
    return ids;
  }

  void startSource(const std::function<void(Pipeline&)>& configure = {}) {
    OrganizationLogsSourceDeps deps;
    deps.observer = observer_;
    deps.on_discarded = [this](std::uint64_t n) { discarded_ += n; };
    deps.clock = &clock_;
    deps.unit_random = [] { return 0.5; };
    source_ = std::make_unique<OrganizationLogsSource>(config_, options_, data_dir_, info_, deps);
    pipeline_ = std::make_unique<Pipeline>();
    pipeline_->attach(source_.get());
    if (configure) configure(*pipeline_);
    thread_ = std::jthread([this](std::stop_token stop) { source_->run(stop, *pipeline_); });
  }
  void stopSource() {
    if (thread_.joinable()) {
      thread_.request_stop();
      thread_.join();
    }
    if (source_) source_->commit();
  }

  std::optional<IdCursorState> checkpoint() {
    auto r = readOrganizationLogsCheckpoint(data_dir_, config_.id);
    return r ? *r : std::nullopt;
  }
  bool checkpointAt(const std::string& id) {
    return eventually([&] {
      auto c = checkpoint();
      return c && c->last_id == id;
    });
  }
  std::uint64_t errorCount(const std::string& type) const {
    auto s = source_->stats();
    auto it = s.errors.find(type);
    return it == s.errors.end() ? 0 : it->second;
  }
  // Waits for `n` more list requests (the source polled again).
  bool polledAgain(std::size_t n = 2) {
    const std::size_t before = server_.requestCount();
    return eventually([&] { return server_.requestCount() >= before + n; });
  }

  fs::path data_dir_;
  FakeOrgLogsServer server_;
  FakeClock clock_{kNow};
  SourceConfig config_;
  SourceInfo info_;
  OpenAiSourceOptions options_;
  std::shared_ptr<Observer> observer_ = std::make_shared<Observer>();
  std::atomic<std::uint64_t> discarded_{0};
  std::unique_ptr<OrganizationLogsSource> source_;
  std::unique_ptr<Pipeline> pipeline_;
  std::jthread thread_;
};

TEST_F(OrgLogsSourceTest, DeliversEveryIdOnceInOrderThroughBadPages) {
  const std::vector<std::string> expected = addBacklog(250);
  server_.push({429, R"({"error":{"message":"Rate limit reached"}})"});
  server_.push({200, R"({"object":"list","data":[],"first_id":null,"last_id":null,)"
                     R"("has_more":true})"});
  server_.push({200, R"({"object":"list","data":[{"id":"log-0000","event":"user.)"});
  startSource();

  ASSERT_TRUE(pipeline_->waitForCount(expected.size()));
  ASSERT_TRUE(checkpointAt(expected.back()));
  ASSERT_TRUE(polledAgain());  // nothing new: polls return nothing twice
  EXPECT_EQ(pipeline_->ids(), expected);
  EXPECT_EQ(errorCount("rate_limited"), 1u);
  EXPECT_EQ(errorCount("malformed_page"), 2u);
  EXPECT_EQ(source_->stats().events_emitted, expected.size());
  EXPECT_EQ(source_->notReadyReason(), "");
  const auto requests = server_.requests();
  EXPECT_EQ(requests[3], "/v1/organization_logs?order=asc&limit=100");
  EXPECT_EQ(requests[4], "/v1/organization_logs?order=asc&limit=100&after=log-0099");
  EXPECT_EQ(requests.back(), "/v1/organization_logs?order=asc&limit=100&after=log-0249");

  // Events the server adds later come after the cursor, whatever their created_at.
  server_.add("late-1", kNow - 3000);
  server_.add("late-2", kNow + 5);
  ASSERT_TRUE(pipeline_->waitForCount(expected.size() + 2));
  ASSERT_TRUE(checkpointAt("late-2"));
  stopSource();
  const auto ids = pipeline_->ids();
  EXPECT_EQ(std::vector<std::string>(ids.end() - 2, ids.end()),
            (std::vector<std::string>{"late-1", "late-2"}));
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());

  auto cp = checkpoint();
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->not_before, kNow - 7200);
  EXPECT_EQ(cp->newest_created_at, kNow + 5);
  EXPECT_EQ(observer_->emitted(), expected.size() + 2);
  std::size_t raw_bytes = 0;
  for (const auto& e : pipeline_->events()) raw_bytes += e.raw.size();
  EXPECT_EQ(observer_->bytes(), raw_bytes);
  EXPECT_EQ(discarded_.load(), 0u);
}

TEST_F(OrgLogsSourceTest, FirstRunSkipsEventsCreatedBeforeStartAtAndKeepsThatBound) {
  for (int i = 0; i < 5; ++i) server_.add(fmt::format("old-{}", i), kNow - 10'000 + i);
  const std::vector<std::string> recent = addBacklog(3);
  startSource();
  ASSERT_TRUE(pipeline_->waitForCount(3));
  ASSERT_TRUE(checkpointAt(recent.back()));
  EXPECT_EQ(pipeline_->ids(), recent);
  EXPECT_EQ(discarded_.load(), 5u);
  EXPECT_EQ(source_->stats().skipped_before_start, 5u);
  stopSource();

  // The bound was resolved once: a restart much later still uses it, and it applies to events
  // added later with an old created_at too.
  clock_.setNow(kNow + 86'400);
  server_.add("late-old", kNow - 9000);
  server_.add("late-new", kNow - 7000);
  startSource();
  ASSERT_TRUE(pipeline_->waitForCount(1));
  ASSERT_TRUE(checkpointAt("late-new"));
  ASSERT_TRUE(polledAgain());
  EXPECT_EQ(pipeline_->ids(), std::vector<std::string>{"late-new"});
  EXPECT_EQ(checkpoint()->not_before, kNow - 7200);
  EXPECT_EQ(discarded_.load(), 6u);
  EXPECT_EQ(server_.requests().back(), "/v1/organization_logs?order=asc&limit=100&after=late-new");
}

TEST_F(OrgLogsSourceTest, SkippedEventsMoveTheCursorWhenNothingIsInFlight) {
  for (int i = 0; i < 4; ++i) server_.add(fmt::format("old-{}", i), kNow - 10'000);
  startSource();
  ASSERT_TRUE(checkpointAt("old-3"));  // a restart will not read them again
  EXPECT_TRUE(pipeline_->events().empty());
  EXPECT_EQ(discarded_.load(), 4u);
}

TEST_F(OrgLogsSourceTest, CheckpointOnlyFollowsAcknowledgements) {
  const std::vector<std::string> ids = addBacklog(30);
  startSource([](Pipeline& p) { p.setAckLimit(0); });  // nothing confirmed yet
  ASSERT_TRUE(pipeline_->waitForCount(30));
  ASSERT_TRUE(polledAgain());
  auto before = checkpoint();
  ASSERT_TRUE(before);
  EXPECT_EQ(before->last_id, std::nullopt);
  EXPECT_EQ(before->newest_created_at, 0);
  EXPECT_EQ(observer_->lag(), 7200);  // nothing delivered: measured from start_at
  source_->acknowledged(10);          // a sink thread confirms a prefix
  ASSERT_TRUE(checkpointAt(ids[9]));
  EXPECT_EQ(checkpoint()->newest_created_at, kNow - 3600 + 90);
  EXPECT_EQ(observer_->checkpointTime(), kNow - 3600 + 90);
  EXPECT_EQ(observer_->lag(), 3600 - 90);
  source_->acknowledged(30);
  ASSERT_TRUE(checkpointAt(ids[29]));
  EXPECT_EQ(checkpoint()->newest_created_at, kNow - 3600 + 290);
  // Caught up and nothing in flight: the position is as recent as the last catch-up, not as the
  // newest event (an idle organization is not lagging).
  EXPECT_EQ(observer_->checkpointTime(), kNow);
  EXPECT_TRUE(eventually([&] { return observer_->lag() == 0; })) << observer_->lag();
}

TEST_F(OrgLogsSourceTest, RestartResendsOnlyTheUnacknowledgedTail) {
  const std::vector<std::string> expected = addBacklog(250);
  startSource([](Pipeline& p) { p.setAckLimit(100); });
  ASSERT_TRUE(pipeline_->waitForCount(expected.size()));
  stopSource();
  auto cp = checkpoint();
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->last_id, expected[99]);

  const std::size_t first_request = server_.requestCount();
  startSource();
  ASSERT_TRUE(pipeline_->waitForCount(expected.size() - 100));
  ASSERT_TRUE(checkpointAt(expected.back()));
  ASSERT_TRUE(polledAgain());
  stopSource();
  EXPECT_EQ(pipeline_->ids(), std::vector<std::string>(expected.begin() + 100, expected.end()));
  EXPECT_EQ(server_.requests().at(first_request),
            "/v1/organization_logs?order=asc&limit=100&after=log-0099");
}

TEST_F(OrgLogsSourceTest, StoppingPipelineKeepsTheCursorAtTheLastTakenEvent) {
  const std::vector<std::string> expected = addBacklog(50);
  startSource([](Pipeline& p) { p.setAcceptLimit(20); });
  ASSERT_TRUE(pipeline_->waitForCount(20));
  thread_.join();  // emit() refused the 21st event: run() returns on its own
  source_->commit();
  EXPECT_EQ(checkpoint()->last_id, expected[19]);
}

TEST_F(OrgLogsSourceTest, ALoopingCursorIsCountedAndReadAgainLaterWithoutDuplicates) {
  const std::vector<std::string> expected = addBacklog(10);
  options_.page_size = 2;
  // Twice, the page after log-0005 jumps back to the page ending at log-0001, where this pass
  // already was (a loop of period 3 that no single page reveals) and which was delivered.
  int loops_left = 2;
  server_.setHook([&](const httplib::Request& req) -> std::optional<std::string> {
    if (req.has_param("after") && req.get_param_value("after") == "log-0005" && loops_left > 0) {
      --loops_left;
      return server_.page(std::nullopt, 2);
    }
    return std::nullopt;
  });
  startSource();
  ASSERT_TRUE(pipeline_->waitForCount(expected.size()));
  ASSERT_TRUE(checkpointAt(expected.back()));
  stopSource();
  EXPECT_EQ(pipeline_->ids(), expected);
  EXPECT_EQ(errorCount("cursor_loop"), 2u);
  // Backed off before each new pass, exponentially (0.5 × 500 ms, then 0.5 × 1 s).
  const auto retries = observer_->retries();
  EXPECT_NE(std::find(retries.begin(), retries.end(), 250ms), retries.end());
  EXPECT_NE(std::find(retries.begin(), retries.end(), 500ms), retries.end());
  // Each retry continued from the last good position.
  std::size_t after_5 = 0;
  for (const auto& r : server_.requests()) after_5 += r.find("after=log-0005") != std::string::npos;
  EXPECT_EQ(after_5, 3u);
}

TEST_F(OrgLogsSourceTest, IdsListedTwiceWithinARunAreDropped) {
  addBacklog(4);
  options_.page_size = 2;
  // The second page repeats log-0001 before the real ones.
  server_.setHook([&](const httplib::Request& req) -> std::optional<std::string> {
    if (req.has_param("after") && req.get_param_value("after") == "log-0001") {
      return R"({"object":"list","data":[)" + siem::testing::orgLogJson("log-0001", 1, "x.y") +
             "," + siem::testing::orgLogJson("log-0002", kNow - 3580, "user.added") +
             R"(],"first_id":"log-0001","last_id":"log-0002","has_more":true})";
    }
    return std::nullopt;
  });
  startSource();
  ASSERT_TRUE(pipeline_->waitForCount(4));
  ASSERT_TRUE(checkpointAt("log-0003"));
  stopSource();
  EXPECT_EQ(pipeline_->ids(),
            (std::vector<std::string>{"log-0000", "log-0001", "log-0002", "log-0003"}));
  EXPECT_EQ(source_->stats().duplicates_dropped, 1u);
}

TEST_F(OrgLogsSourceTest, UnauthorizedIsNotReadyUntilTheRotatedKeyFileWorks) {
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
  EXPECT_EQ(reason.find("revoked"), std::string::npos) << reason;
  EXPECT_TRUE(pipeline_->events().empty());
  EXPECT_GE(errorCount("unauthorized"), 1u);
  // The slow retry: refused_retry (30 s) slept in checkpoint_interval (1 s) slices.
  ASSERT_TRUE(eventually([&] {
    auto sleeps = clock_.sleeps();
    return std::count(sleeps.begin(), sleeps.end(), 1s) >= 30;
  }));

  std::ofstream(key_file, std::ios::trunc) << "sk-admin-good\n";  // the secret is rotated
  ASSERT_TRUE(pipeline_->waitForCount(20));
  EXPECT_TRUE(eventually([&] { return source_->notReadyReason().empty(); }));
}

TEST_F(OrgLogsSourceTest, ACursorTheServerNoLongerKnowsIsNotReadyWithAHint) {
  addBacklog(3);
  IdCursorState state;
  state.last_id = "log-expired";
  state.not_before = kNow - 7200;
  ASSERT_TRUE(writeOrganizationLogsCheckpoint(data_dir_, config_.id, state));
  startSource();
  ASSERT_TRUE(eventually([&] { return !source_->notReadyReason().empty(); }));
  const std::string reason = source_->notReadyReason();
  EXPECT_NE(reason.find("HTTP 400"), std::string::npos) << reason;
  EXPECT_NE(reason.find("log-expired"), std::string::npos) << reason;
  EXPECT_NE(reason.find("siem-agent checkpoint reset"), std::string::npos) << reason;
  EXPECT_TRUE(pipeline_->events().empty());
  stopSource();
  EXPECT_EQ(checkpoint(), state);
}

TEST_F(OrgLogsSourceTest, CorruptCheckpointIsNotReadyAndLeftUntouched) {
  addBacklog(5);
  const fs::path path = organizationLogsCheckpointPath(data_dir_, config_.id);
  EXPECT_EQ(path, data_dir_ / "checkpoints" / "openai_seed.organization_logs.json");
  fs::create_directories(path.parent_path());
  const std::string garbage = "siem-agent-checkpoint v1 crc32=00000000 length=3\n{x}";
  std::ofstream(path) << garbage;
  startSource();
  ASSERT_TRUE(eventually([&] { return !source_->notReadyReason().empty(); }));
  stopSource();
  EXPECT_NE(source_->notReadyReason().find(path.string()), std::string::npos);
  EXPECT_TRUE(server_.requests().empty());
  EXPECT_EQ(errorCount("checkpoint_corrupt"), 1u);
  std::stringstream bytes;
  bytes << std::ifstream(path).rdbuf();
  EXPECT_EQ(bytes.str(), garbage);
}

TEST_F(OrgLogsSourceTest, TheAuditLogsCheckpointFormatIsNotMistakenForOurs) {
  CheckpointStore store(data_dir_ / "checkpoints");
  ASSERT_TRUE(store.write(config_.id + ".organization_logs.json",
                          R"({"format":1,"watermark":5,"origin":5,"seen":{}})"));
  startSource();
  ASSERT_TRUE(eventually([&] { return !source_->notReadyReason().empty(); }));
  EXPECT_NE(source_->notReadyReason().find("siem-agent checkpoint reset"), std::string::npos);
  EXPECT_TRUE(server_.requests().empty());
}

TEST_F(OrgLogsSourceTest, DryRunNeverWritesACheckpoint) {
  addBacklog(5);
  OrganizationLogsSourceDeps deps;
  deps.clock = &clock_;
  deps.read_only = true;
  source_ = std::make_unique<OrganizationLogsSource>(config_, options_, data_dir_, info_, deps);
  pipeline_ = std::make_unique<Pipeline>();
  pipeline_->attach(source_.get());
  thread_ = std::jthread([this](std::stop_token stop) { source_->run(stop, *pipeline_); });
  ASSERT_TRUE(pipeline_->waitForCount(5));
  ASSERT_TRUE(polledAgain());
  stopSource();
  EXPECT_EQ(pipeline_->events().size(), 5u);  // polls in memory moved on: no repeats
  EXPECT_FALSE(fs::exists(organizationLogsCheckpointPath(data_dir_, config_.id)));
}

TEST(OrgLogsCheckpointFileTest, ReadWriteAndMissing) {
  const fs::path dir =
      fs::temp_directory_path() / ("siem-orglogs-cp-file-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  auto none = readOrganizationLogsCheckpoint(dir, "src");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  IdCursorState s;
  s.last_id = "audit_log-00ff";
  s.not_before = 100;
  s.newest_created_at = 120;
  ASSERT_TRUE(writeOrganizationLogsCheckpoint(dir, "src", s));
  auto back = readOrganizationLogsCheckpoint(dir, "src");
  ASSERT_TRUE(back && back->has_value());
  EXPECT_EQ(**back, s);
  // The audit_logs checkpoint of the same source id is a different file.
  EXPECT_NE(organizationLogsCheckpointPath(dir, "src"), openAiCheckpointPath(dir, "src"));
  std::ofstream(organizationLogsCheckpointPath(dir, "src"), std::ios::app) << "x";
  auto corrupt = readOrganizationLogsCheckpoint(dir, "src");
  ASSERT_FALSE(corrupt);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace siem
