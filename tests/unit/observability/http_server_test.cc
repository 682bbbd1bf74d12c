#include "agent/observability/http_server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <simdjson.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/observability/exposition.h"

namespace siem {
namespace {

// The readiness answer, changeable while the server runs.
class Readiness {
 public:
  void set(std::vector<std::string> reasons) {
    const std::lock_guard lock(mutex_);
    reasons_ = std::move(reasons);
  }
  std::vector<std::string> get() const {
    const std::lock_guard lock(mutex_);
    return reasons_;
  }

 private:
  mutable std::mutex mutex_;  // guards reasons_
  std::vector<std::string> reasons_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = server_.start();
    ASSERT_TRUE(started.has_value()) << started.error().message;
    ASSERT_GT(server_.port(), 0);
  }

  httplib::Client client() {
    httplib::Client client("127.0.0.1", server_.port());
    client.set_connection_timeout(5);
    client.set_read_timeout(5);
    return client;
  }

  Metrics metrics_{"9.9.9"};
  Readiness readiness_;
  HttpServer server_{"127.0.0.1:0", metrics_, [this] { return readiness_.get(); }};
};

TEST_F(HttpServerTest, MetricsServesTheLiveExposition) {
  ComponentMetrics& sink = metrics_.component("archive", "sink", "file");
  sink.sent_events.Increment(3);
  auto c = client();
  auto response = c.Get("/metrics");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->get_header_value("Content-Type").rfind("text/plain; version=0.0.4", 0), 0u);
  const testing::LabelSet labels = {
      {"component_id", "archive"}, {"component_kind", "sink"}, {"component_type", "file"}};
  EXPECT_EQ(testing::sampleValue(response->body, "siem_agent_component_sent_events_total", labels),
            3);
  EXPECT_EQ(testing::sampleValue(response->body, "siem_agent_build_info", {{"version", "9.9.9"}}),
            1);
  EXPECT_TRUE(testing::sampleValue(response->body, "process_resident_memory_bytes").has_value());

  sink.sent_events.Increment(2);
  response = c.Get("/metrics");
  ASSERT_TRUE(response);
  EXPECT_EQ(testing::sampleValue(response->body, "siem_agent_component_sent_events_total", labels),
            5);
}

TEST_F(HttpServerTest, HealthzIsOk) {
  auto response = client().Get("/healthz");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "ok");
}

TEST_F(HttpServerTest, ReadyzReportsReadiness) {
  auto c = client();
  auto response = c.Get("/readyz");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"status":"ready"})");
  EXPECT_EQ(response->get_header_value("Content-Type"), "application/json");

  const std::vector<std::string> reasons = {
      "source openai_prod: not authorized (401)",
      "sink \"splunk\" failing for 120s\nsince \\ restart\t\x01",
  };
  readiness_.set(reasons);
  response = c.Get("/readyz");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 503);
  simdjson::dom::parser parser;
  simdjson::dom::element body;
  ASSERT_EQ(parser.parse(response->body).get(body), simdjson::SUCCESS) << response->body;
  std::string_view status;
  ASSERT_EQ(body["status"].get(status), simdjson::SUCCESS);
  EXPECT_EQ(status, "not ready");
  simdjson::dom::array parsed;
  ASSERT_EQ(body["reasons"].get(parsed), simdjson::SUCCESS);
  std::vector<std::string> got;
  for (auto reason : parsed) got.emplace_back(std::string_view(reason.get_string().value()));
  EXPECT_EQ(got, reasons);

  readiness_.set({});
  response = c.Get("/readyz");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, UnknownPathsAre404AndOtherMethods405) {
  auto c = client();
  auto response = c.Get("/nothing");
  ASSERT_TRUE(response) << httplib::to_string(response.error());
  EXPECT_EQ(response->status, 404);
  response = c.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 405);
  EXPECT_EQ(response->get_header_value("Allow"), "GET, HEAD");
  response = c.Put("/readyz", "", "text/plain");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 405);
  response = c.Delete("/healthz");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 405);
  response = c.Delete("/nothing");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 404);
  response = c.Head("/healthz");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(HttpServerTest, ServesConcurrentScrapes) {
  ComponentMetrics& source = metrics_.component("openai_prod", "source", "openai_audit_logs");
  constexpr int kScrapers = 4;
  std::atomic<int> ok{0};
  {
    std::vector<std::jthread> scrapers;
    scrapers.reserve(kScrapers);
    for (int t = 0; t < kScrapers; ++t) {
      scrapers.emplace_back([&] {
        auto c = client();
        for (int i = 0; i < 10; ++i) {
          auto response = c.Get("/metrics");
          if (response && response->status == 200) ++ok;
        }
      });
    }
    for (int i = 0; i < 1000; ++i) source.auditEvent("type_" + std::to_string(i % 20), "success");
  }
  EXPECT_EQ(ok.load(), kScrapers * 10);
}

TEST(HttpServerLifecycleTest, ThrowingReadinessCheckIsNotReady) {
  Metrics metrics("0");
  HttpServer server("127.0.0.1:0", metrics,
                    []() -> std::vector<std::string> { throw std::runtime_error("boom"); });
  ASSERT_TRUE(server.start().has_value());
  httplib::Client client("127.0.0.1", server.port());
  auto response = client.Get("/readyz");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(response->body, R"({"status":"not ready","reasons":["readiness check failed"]})");
}

TEST(HttpServerLifecycleTest, BindConflictNamesTheAddress) {
  Metrics metrics("0");
  HttpServer first("127.0.0.1:0", metrics, {});
  ASSERT_TRUE(first.start().has_value());
  const std::string address = "127.0.0.1:" + std::to_string(first.port());
  HttpServer second(address, metrics, {});
  const auto result = second.start();
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find(address), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find("in use"), std::string::npos) << result.error().message;
  EXPECT_EQ(second.port(), 0);
}

TEST(HttpServerLifecycleTest, MalformedAddressIsAnError) {
  Metrics metrics("0");
  for (const char* address :
       {"localhost", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:http", "::1:9598", "[::1]9598"}) {
    HttpServer server(address, metrics, {});
    const auto result = server.start();
    ASSERT_FALSE(result.has_value()) << address;
    EXPECT_NE(result.error().message.find(address), std::string::npos) << result.error().message;
  }
}

TEST(HttpServerLifecycleTest, StopClosesTheSocketAndIsIdempotent) {
  Metrics metrics("0");
  HttpServer never_started("127.0.0.1:0", metrics, {});
  EXPECT_EQ(never_started.port(), 0);
  never_started.stop();

  HttpServer server("127.0.0.1:0", metrics, {});
  ASSERT_TRUE(server.start().has_value());
  const int port = server.port();
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  ASSERT_TRUE(client.Get("/healthz"));
  EXPECT_FALSE(server.start().has_value()) << "a second start must fail";
  server.stop();
  server.stop();
  auto response = client.Get("/healthz");
  EXPECT_FALSE(response) << "still answering after stop()";
}

TEST(ParseListenAddressTest, SplitsHostAndPort) {
  using Parsed = std::pair<std::string, int>;
  EXPECT_EQ(parseListenAddress("0.0.0.0:9598").value(), Parsed("0.0.0.0", 9598));
  EXPECT_EQ(parseListenAddress("localhost:0").value(), Parsed("localhost", 0));
  EXPECT_EQ(parseListenAddress(":9598").value(), Parsed("0.0.0.0", 9598));
  EXPECT_EQ(parseListenAddress("[::1]:65535").value(), Parsed("::1", 65535));
  EXPECT_FALSE(parseListenAddress("").has_value());
  EXPECT_FALSE(parseListenAddress("host:-1").has_value());
  EXPECT_FALSE(parseListenAddress("host:65536").has_value());
  EXPECT_FALSE(parseListenAddress("host:1x").has_value());
  EXPECT_FALSE(parseListenAddress("[::1:80").has_value());
}

}  // namespace
}  // namespace siem
