#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "agent/cli/log_reader.h"
#include "tests/unit/sources/openai/fake_org_logs_server.h"

namespace siem::cli {
namespace {

namespace fs = std::filesystem;

constexpr char kKey[] = "sk-admin-good";

// GET /v1/organization_logs in ingestion order both ways (order=asc|desc, default desc, as the
// simulator does), limit, after (400 when unknown), and GET /v1/organization_logs/{id} (404).
// Canned answers can be queued; `overlap_after` makes the page after that id start with the id
// itself (a list that moved while it was paged); `loop_after` answers the page after that id with
// the first page again (has_more true): a server going in circles.
class VariantServer {
 public:
  struct Canned {
    int status = 500;
    std::string body;
  };

  VariantServer() {
    server_.set_tcp_nodelay(true);
    server_.Get("/v1/organization_logs",
                [this](const httplib::Request& req, httplib::Response& res) { list(req, res); });
    server_.Get(R"(/v1/organization_logs/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) { get(req, res); });
  }
  ~VariantServer() {
    if (!thread_.joinable()) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    server_.stop();
    thread_.join();
  }
  void start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  std::string baseUrl() const { return fmt::format("http://127.0.0.1:{}/v1", port_); }

  void add(const std::string& id, std::int64_t created_at,
           const std::string& event = "user.added") {
    std::lock_guard lock(mutex_);
    events_.push_back(Stored{id, created_at, testing::orgLogJson(id, created_at, event)});
  }
  void push(Canned canned) {
    std::lock_guard lock(mutex_);
    canned_.push_back(std::move(canned));
  }
  void overlapAfter(std::string id) {
    std::lock_guard lock(mutex_);
    overlap_after_ = std::move(id);
  }
  void loopAfter(std::string id) {
    std::lock_guard lock(mutex_);
    loop_after_ = std::move(id);
  }
  std::vector<std::string> requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  struct Stored {
    std::string id;
    std::int64_t created_at;
    std::string json;
  };

  bool refuse(const httplib::Request& req, httplib::Response& res) {
    requests_.push_back(req.target);
    if (!canned_.empty()) {
      res.status = canned_.front().status;
      res.set_content(canned_.front().body, "application/json");
      canned_.pop_front();
      return true;
    }
    if (req.get_header_value("Authorization") != std::string("Bearer ") + kKey) {
      res.status = 401;
      res.set_content(R"({"error":{"message":"Incorrect API key provided: sk-admin-****."}})",
                      "application/json");
      return true;
    }
    return false;
  }

  void list(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    if (refuse(req, res)) return;
    std::vector<const Stored*> order;
    for (const Stored& e : events_) order.push_back(&e);
    if (req.get_param_value("order") != "asc") std::reverse(order.begin(), order.end());
    const std::size_t limit =
        req.has_param("limit") ? static_cast<std::size_t>(std::stoul(req.get_param_value("limit")))
                               : 20;
    std::size_t from = 0;
    if (req.has_param("after")) {
      const std::string after = req.get_param_value("after");
      auto it =
          std::find_if(order.begin(), order.end(), [&](const Stored* e) { return e->id == after; });
      if (it == order.end()) {
        res.status = 400;
        res.set_content(R"({"error":{"message":"Invalid 'after'.","param":"after"}})",
                        "application/json");
        return;
      }
      from = static_cast<std::size_t>(it - order.begin()) + 1;
      if (loop_after_ == after) from = 0;
      if (overlap_after_ == after) --from;
    }
    const std::size_t to = std::min(order.size(), from + limit);
    std::string body = R"({"object":"list","data":[)";
    for (std::size_t i = from; i < to; ++i) {
      if (i > from) body.append(",");
      body.append(order[i]->json);
    }
    body.append("],");
    body.append(to > from ? fmt::format(R"("first_id":"{}","last_id":"{}",)", order[from]->id,
                                        order[to - 1]->id)
                          : std::string(R"("first_id":null,"last_id":null,)"));
    const bool more =
        to < order.size() || (!loop_after_.empty() && loop_after_ == req.get_param_value("after"));
    body.append(fmt::format(R"("has_more":{}}})", more ? "true" : "false"));
    res.set_content(body, "application/json");
  }

  void get(const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex_);
    if (refuse(req, res)) return;
    for (const Stored& e : events_) {
      if (e.id == req.matches[1]) {
        res.set_content(e.json, "application/json");
        return;
      }
    }
    res.status = 404;
    res.set_content(R"({"error":{"message":"No organization log found.","param":"id"}})",
                    "application/json");
  }

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mutex_;  // guards everything below
  std::vector<Stored> events_;
  std::deque<Canned> canned_;
  std::string overlap_after_;
  std::string loop_after_;
  std::vector<std::string> requests_;
};

class OrgLogsReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.start();
    std::string pattern = (fs::temp_directory_path() / "org-logs-reader-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    spill_ = pattern;
  }
  void TearDown() override { fs::remove_all(spill_); }

  OpenAiSourceOptions options() const {
    OpenAiSourceOptions o;
    o.api = OpenAiApiVariant::kOrganizationLogs;
    o.base_url = server_.baseUrl();
    o.api_key = kKey;
    o.max_requests_per_sec = 0;  // no client-side pacing in tests
    o.timeout_secs = 5;
    return o;
  }
  ReaderLimits fastLimits(std::uint32_t attempts) const {
    ReaderLimits limits;
    limits.max_attempts = attempts;
    limits.backoff.initial = std::chrono::milliseconds(1);
    limits.backoff.max = std::chrono::milliseconds(5);
    limits.backoff.max_retry_after = std::chrono::milliseconds(5);
    limits.spill_dir = spill_;
    return limits;
  }

  static std::vector<std::string> newestIds(LogReader& reader, const TimeRange& range) {
    std::vector<std::string> ids;
    auto read = reader.newestFirst(range, [&ids](std::vector<Event>& page) {
      for (const auto& e : page) ids.push_back(e.id);
      return true;
    });
    EXPECT_TRUE(read) << (read ? "" : read.error().message);
    return ids;
  }

  std::size_t spillEntries() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(spill_), {}));
  }

  VariantServer server_;
  SystemClock clock_;
  fs::path spill_;
};

TEST_F(OrgLogsReaderTest, NewestFirstIsMostRecentlyIngestedFirstFilteredHere) {
  // Ingestion order: log-1..log-8 by time, then log-9 indexed late with an old created_at.
  for (int i = 1; i <= 8; ++i) server_.add("log-" + std::to_string(i), 1000 + i);
  server_.add("log-9", 1003);
  auto o = options();
  o.page_size = 3;
  OrganizationLogsReader reader(o, "seed", "", clock_, std::stop_token{}, fastLimits(3));

  const auto ids = newestIds(reader, TimeRange{1003, 1007});

  EXPECT_EQ(ids, (std::vector<std::string>{"log-9", "log-6", "log-5", "log-4", "log-3"}));
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);  // no time filter to ask for: the whole log is read
  EXPECT_EQ(requests[0], "/v1/organization_logs?order=desc&limit=3");
  EXPECT_EQ(requests[1], "/v1/organization_logs?order=desc&limit=3&after=log-7");
  EXPECT_EQ(requests[2], "/v1/organization_logs?order=desc&limit=3&after=log-4");
  EXPECT_EQ(reader.stats().pages, 3u);
  EXPECT_EQ(reader.stats().events_read, 9u);
  EXPECT_EQ(reader.stats().not_matching, 4u);
  EXPECT_EQ(reader.stats().out_of_range, 0u);
}

TEST_F(OrgLogsReaderTest, NewestFirstStopsReadingWhenTheCallerHasEnough) {
  for (int i = 1; i <= 50; ++i) server_.add("log-" + std::to_string(i), 1000 + i);
  auto o = options();
  o.page_size = 10;
  OrganizationLogsReader reader(o, "seed", "", clock_, std::stop_token{}, fastLimits(3));
  std::vector<std::string> ids;

  auto read = reader.newestFirst(TimeRange{0, 5000}, [&ids](std::vector<Event>& page) {
    for (const auto& e : page) ids.push_back(e.id);
    return ids.size() < 15;
  });

  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(ids.size(), 20u);
  EXPECT_EQ(ids.front(), "log-50");
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(OrgLogsReaderTest, EventTypesAreFilteredClientSide) {
  server_.add("log-1", 1001, "login.failed");
  server_.add("log-2", 1002, "user.added");
  server_.add("log-3", 1003, "login.failed");
  auto o = options();
  o.event_types = {"login.failed"};
  OrganizationLogsReader reader(o, "seed", "", clock_, std::stop_token{}, fastLimits(3));

  EXPECT_EQ(newestIds(reader, TimeRange{0, 5000}), (std::vector<std::string>{"log-3", "log-1"}));
  EXPECT_EQ(reader.stats().not_matching, 1u);
  EXPECT_EQ(server_.requests().front().find("event_types"), std::string::npos);
}

TEST_F(OrgLogsReaderTest, AscendingExportIsCompleteSortedOnceAndSpillsToDisk) {
  // Ingested out of time order (late-indexed logs), with shared seconds, ids not in time order.
  std::vector<std::pair<std::int64_t, std::string>> expected;
  for (int i = 0; i < 90; ++i) {
    const std::int64_t t = 5000 + (i * 37) % 45;  // two logs per second, in a scrambled order
    const std::string id = "log-" + std::to_string(100 + (i * 53) % 90);
    server_.add(id, t);
    if (t >= 5005 && t < 5040) expected.emplace_back(t, id);
  }
  server_.add("early", 4000);
  server_.add("late", 6000);
  std::sort(expected.begin(), expected.end());
  server_.overlapAfter("log-159");  // the page after it (a page boundary) lists it again
  auto o = options();
  o.page_size = 7;
  o.max_window_events = 10;  // far fewer than the range holds: sorted on disk
  OrganizationLogsReader reader(o, "seed", "", clock_, std::stop_token{}, fastLimits(3));

  std::vector<std::pair<std::int64_t, std::string>> got;
  auto read = reader.ascending(TimeRange{5005, 5040}, [&got](Event& e) {
    got.emplace_back(e.effective_at, e.id);
    return true;
  });

  ASSERT_TRUE(read) << read.error().message;
  EXPECT_EQ(got, expected);
  EXPECT_GT(reader.stats().sorted_runs, 1u);
  EXPECT_EQ(reader.stats().duplicates, 1u);
  EXPECT_EQ(reader.stats().events_read, 93u);
  EXPECT_EQ(reader.stats().not_matching, 92u - expected.size());
  for (const auto& target : server_.requests()) {
    EXPECT_EQ(target.rfind("/v1/organization_logs?order=asc&limit=7", 0), 0u) << target;
  }
  EXPECT_EQ(spillEntries(), 0u) << "the sort's temporary directory was left behind";
}

TEST_F(OrgLogsReaderTest, LookupGetsByIdAndSaysWhenItDoesNotExist) {
  server_.add("log-1", 1001, "login.failed");
  server_.add("log 2+x", 1002);
  OrganizationLogsReader reader(options(), "seed", "", clock_, std::stop_token{}, fastLimits(3));
  ASSERT_TRUE(reader.hasLookup());

  auto found = reader.lookup("log-1");
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, "log-1");
  EXPECT_EQ((*found)->type, "login.failed");
  EXPECT_EQ((*found)->raw, testing::orgLogJson("log-1", 1001, "login.failed"));

  auto encoded = reader.lookup("log 2+x");
  ASSERT_TRUE(encoded && encoded->has_value());
  EXPECT_EQ((*encoded)->id, "log 2+x");

  auto missing = reader.lookup("log-404");
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(missing->has_value());

  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);  // one GET each, no scan, the 404 not retried
  EXPECT_EQ(requests[0], "/v1/organization_logs/log-1");
  EXPECT_EQ(requests[1], "/v1/organization_logs/log%202%2Bx");
  EXPECT_EQ(requests[2], "/v1/organization_logs/log-404");
}

TEST_F(OrgLogsReaderTest, RetriesTransientFailuresLikeTheDaemon) {
  server_.add("log-1", 1001);
  server_.push({429, R"({"error":{"message":"slow down"}})"});
  server_.push({503, R"({"error":{"message":"oops"}})"});
  OrganizationLogsReader reader(options(), "seed", "", clock_, std::stop_token{}, fastLimits(3));

  EXPECT_EQ(newestIds(reader, TimeRange{0, 2000}), std::vector<std::string>{"log-1"});
  EXPECT_EQ(reader.stats().retries, 2u);
  EXPECT_EQ(reader.stats().requests, 3u);

  server_.push({500, "{}"});
  auto found = reader.lookup("log-1");
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ(reader.stats().retries, 3u);
}

TEST_F(OrgLogsReaderTest, GivesUpAfterMaxAttemptsInARow) {
  for (int i = 0; i < 10; ++i) server_.push({503, "{}"});
  OrganizationLogsReader reader(options(), "seed", "", clock_, std::stop_token{}, fastLimits(3));

  auto read = reader.ascending(TimeRange{0, 2000}, [](Event&) { return true; });
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("3 failed attempts"), std::string::npos)
      << read.error().message;
  EXPECT_EQ(server_.requests().size(), 3u);

  auto looked_up = reader.lookup("log-1");
  ASSERT_FALSE(looked_up);
  EXPECT_NE(looked_up.error().message.find("3 failed attempts"), std::string::npos);
  EXPECT_EQ(server_.requests().size(), 6u);
}

TEST_F(OrgLogsReaderTest, AServerGoingInCirclesIsRetriedThenGivenUp) {
  for (int i = 1; i <= 9; ++i) server_.add("log-" + std::to_string(i), 1000 + i);
  server_.loopAfter("log-6");  // the page after log-6 is the first page again
  auto o = options();
  o.page_size = 3;
  OrganizationLogsReader reader(o, "seed", "", clock_, std::stop_token{}, fastLimits(4));
  std::vector<std::string> ids;

  auto read = reader.ascending(TimeRange{0, 5000}, [&ids](Event& e) {
    ids.push_back(e.id);
    return true;
  });

  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("going in circles"), std::string::npos)
      << read.error().message;
  EXPECT_TRUE(ids.empty()) << "an incomplete export handed out events";
  // Pages 1 and 2, then four looping answers to the request after log-6.
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 6u);
  for (std::size_t i = 2; i < requests.size(); ++i) {
    EXPECT_NE(requests[i].find("after=log-6"), std::string::npos) << requests[i];
  }
  EXPECT_EQ(reader.stats().retries, 3u);
}

TEST_F(OrgLogsReaderTest, UnauthorizedFailsAtOnceWithoutTheKey) {
  auto o = options();
  o.api_key = "sk-admin-wrong-key-123456";
  OrganizationLogsReader reader(o, "seed", "", clock_, std::stop_token{}, fastLimits(5));

  auto read = reader.newestFirst(TimeRange{0, 2000}, [](std::vector<Event>&) { return true; });
  ASSERT_FALSE(read);
  EXPECT_NE(read.error().message.find("Admin API key"), std::string::npos) << read.error().message;
  EXPECT_EQ(read.error().message.find("sk-admin-wrong-key-123456"), std::string::npos);

  auto looked_up = reader.lookup("log-1");
  ASSERT_FALSE(looked_up);
  EXPECT_EQ(looked_up.error().message.find("sk-admin-wrong-key-123456"), std::string::npos);
  EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(OrgLogsReaderTest, AStopRequestInterruptsWithoutARequest) {
  std::stop_source stop;
  stop.request_stop();
  OrganizationLogsReader reader(options(), "seed", "", clock_, stop.get_token(), fastLimits(3));

  auto read = reader.ascending(TimeRange{0, 2000}, [](Event&) { return true; });
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().message, "interrupted");
  EXPECT_TRUE(server_.requests().empty());
}

TEST(MakeLogReaderTest, ServesBothApiVariants) {
  OpenAiSourceOptions options;
  options.api_key = "sk-admin-secret-value";
  SystemClock clock;

  options.api = OpenAiApiVariant::kOrganizationLogs;
  auto seed = makeLogReader(options, "seed", "", clock, std::stop_token{});
  ASSERT_TRUE(seed) << seed.error().message;
  EXPECT_TRUE((*seed)->hasLookup());
  EXPECT_NE(dynamic_cast<OrganizationLogsReader*>(seed->get()), nullptr);

  options.api = OpenAiApiVariant::kAuditLogs;
  auto real = makeLogReader(options, "real", "", clock, std::stop_token{});
  ASSERT_TRUE(real) << real.error().message;
  EXPECT_FALSE((*real)->hasLookup());
  EXPECT_NE(dynamic_cast<AuditLogsReader*>(real->get()), nullptr);
}

}  // namespace
}  // namespace siem::cli
