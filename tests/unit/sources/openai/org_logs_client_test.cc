// The client's requests for the organization_logs variant: URLs, paging checks, get-by-id.
#include <gtest/gtest.h>

#include <map>

#include "agent/sources/openai/client.h"
#include "tests/unit/sources/openai/fake_clock.h"
#include "tests/unit/sources/openai/fake_org_logs_server.h"

namespace siem {
namespace {

using namespace std::chrono_literals;
using siem::testing::FakeClock;
using siem::testing::FakeOrgLogsServer;

constexpr std::int64_t kNow = 1'793'491'200;

class CountingPullObserver : public PullObserver {
 public:
  void onHttpRequest(int status, double) override { statuses.push_back(status); }
  void onError(std::string_view type) override { ++errors[std::string(type)]; }
  void onRetry(std::chrono::milliseconds delay) override { retries.push_back(delay); }
  void onUtf8Repaired() override {}

  std::vector<int> statuses;
  std::map<std::string, int> errors;
  std::vector<std::chrono::milliseconds> retries;
};

TEST(BuildOrganizationLogsUrlTest, AscendingWithLimitAndCursor) {
  OpenAiSourceOptions o;
  o.base_url = "https://api.example.com/v1/";
  o.page_size = 50;
  EXPECT_EQ(buildOrganizationLogsUrl(o, std::nullopt),
            "https://api.example.com/v1/organization_logs?order=asc&limit=50");
  EXPECT_EQ(buildOrganizationLogsUrl(o, "log a/b"),
            "https://api.example.com/v1/organization_logs?order=asc&limit=50&after=log%20a%2Fb");
  o.page_size = 500;
  EXPECT_EQ(buildOrganizationLogsUrl(o, std::nullopt),
            "https://api.example.com/v1/organization_logs?order=asc&limit=100");
  o.page_size = 0;
  EXPECT_EQ(buildOrganizationLogsUrl(o, "x"),
            "https://api.example.com/v1/organization_logs?order=asc&limit=1&after=x");
  // The filters of the real API have no place here.
  o.event_types = {"login.failed"};
  EXPECT_EQ(buildOrganizationLogsUrl(o, std::nullopt).find("event_types"), std::string::npos);
}

TEST(BuildOrganizationLogsUrlTest, GetByIdEncodesTheId) {
  OpenAiSourceOptions o;
  o.base_url = "http://127.0.0.1:9/v1";
  EXPECT_EQ(buildOrganizationLogUrl(o, "audit_log-0a"),
            "http://127.0.0.1:9/v1/organization_logs/audit_log-0a");
  EXPECT_EQ(buildOrganizationLogUrl(o, "../x?y"),
            "http://127.0.0.1:9/v1/organization_logs/..%2Fx%3Fy");
}

class OrgLogsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.start();
    for (int i = 0; i < 5; ++i) server_.add("log" + std::to_string(i), kNow - 100 + i);
    options_.api = OpenAiApiVariant::kOrganizationLogs;
    options_.base_url = server_.baseUrl();
    options_.api_key = "sk-admin-good";
    options_.max_requests_per_sec = 0;
    options_.page_size = 2;
  }
  std::unique_ptr<OpenAiClient> client() {
    return std::make_unique<OpenAiClient>(options_, "test", "", clock_, observer_,
                                          [] { return 0.5; });
  }

  FakeOrgLogsServer server_;
  FakeClock clock_{kNow};
  CountingPullObserver observer_;
  OpenAiSourceOptions options_;
  std::stop_source stop_;
};

TEST_F(OrgLogsClientTest, PagesOldestFirstFollowingTheLastId) {
  auto c = client();
  std::vector<std::string> ids;
  std::optional<std::string> after;
  for (int pages = 0;; ++pages) {
    ASSERT_LT(pages, 10);
    FetchResult r = c->fetchOrganizationLogsPage(after, stop_.get_token());
    ASSERT_EQ(r.status, FetchStatus::kPage) << r.message;
    for (const Event& e : r.page.events) ids.push_back(e.id);
    if (!r.page.events.empty()) {
      EXPECT_EQ(r.page.last_id, r.page.events.back().id);
    }
    if (!r.page.has_more) break;
    after = r.page.last_id;
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"log0", "log1", "log2", "log3", "log4"}));
  const auto requests = server_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0], "/v1/organization_logs?order=asc&limit=2");
  EXPECT_EQ(requests[1], "/v1/organization_logs?order=asc&limit=2&after=log1");
  EXPECT_EQ(requests[2], "/v1/organization_logs?order=asc&limit=2&after=log3");
  EXPECT_TRUE(observer_.errors.empty());

  // Seed-shaped fields decode like the real API's.
  FetchResult r = c->fetchOrganizationLogsPage(std::nullopt, stop_.get_token());
  ASSERT_EQ(r.status, FetchStatus::kPage);
  const Event& e = r.page.events.front();
  EXPECT_EQ(e.type, "user.added");
  EXPECT_EQ(e.effective_at, kNow - 100);
  EXPECT_EQ(e.actor_id, "user-abc");
  EXPECT_EQ(e.actor_email, "ann@example.com");
  EXPECT_EQ(e.outcome, Outcome::kSuccess);
  EXPECT_EQ(e.raw.front(), '{');
}

TEST_F(OrgLogsClientTest, BadPagesAreCountedAndRetriedWithBackoff) {
  server_.push({200, R"({"object":"list","data":[],"first_id":null,"last_id":null,)"
                     R"("has_more":true})"});
  server_.push({200, R"({"object":"list","data":[{"id":"log2","event":"user.added",)"
                     R"("created_at":5}],"first_id":"log2","last_id":"log9","has_more":false})"});
  server_.push({200, R"({"object":"list","data":[{"id":"log1","event":"user.added",)"
                     R"("created_at":5}],"first_id":"log1","last_id":"log1","has_more":true})"});
  server_.push({200, R"({"object":"list","data":[{"id":"log2",)"});  // truncated JSON
  auto c = client();
  FetchResult r = c->fetchOrganizationLogsPage("log1", stop_.get_token());
  ASSERT_EQ(r.status, FetchStatus::kPage) << r.message;
  ASSERT_EQ(r.page.events.size(), 2u);
  EXPECT_EQ(r.page.events[0].id, "log2");  // the real page after log1
  EXPECT_EQ(observer_.errors["malformed_page"], 3);
  EXPECT_EQ(observer_.errors["cursor_loop"], 1);
  EXPECT_EQ(observer_.retries,
            (std::vector<std::chrono::milliseconds>{250ms, 500ms, 1000ms, 2000ms}));
}

TEST_F(OrgLogsClientTest, EmptyLastPageHasNoCursor) {
  auto c = client();
  FetchResult r = c->fetchOrganizationLogsPage("log4", stop_.get_token());
  ASSERT_EQ(r.status, FetchStatus::kPage) << r.message;
  EXPECT_TRUE(r.page.events.empty());
  EXPECT_FALSE(r.page.has_more);
  EXPECT_EQ(r.page.last_id, std::nullopt);
}

TEST_F(OrgLogsClientTest, RefusalsAreNotRetried) {
  auto c = client();
  FetchResult unknown = c->fetchOrganizationLogsPage("gone", stop_.get_token());
  EXPECT_EQ(unknown.status, FetchStatus::kRejected);
  EXPECT_NE(unknown.message.find("Invalid 'after'"), std::string::npos) << unknown.message;
  options_.api_key = "sk-admin-other";
  auto bad = client();
  FetchResult refused = bad->fetchOrganizationLogsPage(std::nullopt, stop_.get_token());
  EXPECT_EQ(refused.status, FetchStatus::kUnauthorized);
  EXPECT_EQ(refused.http_status, 401);
  EXPECT_EQ(refused.message.find("sk-admin-other"), std::string::npos);
  EXPECT_TRUE(observer_.retries.empty());
}

TEST_F(OrgLogsClientTest, GetsOneLogByIdAndReportsNotFoundWithoutRetrying) {
  server_.push({503, "overloaded"});
  auto c = client();
  LookupResult found = c->fetchOrganizationLog("log3", stop_.get_token());
  ASSERT_EQ(found.status, LookupStatus::kFound) << found.message;
  EXPECT_EQ(found.event.id, "log3");
  EXPECT_EQ(found.event.effective_at, kNow - 97);
  EXPECT_EQ(found.event.raw, siem::testing::orgLogJson("log3", kNow - 97, "user.added"));
  EXPECT_EQ(observer_.retries.size(), 1u);  // the 503

  LookupResult missing = c->fetchOrganizationLog("nope", stop_.get_token());
  EXPECT_EQ(missing.status, LookupStatus::kNotFound);
  EXPECT_EQ(missing.http_status, 404);
  EXPECT_NE(missing.message.find("No organization log found"), std::string::npos)
      << missing.message;
  EXPECT_EQ(observer_.retries.size(), 1u);
  EXPECT_EQ(server_.requests().back(), "/v1/organization_logs/nope");

  // A body that is not the asked-for object is retried like a malformed page.
  server_.push({200, siem::testing::orgLogJson("log1", 1, "user.added")});
  LookupResult retried = c->fetchOrganizationLog("log2", stop_.get_token());
  ASSERT_EQ(retried.status, LookupStatus::kFound);
  EXPECT_EQ(retried.event.id, "log2");
  EXPECT_EQ(observer_.errors["malformed_page"], 1);

  options_.api_key = "sk-admin-other";
  auto bad = client();
  EXPECT_EQ(bad->fetchOrganizationLog("log3", stop_.get_token()).status,
            LookupStatus::kUnauthorized);
}

}  // namespace
}  // namespace siem
