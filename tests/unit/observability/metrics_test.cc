#include "agent/observability/metrics.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/observability/exposition.h"

namespace siem {
namespace {

using testing::familyType;
using testing::hasHelp;
using testing::LabelSet;
using testing::sampleCount;
using testing::sampleValue;

LabelSet sourceLabels() {
  return {{"component_id", "openai_prod"},
          {"component_kind", "source"},
          {"component_type", "openai_audit_logs"}};
}

LabelSet sinkLabels() {
  return {{"component_id", "archive"}, {"component_kind", "sink"}, {"component_type", "file"}};
}

LabelSet with(LabelSet labels, const std::string& name, const std::string& value) {
  labels[name] = value;
  return labels;
}

TEST(MetricsTest, ComponentFamiliesHaveTheirNamesTypesAndLabels) {
  Metrics metrics("1.2.3");
  ComponentMetrics& source = metrics.component("openai_prod", "source", "openai_audit_logs");
  ComponentMetrics& sink = metrics.component("archive", "sink", "file");
  source.received_events.Increment(7);
  source.received_bytes.Increment(4096);
  source.retries.Increment(2);
  source.discarded_intentional.Increment(3);
  source.source_lag.Set(42.5);
  source.checkpoint_timestamp.Set(1764100245);
  sink.sent_events.Increment(5);
  sink.sent_bytes.Increment(900);
  sink.discarded_unintentional.Increment(1);
  sink.dead_letter_events.Increment(4);
  sink.buffer_events.Set(11);
  sink.buffer_bytes.Set(2048);
  sink.send_latency.Observe(0.5);
  sink.send_latency.Observe(700);

  const std::string text = metrics.serialize();
  const std::vector<std::pair<std::string, std::string>> families = {
      {"siem_agent_component_received_events_total", "counter"},
      {"siem_agent_component_received_bytes_total", "counter"},
      {"siem_agent_component_sent_events_total", "counter"},
      {"siem_agent_component_sent_bytes_total", "counter"},
      {"siem_agent_component_discarded_events_total", "counter"},
      {"siem_agent_component_retries_total", "counter"},
      {"siem_agent_dead_letter_events_total", "counter"},
      {"siem_agent_buffer_events", "gauge"},
      {"siem_agent_buffer_bytes", "gauge"},
      {"siem_agent_send_latency_seconds", "histogram"},
      {"siem_agent_source_lag_seconds", "gauge"},
      {"siem_agent_checkpoint_timestamp_seconds", "gauge"},
      {"siem_agent_build_info", "gauge"},
  };
  for (const auto& [name, type] : families) {
    EXPECT_EQ(familyType(text, name), type) << name;
    EXPECT_TRUE(hasHelp(text, name)) << name;
  }

  EXPECT_EQ(sampleValue(text, "siem_agent_component_received_events_total", sourceLabels()), 7);
  EXPECT_EQ(sampleValue(text, "siem_agent_component_received_bytes_total", sourceLabels()), 4096);
  EXPECT_EQ(sampleValue(text, "siem_agent_component_retries_total", sourceLabels()), 2);
  EXPECT_EQ(sampleValue(text, "siem_agent_component_discarded_events_total",
                        with(sourceLabels(), "intentional", "true")),
            3);
  EXPECT_EQ(sampleValue(text, "siem_agent_component_discarded_events_total",
                        with(sourceLabels(), "intentional", "false")),
            0);
  EXPECT_EQ(sampleValue(text, "siem_agent_source_lag_seconds", sourceLabels()), 42.5);
  EXPECT_EQ(sampleValue(text, "siem_agent_checkpoint_timestamp_seconds", sourceLabels()),
            1764100245);
  EXPECT_EQ(sampleValue(text, "siem_agent_component_sent_events_total", sinkLabels()), 5);
  EXPECT_EQ(sampleValue(text, "siem_agent_component_sent_bytes_total", sinkLabels()), 900);
  EXPECT_EQ(sampleValue(text, "siem_agent_component_discarded_events_total",
                        with(sinkLabels(), "intentional", "false")),
            1);
  EXPECT_EQ(sampleValue(text, "siem_agent_dead_letter_events_total", sinkLabels()), 4);
  EXPECT_EQ(sampleValue(text, "siem_agent_buffer_events", sinkLabels()), 11);
  EXPECT_EQ(sampleValue(text, "siem_agent_buffer_bytes", sinkLabels()), 2048);
  EXPECT_EQ(sampleValue(text, "siem_agent_send_latency_seconds_count", sinkLabels()), 2);
  EXPECT_EQ(sampleValue(text, "siem_agent_send_latency_seconds_sum", sinkLabels()), 700.5);
  // Buckets run from 10 ms to 600 s: 0.5 s lands in le="0.5", 700 s only in +Inf.
  EXPECT_EQ(
      sampleValue(text, "siem_agent_send_latency_seconds_bucket", with(sinkLabels(), "le", "0.01")),
      0);
  EXPECT_EQ(
      sampleValue(text, "siem_agent_send_latency_seconds_bucket", with(sinkLabels(), "le", "0.5")),
      1);
  EXPECT_EQ(
      sampleValue(text, "siem_agent_send_latency_seconds_bucket", with(sinkLabels(), "le", "600")),
      1);
  EXPECT_EQ(
      sampleValue(text, "siem_agent_send_latency_seconds_bucket", with(sinkLabels(), "le", "+Inf")),
      2);
  EXPECT_EQ(sampleValue(text, "siem_agent_build_info", {{"version", "1.2.3"}}), 1);
}

TEST(MetricsTest, ComponentLookupReturnsTheSameHandles) {
  Metrics metrics("0");
  ComponentMetrics& first = metrics.component("a", "sink", "kafka");
  ComponentMetrics& again = metrics.component("a", "sink", "kafka");
  ComponentMetrics& source_with_same_id = metrics.component("a", "source", "file");
  EXPECT_EQ(&first, &again);
  EXPECT_NE(&first, &source_with_same_id);
  first.sent_events.Increment();
  again.sent_events.Increment();
  EXPECT_EQ(
      sampleValue(metrics.serialize(), "siem_agent_component_sent_events_total",
                  {{"component_id", "a"}, {"component_kind", "sink"}, {"component_type", "kafka"}}),
      2);
}

TEST(MetricsTest, ErrorsAreLabelledByTypeAndStage) {
  Metrics metrics("0");
  ComponentMetrics& sink = metrics.component("archive", "sink", "file");
  sink.error("write_failed", "sending");
  sink.error("write_failed", "sending");
  sink.error("encode_failed", "processing");
  sink.error("Bad Type", "sending");  // not from the vocabulary: folded
  const std::string text = metrics.serialize();
  EXPECT_EQ(familyType(text, "siem_agent_component_errors_total"), "counter");
  LabelSet labels = with(with(sinkLabels(), "error_type", "write_failed"), "stage", "sending");
  EXPECT_EQ(sampleValue(text, "siem_agent_component_errors_total", labels), 2);
  labels = with(with(sinkLabels(), "error_type", "encode_failed"), "stage", "processing");
  EXPECT_EQ(sampleValue(text, "siem_agent_component_errors_total", labels), 1);
  labels = with(with(sinkLabels(), "error_type", "other"), "stage", "sending");
  EXPECT_EQ(sampleValue(text, "siem_agent_component_errors_total", labels), 1);
  EXPECT_EQ(sampleCount(text, "siem_agent_component_errors_total"), 3);
}

TEST(MetricsTest, ErrorSeriesAreBoundedPerComponent) {
  Metrics metrics("0");
  ComponentMetrics& sink = metrics.component("archive", "sink", "file");
  for (int i = 0; i < 100; ++i) sink.error("type_" + std::to_string(i), "sending");
  const std::string text = metrics.serialize();
  EXPECT_EQ(sampleCount(text, "siem_agent_component_errors_total"), 65);
  EXPECT_EQ(sampleValue(text, "siem_agent_component_errors_total",
                        with(with(sinkLabels(), "error_type", "other"), "stage", "other")),
            36);
}

TEST(MetricsTest, HttpRequestsAreCountedByStatusWithADurationHistogram) {
  Metrics metrics("0");
  ComponentMetrics& source = metrics.component("openai_prod", "source", "openai_audit_logs");
  ComponentMetrics& file_sink = metrics.component("archive", "sink", "file");
  source.httpRequest(200, 0.004);
  source.httpRequest(200, 0.2);
  source.httpRequest(429, 0.03);
  source.httpRequest(0, 61);  // no response
  source.httpRequest(-1, 1);  // nonsense status: same series as no response
  source.httpRequest(1000, 1);
  const std::string text = metrics.serialize();
  EXPECT_EQ(familyType(text, "siem_agent_http_client_requests_total"), "counter");
  EXPECT_EQ(familyType(text, "siem_agent_http_client_request_duration_seconds"), "histogram");
  EXPECT_EQ(sampleValue(text, "siem_agent_http_client_requests_total",
                        with(sourceLabels(), "status", "200")),
            2);
  EXPECT_EQ(sampleValue(text, "siem_agent_http_client_requests_total",
                        with(sourceLabels(), "status", "429")),
            1);
  EXPECT_EQ(sampleValue(text, "siem_agent_http_client_requests_total",
                        with(sourceLabels(), "status", "0")),
            3);
  EXPECT_EQ(sampleCount(text, "siem_agent_http_client_requests_total"), 3);
  EXPECT_EQ(
      sampleValue(text, "siem_agent_http_client_request_duration_seconds_count", sourceLabels()),
      6);
  EXPECT_EQ(sampleValue(text, "siem_agent_http_client_request_duration_seconds_bucket",
                        with(sourceLabels(), "le", "0.005")),
            1);
  EXPECT_EQ(sampleValue(text, "siem_agent_http_client_request_duration_seconds_bucket",
                        with(sourceLabels(), "le", "60")),
            5);
  EXPECT_EQ(sampleValue(text, "siem_agent_http_client_request_duration_seconds_bucket",
                        with(sourceLabels(), "le", "+Inf")),
            6);
  // A component that never made a request exports no empty histogram.
  EXPECT_EQ(
      sampleValue(text, "siem_agent_http_client_request_duration_seconds_count", sinkLabels()),
      std::nullopt);
  (void)file_sink;
}

TEST(MetricsTest, AuditEventTypesAreBoundedAndOddNamesFolded) {
  Metrics metrics("0");
  ComponentMetrics& source = metrics.component("openai_prod", "source", "openai_audit_logs");
  source.auditEvent("api_key.created", "success");
  source.auditEvent("api_key.created", "success");
  source.auditEvent("api_key.created", "failure");
  const std::string longest(80, 'a');
  source.auditEvent(longest, "success");
  // Not [a-z0-9_.]{1,80}: each is counted as "other".
  const std::vector<std::string> odd_names = {"",
                                              "API_KEY.CREATED",
                                              "has space",
                                              "quote\"",
                                              std::string(81, 'a'),
                                              std::string("nul\0byte", 8),
                                              "user@example.com"};
  for (const std::string& odd : odd_names) {
    source.auditEvent(odd, "success");
  }
  std::string text = metrics.serialize();
  EXPECT_EQ(familyType(text, "siem_agent_audit_events_total"), "counter");
  auto audit = [&](const std::string& type, const std::string& outcome) {
    return sampleValue(text, "siem_agent_audit_events_total",
                       with(with(sourceLabels(), "event_type", type), "outcome", outcome));
  };
  EXPECT_EQ(audit("api_key.created", "success"), 2);
  EXPECT_EQ(audit("api_key.created", "failure"), 1);
  EXPECT_EQ(audit(longest, "success"), 1);
  EXPECT_EQ(audit("other", "success"), 7);

  // 2 names admitted so far; 510 more fill the budget of 512, the rest fold into "other".
  for (int i = 0; i < 600; ++i) source.auditEvent("type_" + std::to_string(i), "success");
  source.auditEvent("type_0", "success");    // admitted earlier: keeps its series
  source.auditEvent("type_599", "success");  // over budget: still "other"
  text = metrics.serialize();
  EXPECT_EQ(audit("type_0", "success"), 2);
  EXPECT_EQ(audit("type_509", "success"), 1);
  EXPECT_EQ(audit("type_510", "success"), std::nullopt);
  EXPECT_EQ(audit("other", "success"), 7 + 90 + 1);
  // 512 admitted names (one of them with two outcomes) plus "other".
  EXPECT_EQ(sampleCount(text, "siem_agent_audit_events_total"), 512 + 1 + 1);

  // The budget is per component.
  ComponentMetrics& other_source = metrics.component("openai_dev", "source", "openai_audit_logs");
  other_source.auditEvent("type_599", "success");
  text = metrics.serialize();
  EXPECT_EQ(sampleValue(text, "siem_agent_audit_events_total",
                        {{"component_id", "openai_dev"},
                         {"component_kind", "source"},
                         {"component_type", "openai_audit_logs"},
                         {"event_type", "type_599"},
                         {"outcome", "success"}}),
            1);
}

TEST(MetricsTest, AuditEventCounterIsTheChildAuditEventCounts) {
  Metrics metrics("0");
  ComponentMetrics& source = metrics.component("openai_prod", "source", "openai_audit_logs");
  prometheus::Counter& created = source.auditEventCounter("api_key.created", "success");
  EXPECT_EQ(&created, &source.auditEventCounter("api_key.created", "success"));
  EXPECT_NE(&created, &source.auditEventCounter("api_key.created", "failure"));
  source.auditEvent("api_key.created", "success");
  created.Increment();
  EXPECT_EQ(created.Value(), 2);
  // The same folding as auditEvent: an odd name is "other".
  EXPECT_EQ(&source.auditEventCounter("Not A Type", "success"),
            &source.auditEventCounter("other", "success"));
}

TEST(MetricsTest, AuditOutcomesAreBounded) {
  Metrics metrics("0");
  ComponentMetrics& source = metrics.component("openai_prod", "source", "openai_audit_logs");
  for (int i = 0; i < 10; ++i) source.auditEvent("login.succeeded", fmt::format("outcome_{}", i));
  source.auditEvent("login.succeeded", "Not Valid");
  const std::string text = metrics.serialize();
  EXPECT_EQ(sampleCount(text, "siem_agent_audit_events_total"), 9);
  EXPECT_EQ(
      sampleValue(text, "siem_agent_audit_events_total",
                  with(with(sourceLabels(), "event_type", "login.succeeded"), "outcome", "other")),
      3);
}

TEST(MetricsTest, ConcurrentUpdatesAreAllCounted) {
  Metrics metrics("0");
  ComponentMetrics& source = metrics.component("openai_prod", "source", "openai_audit_logs");
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  {
    std::vector<std::jthread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          source.auditEvent("type_" + std::to_string(i % 50), "success");
          source.error(t % 2 == 0 ? "http_error" : "timeout", "receiving");
          source.httpRequest(200 + (i % 3), 0.01);
          source.received_events.Increment();
          if (i % 100 == 0) (void)metrics.serialize();
        }
      });
    }
  }
  const std::string text = metrics.serialize();
  EXPECT_EQ(sampleValue(text, "siem_agent_component_received_events_total", sourceLabels()),
            kThreads * kPerThread);
  double audit_total = 0;
  for (int i = 0; i < 50; ++i) {
    audit_total += sampleValue(text, "siem_agent_audit_events_total",
                               with(with(sourceLabels(), "event_type", "type_" + std::to_string(i)),
                                    "outcome", "success"))
                       .value_or(0);
  }
  EXPECT_EQ(audit_total, kThreads * kPerThread);
  EXPECT_EQ(sampleValue(text, "siem_agent_component_errors_total",
                        with(with(sourceLabels(), "error_type", "timeout"), "stage", "receiving")),
            kThreads / 2 * kPerThread);
  EXPECT_EQ(
      sampleValue(text, "siem_agent_http_client_request_duration_seconds_count", sourceLabels()),
      kThreads * kPerThread);
}

std::optional<std::filesystem::path> findOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): no thread sets env
  if (path == nullptr) return std::nullopt;
  std::string_view rest(path);
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const std::filesystem::path candidate =
        std::filesystem::path(std::string(rest.substr(0, colon))) / program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  return std::nullopt;
}

TEST(MetricsTest, ExpositionPassesPromtool) {
  const auto promtool = findOnPath("promtool");
  if (!promtool) GTEST_SKIP() << "promtool is not on PATH (Debian package 'prometheus')";

  Metrics metrics("0.1.0");
  ComponentMetrics& source = metrics.component("openai_prod", "source", "openai_audit_logs");
  ComponentMetrics& sink = metrics.component("archive", "sink", "file");
  source.received_events.Increment(3);
  source.httpRequest(200, 0.1);
  source.auditEvent("api_key.created", "success");
  source.error("http_error", "receiving");
  sink.send_latency.Observe(1);
  sink.discarded_intentional.Increment();

  const auto file = std::filesystem::temp_directory_path() /
                    ("siem_metrics_" + std::to_string(getpid()) + ".prom");
  {
    std::ofstream out(file);
    out << metrics.serialize();
  }
  const std::string command = promtool->string() + " check metrics < " + file.string() + " 2>&1";
  const int status = std::system(command.c_str());  // NOLINT(concurrency-mt-unsafe)
  std::filesystem::remove(file);
  ASSERT_NE(status, -1);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
      << "promtool check metrics failed (exit " << status << "); see its output above";
}

}  // namespace
}  // namespace siem
