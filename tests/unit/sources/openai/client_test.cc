#include "agent/sources/openai/client.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "tests/unit/sources/openai/fake_audit_server.h"
#include "tests/unit/sources/openai/fake_clock.h"

namespace siem {
namespace {

using namespace std::chrono_literals;
using siem::testing::FakeAuditServer;
using siem::testing::FakeClock;

constexpr std::int64_t kNow = 1'793'491'200;

class RecordingObserver : public PullObserver {
 public:
  void onHttpRequest(int status, double) override { statuses.push_back(status); }
  void onError(std::string_view type) override {
    ++errors[std::string(type)];
    if (on_error) on_error();
  }
  void onRetry(std::chrono::milliseconds delay) override { retries.push_back(delay); }
  void onUtf8Repaired() override { ++repaired; }

  std::vector<int> statuses;
  std::map<std::string, int> errors;
  std::vector<std::chrono::milliseconds> retries;
  int repaired = 0;
  std::function<void()> on_error;
};

TEST(PercentEncodeTest, KeepsOnlyUnreserved) {
  EXPECT_EQ(percentEncode("AZaz09-._~"), "AZaz09-._~");
  EXPECT_EQ(percentEncode("a b&c=d/e+f?g#h"), "a%20b%26c%3Dd%2Fe%2Bf%3Fg%23h");
  EXPECT_EQ(percentEncode("event_types[]"), "event_types%5B%5D");
  EXPECT_EQ(percentEncode("caf\xC3\xA9"), "caf%C3%A9");
  EXPECT_EQ(percentEncode(""), "");
}

TEST(BuildAuditLogsUrlTest, TimeRangeLimitAndCursor) {
  OpenAiSourceOptions o;
  o.base_url = "https://api.openai.com/v1/";
  o.page_size = 100;
  EXPECT_EQ(buildAuditLogsUrl(o, AuditLogQuery{1000, 2000, std::nullopt}),
            "https://api.openai.com/v1/organization/audit_logs?effective_at%5Bgte%5D=1000&"
            "effective_at%5Blt%5D=2000&limit=100");
  EXPECT_EQ(buildAuditLogsUrl(o, AuditLogQuery{1000, 2000, "audit_log-a b"}),
            "https://api.openai.com/v1/organization/audit_logs?effective_at%5Bgte%5D=1000&"
            "effective_at%5Blt%5D=2000&limit=100&after=audit_log-a%20b");
}

TEST(BuildAuditLogsUrlTest, FiltersAreBracketArraysAndPageSizeIsClamped) {
  OpenAiSourceOptions o;
  o.base_url = "http://sim:8080/v1";
  o.page_size = 250;
  o.event_types = {"login.failed", "api_key.created"};
  o.project_ids = {"proj_1"};
  o.actor_ids = {"user-1"};
  o.actor_emails = {"a+b@example.com"};
  o.resource_ids = {"ws__conn"};
  o.tenant_only = true;
  EXPECT_EQ(buildAuditLogsUrl(o, AuditLogQuery{1, 2, std::nullopt}),
            "http://sim:8080/v1/organization/audit_logs?effective_at%5Bgte%5D=1&"
            "effective_at%5Blt%5D=2&limit=100&event_types%5B%5D=login.failed&"
            "event_types%5B%5D=api_key.created&project_ids%5B%5D=proj_1&actor_ids%5B%5D=user-1&"
            "actor_emails%5B%5D=a%2Bb%40example.com&resource_ids%5B%5D=ws__conn&tenant_only=true");
  o.page_size = 0;
  EXPECT_NE(buildAuditLogsUrl(o, AuditLogQuery{1, 2, std::nullopt}).find("&limit=1&"),
            std::string::npos);
}

TEST(TokenBucketTest, PacesRequestsWithInjectedTime) {
  const std::chrono::steady_clock::time_point t0{std::chrono::hours(1)};
  TokenBucket bucket(5.0, 1.0, t0);
  EXPECT_EQ(bucket.take(t0), 0ns);
  EXPECT_EQ(bucket.take(t0), 200ms);  // reserved: the caller waits, then sends
  EXPECT_EQ(bucket.take(t0), 400ms);
  EXPECT_EQ(bucket.take(t0 + 400ms), 200ms);
  EXPECT_EQ(bucket.take(t0 + 10s), 0ns);  // refilled, but never beyond the burst
  EXPECT_EQ(bucket.take(t0 + 10s), 200ms);

  TokenBucket slow(0.5, 1.0, t0);
  EXPECT_EQ(slow.take(t0), 0ns);
  EXPECT_EQ(slow.take(t0), 2s);

  TokenBucket burst(10.0, 3.0, t0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(burst.take(t0), 0ns);
  EXPECT_EQ(burst.take(t0), 100ms);

  TokenBucket unlimited(0.0, 1.0, t0);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(unlimited.take(t0), 0ns);
}

TEST(RetryDelayTest, FullJitterWithinTheCappedExponentialBound) {
  RetryBackoff b;  // 500 ms doubling, capped at 30 s
  EXPECT_EQ(retryDelay(b, 1, 0.0, std::nullopt), 0ms);
  EXPECT_EQ(retryDelay(b, 1, 0.5, std::nullopt), 250ms);
  EXPECT_EQ(retryDelay(b, 3, 0.5, std::nullopt), 1000ms);
  EXPECT_EQ(retryDelay(b, 7, 0.5, std::nullopt), 15000ms);
  EXPECT_EQ(retryDelay(b, 8, 0.5, std::nullopt), 15000ms);    // 64 s capped to 30 s
  EXPECT_EQ(retryDelay(b, 500, 0.5, std::nullopt), 15000ms);  // no overflow
  std::mt19937 rng(3);
  for (std::uint32_t attempt = 1; attempt <= 40; ++attempt) {
    const double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    const auto d = retryDelay(b, attempt, r, std::nullopt);
    const auto bound =
        std::min<std::int64_t>(30'000, 500LL << std::min<std::uint32_t>(attempt - 1, 20));
    EXPECT_GE(d.count(), 0);
    EXPECT_LE(d.count(), bound) << "attempt " << attempt;
  }
}

TEST(RetryDelayTest, ServerDelayIsAFloorCappedByPolicy) {
  RetryBackoff b;
  EXPECT_EQ(retryDelay(b, 1, 0.9, 7s), 7000ms);
  EXPECT_EQ(retryDelay(b, 8, 0.9, 1s), 27000ms);  // our own backoff is longer: keep it
  EXPECT_EQ(retryDelay(b, 1, 0.0, 2h), 600'000ms);
}

class ApiKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("siem-key-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void write(std::string_view content) {
    std::ofstream out(path_, std::ios::trunc);
    out << content;
  }
  std::filesystem::path path_;
};

TEST_F(ApiKeyFileTest, TrimsAndReportsWithoutContent) {
  write("  sk-admin-rotated-1\n");
  EXPECT_EQ(readApiKeyFile(path_.string()).value(), "sk-admin-rotated-1");
  write("\n");
  auto empty = readApiKeyFile(path_.string());
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().message.find("is empty"), std::string::npos);
  std::filesystem::remove(path_);
  auto missing = readApiKeyFile(path_.string());
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find(path_.string()), std::string::npos);
}

class OpenAiClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.start();
    for (int i = 0; i < 5; ++i) server_.addEvent("ev" + std::to_string(i), kNow - 100 + i);
    options_.base_url = server_.baseUrl();
    options_.api_key = "sk-admin-good";
    options_.max_requests_per_sec = 0;
    options_.page_size = 2;
  }
  std::unique_ptr<OpenAiClient> client(std::string org = "") {
    return std::make_unique<OpenAiClient>(options_, "test", std::move(org), clock_, observer_,
                                          [] { return 0.5; });
  }

  FakeAuditServer server_;
  FakeClock clock_{kNow};
  RecordingObserver observer_;
  OpenAiSourceOptions options_;
  std::stop_source stop_;
};

TEST_F(OpenAiClientTest, FetchesPagesWithTheDocumentedHeaders) {
  auto c = client("org-123");
  FetchResult first =
      c->fetchPage(AuditLogQuery{kNow - 1000, kNow, std::nullopt}, stop_.get_token());
  ASSERT_EQ(first.status, FetchStatus::kPage) << first.message;
  ASSERT_EQ(first.page.events.size(), 2u);
  EXPECT_EQ(first.page.events[0].id, "ev4");  // newest first
  EXPECT_TRUE(first.page.has_more);
  FetchResult second =
      c->fetchPage(AuditLogQuery{kNow - 1000, kNow, first.page.last_id}, stop_.get_token());
  ASSERT_EQ(second.status, FetchStatus::kPage);
  EXPECT_EQ(second.page.events[0].id, "ev2");

  auto headers = server_.requestHeaders().front();
  EXPECT_EQ(headers.find("Authorization")->second, "Bearer sk-admin-good");
  EXPECT_EQ(headers.find("OpenAI-Organization")->second, "org-123");
  EXPECT_EQ(headers.find("Accept")->second, "application/json");
  EXPECT_EQ(headers.find("User-Agent")->second.rfind("siem-agent/", 0), 0u);
  EXPECT_NE(server_.requests()[1].find("after=ev3"), std::string::npos);
  EXPECT_EQ(observer_.statuses, (std::vector<int>{200, 200}));
}

TEST_F(OpenAiClientTest, HonoursRetryAfterOn429AndRetryAfterMsOn503) {
  server_.pushFault({429,
                     R"({"error":{"message":"Rate limit reached","type":"requests"}})",
                     {{"Retry-After", "7"}}});
  server_.pushFault({503, "overloaded", {{"retry-after-ms", "1500"}}});
  auto c = client();
  FetchResult r = c->fetchPage(AuditLogQuery{kNow - 1000, kNow, std::nullopt}, stop_.get_token());
  ASSERT_EQ(r.status, FetchStatus::kPage) << r.message;
  EXPECT_EQ(observer_.retries, (std::vector<std::chrono::milliseconds>{7000ms, 1500ms}));
  EXPECT_EQ(observer_.errors["rate_limited"], 1);
  EXPECT_EQ(observer_.errors["server_error"], 1);
  EXPECT_EQ(observer_.statuses, (std::vector<int>{429, 503, 200}));
  auto sleeps = clock_.sleeps();
  EXPECT_NE(std::find(sleeps.begin(), sleeps.end(), 7000ms), sleeps.end());
}

TEST_F(OpenAiClientTest, MalformedPagesAndStuckPaginationAreRetried) {
  server_.pushFault({200, R"({"data":[{"id":"x"}],"has_more":false})", {}});
  server_.pushFault({200, R"({"data":[],"has_more":true,"last_id":"same"})", {}});
  server_.pushFault({200, "<html>gateway</html>", {}});
  auto c = client();
  FetchResult r = c->fetchPage(AuditLogQuery{kNow - 1000, kNow, "same"}, stop_.get_token());
  // The real page after `same` (unknown id) is empty: what matters is that it came through.
  ASSERT_EQ(r.status, FetchStatus::kPage) << r.message;
  EXPECT_EQ(observer_.errors["malformed_page"], 3);
  EXPECT_EQ(observer_.retries.size(), 3u);
  EXPECT_EQ(observer_.retries[0], 250ms);  // 0.5 × 500 ms
  EXPECT_EQ(observer_.retries[1], 500ms);  // 0.5 × 1 s
  EXPECT_EQ(observer_.retries[2], 1000ms);
}

TEST_F(OpenAiClientTest, UnauthorizedCarriesOpenAisMessageButNeverTheKey) {
  options_.api_key = "sk-admin-wrong-key-123";
  auto c = client();
  FetchResult r = c->fetchPage(AuditLogQuery{kNow - 1000, kNow, std::nullopt}, stop_.get_token());
  ASSERT_EQ(r.status, FetchStatus::kUnauthorized);
  EXPECT_EQ(r.http_status, 401);
  EXPECT_NE(r.message.find("an organization Admin API key is required"), std::string::npos);
  EXPECT_NE(r.message.find("Incorrect API key provided"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("wrong-key"), std::string::npos) << r.message;
  EXPECT_EQ(r.message.find("sk-admin-****"), std::string::npos) << r.message;
  EXPECT_EQ(observer_.errors["unauthorized"], 1);
  EXPECT_TRUE(observer_.retries.empty());  // the source decides how slowly to retry
}

TEST_F(OpenAiClientTest, OtherClientErrorsAreRejected) {
  server_.pushFault(
      {400,
       R"({"error":{"message":"Invalid value for event_types[]","type":"invalid_request_error"}})",
       {}});
  auto c = client();
  FetchResult r = c->fetchPage(AuditLogQuery{kNow - 1000, kNow, std::nullopt}, stop_.get_token());
  ASSERT_EQ(r.status, FetchStatus::kRejected);
  EXPECT_NE(r.message.find("HTTP 400"), std::string::npos);
  EXPECT_NE(r.message.find("Invalid value for event_types[]"), std::string::npos) << r.message;
}

TEST_F(OpenAiClientTest, ConnectionErrorsAreRetriedUntilStopped) {
  server_.stop();
  observer_.on_error = [this] {
    if (observer_.errors["connection"] >= 4) stop_.request_stop();
  };
  auto c = client();
  FetchResult r = c->fetchPage(AuditLogQuery{kNow - 1000, kNow, std::nullopt}, stop_.get_token());
  EXPECT_EQ(r.status, FetchStatus::kStopped);
  EXPECT_EQ(observer_.errors["connection"], 4);
  EXPECT_EQ(observer_.retries.size(), 4u);
  EXPECT_EQ(observer_.statuses, (std::vector<int>{0, 0, 0, 0}));
}

TEST_F(OpenAiClientTest, ClientSideRateLimitSpacesRequests) {
  options_.max_requests_per_sec = 4;
  auto c = client();
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(
        c->fetchPage(AuditLogQuery{kNow - 1000, kNow, std::nullopt}, stop_.get_token()).status,
        FetchStatus::kPage);
  }
  auto sleeps = clock_.sleeps();
  ASSERT_EQ(sleeps.size(), 3u);
  EXPECT_EQ(sleeps[0], 0ns);
  // The fake monotonic clock only moves by sleeping, so each later request waits a full 250 ms.
  EXPECT_EQ(sleeps[1], 250ms);
  EXPECT_EQ(sleeps[2], 250ms);
}

TEST_F(OpenAiClientTest, ClientsSharingABudgetShareTheRate) {
  options_.max_requests_per_sec = 4;
  auto budget = std::make_shared<RequestBudget>(4.0, clock_.monotonic());
  auto make = [&] {
    return std::make_unique<OpenAiClient>(
        options_, "test", "", clock_, observer_, [] { return 0.5; }, RetryBackoff{}, budget);
  };
  auto a = make();
  auto b = make();
  for (OpenAiClient* c : {a.get(), b.get(), a.get(), b.get()}) {
    ASSERT_EQ(
        c->fetchPage(AuditLogQuery{kNow - 1000, kNow, std::nullopt}, stop_.get_token()).status,
        FetchStatus::kPage);
  }
  // One budget: after the first request each waits its 250 ms, whichever client sends it.
  EXPECT_EQ(clock_.sleeps(), (std::vector<std::chrono::nanoseconds>{0ns, 250ms, 250ms, 250ms}));
}

TEST(RequestBudgetTest, APauseHoldsEveryTakerUntilItEnds) {
  const std::chrono::steady_clock::time_point t0{std::chrono::hours(1)};
  RequestBudget budget(0.0, t0);  // no rate limit of its own
  EXPECT_EQ(budget.take(t0), 0ns);
  budget.pauseUntil(t0 + 7s);
  budget.pauseUntil(t0 + 2s);  // a shorter pause does not cut the longer one
  EXPECT_EQ(budget.take(t0), 7s);
  EXPECT_EQ(budget.take(t0 + 5s), 2s);
  EXPECT_EQ(budget.take(t0 + 7s), 0ns);

  RequestBudget paced(4.0, t0);
  EXPECT_EQ(paced.take(t0), 0ns);
  paced.pauseUntil(t0 + 100ms);
  EXPECT_EQ(paced.take(t0), 250ms);  // the rate asks for longer than the pause
  paced.pauseUntil(t0 + 3s);
  EXPECT_EQ(paced.take(t0), 3s);
}

TEST_F(OpenAiClientTest, RetryAfterPausesTheSharedBudget) {
  server_.pushFault({429, R"({"error":{"message":"Rate limit reached"}})", {{"Retry-After", "7"}}});
  auto budget = std::make_shared<RequestBudget>(0.0, clock_.monotonic());
  auto c = std::make_unique<OpenAiClient>(
      options_, "test", "", clock_, observer_, [] { return 0.5; }, RetryBackoff{}, budget);
  const auto before = clock_.monotonic();
  ASSERT_EQ(c->fetchPage(AuditLogQuery{kNow - 1000, kNow, std::nullopt}, stop_.get_token()).status,
            FetchStatus::kPage);
  // The client waited the 7 s itself; another client asking in the meantime would have too.
  EXPECT_EQ(budget->take(before + 1s), 6s);
  EXPECT_EQ(budget->take(before + 7s), 0ns);
}

TEST_F(OpenAiClientTest, ReloadPicksUpARotatedKeyFile) {
  auto path =
      std::filesystem::temp_directory_path() / ("siem-rotate-" + std::to_string(::getpid()));
  { std::ofstream(path) << "sk-admin-old\n"; }
  options_.api_key = "";
  options_.api_key_file = path.string();
  auto c = client();
  EXPECT_EQ(c->fetchPage(AuditLogQuery{kNow - 1000, kNow, std::nullopt}, stop_.get_token()).status,
            FetchStatus::kUnauthorized);
  { std::ofstream(path, std::ios::trunc) << "sk-admin-good\n"; }
  ASSERT_TRUE(c->reloadApiKey());
  EXPECT_EQ(c->fetchPage(AuditLogQuery{kNow - 1000, kNow, std::nullopt}, stop_.get_token()).status,
            FetchStatus::kPage);
  std::filesystem::remove(path);
  EXPECT_FALSE(c->reloadApiKey());
}

}  // namespace
}  // namespace siem
