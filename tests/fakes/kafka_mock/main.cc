// kafka_mock: hosts a librdkafka mock cluster (real Kafka protocol on loopback) for the Kafka
// sink's tests, with a loopback HTTP control API for topics, error injection and broker down/up
// (see tests/fakes/README.md).
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "agent/core/json_escape.h"
#include "tests/fakes/kafka_mock/mock_cluster.h"

namespace {

using siem::kafka_mock::MockCluster;

bool isLoopback(const std::string& address) {
  return address.starts_with("127.") || address == "::1" || address.starts_with("::ffff:127.");
}

std::optional<long> parseLong(const std::string& text) {
  long value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void reply(httplib::Response& res, int status, const std::string& json) {
  res.status = status;
  res.set_content(json + "\n", "application/json");
}

void fail(httplib::Response& res, int status, const std::string& message) {
  reply(res, status, "{\"error\":" + siem::jsonString(message) + "}");
}

void answer(httplib::Response& res, rd_kafka_resp_err_t err) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    reply(res, 200, "{\"ok\":true}");
  } else {
    fail(res, 400, std::string(rd_kafka_err2name(err)) + ": " + rd_kafka_err2str(err));
  }
}

// A required integer query parameter, or an error answer.
std::optional<long> intParam(const httplib::Request& req, httplib::Response& res,
                             const std::string& name, std::optional<long> fallback = {}) {
  if (!req.has_param(name)) {
    if (!fallback) fail(res, 400, "missing parameter " + name);
    return fallback;
  }
  auto value = parseLong(req.get_param_value(name));
  if (!value) fail(res, 400, "parameter " + name + " must be an integer");
  return value;
}

std::optional<std::int16_t> apiParam(const httplib::Request& req, httplib::Response& res) {
  const std::string name = req.has_param("api") ? req.get_param_value("api") : "produce";
  auto key = siem::kafka_mock::apiKeyByName(name);
  if (!key) fail(res, 400, "unknown api " + name);
  return key;
}

// The broker id of /_sim/broker/<id>/...: a number, or "all" (-1).
std::optional<std::int32_t> brokerParam(const std::string& text) {
  if (text == "all") return -1;
  auto value = parseLong(text);
  if (!value) return std::nullopt;
  return static_cast<std::int32_t>(*value);
}

void installRoutes(httplib::Server& http, MockCluster& cluster) {
  http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!isLoopback(req.remote_addr)) {
      fail(res, 403, "the control API is served to loopback clients only");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  http.Get("/_sim/info", [&cluster](const httplib::Request&, httplib::Response& res) {
    reply(res, 200,
          "{\"bootstrap\":" + siem::jsonString(cluster.bootstrapServers()) +
              ",\"brokers\":" + std::to_string(cluster.brokers()) + "}");
  });

  http.Post("/_sim/topics", [&cluster](const httplib::Request& req, httplib::Response& res) {
    if (!req.has_param("name")) return fail(res, 400, "missing parameter name");
    auto partitions = intParam(req, res, "partitions", 4);
    if (!partitions) return;
    auto replication = intParam(req, res, "replication", 1);
    if (!replication) return;
    answer(res, cluster.createTopic(req.get_param_value("name"), static_cast<int>(*partitions),
                                    static_cast<int>(*replication)));
  });

  // POST /_sim/errors?api=produce&error=A&error=B&repeat=N: the next requests of that type fail
  // with A, B, A, B, ... (N times the list). With broker=ID (and rtt_ms), only that broker's
  // requests fail, one error kind, `repeat` times.
  http.Post("/_sim/errors", [&cluster](const httplib::Request& req, httplib::Response& res) {
    auto api = apiParam(req, res);
    if (!api) return;
    auto repeat = intParam(req, res, "repeat", 1);
    if (!repeat) return;
    if (*repeat < 1 || *repeat > 10'000'000) return fail(res, 400, "repeat must be 1..10000000");
    std::vector<rd_kafka_resp_err_t> errors;
    const std::size_t kinds = req.get_param_value_count("error");
    if (kinds == 0) return fail(res, 400, "missing parameter error");
    for (std::size_t i = 0; i < kinds; ++i) {
      const std::string name = req.get_param_value("error", i);
      auto err = siem::kafka_mock::errorByName(name);
      if (!err) return fail(res, 400, "unknown error " + name);
      errors.push_back(*err);
    }
    if (req.has_param("broker")) {
      auto broker = intParam(req, res, "broker");
      if (!broker) return;
      auto rtt = intParam(req, res, "rtt_ms", 0);
      if (!rtt) return;
      if (errors.size() != 1) return fail(res, 400, "broker errors take one error kind");
      return answer(
          res, cluster.pushBrokerError(static_cast<std::int32_t>(*broker), *api, errors[0],
                                       static_cast<int>(*rtt), static_cast<std::size_t>(*repeat)));
    }
    std::vector<rd_kafka_resp_err_t> all;
    all.reserve(errors.size() * static_cast<std::size_t>(*repeat));
    for (long r = 0; r < *repeat; ++r) all.insert(all.end(), errors.begin(), errors.end());
    cluster.pushErrors(*api, all);
    reply(res, 200, "{\"pushed\":" + std::to_string(all.size()) + "}");
  });

  http.Delete("/_sim/errors", [&cluster](const httplib::Request& req, httplib::Response& res) {
    auto api = apiParam(req, res);
    if (!api) return;
    cluster.clearErrors(*api);
    reply(res, 200, "{\"ok\":true}");
  });

  // POST /_sim/broker/<id|all>/<down|up|rtt?ms=N>
  http.Post(R"(/_sim/broker/([^/]+)/(down|up|rtt))",
            [&cluster](const httplib::Request& req, httplib::Response& res) {
              auto broker = brokerParam(req.matches[1]);
              if (!broker) return fail(res, 400, "broker must be a number or all");
              const std::string action = req.matches[2];
              if (action == "down") return answer(res, cluster.setBrokerDown(*broker));
              if (action == "up") return answer(res, cluster.setBrokerUp(*broker));
              auto ms = intParam(req, res, "ms");
              if (!ms) return;
              answer(res, cluster.setBrokerRtt(*broker, static_cast<int>(*ms)));
            });

  http.Post("/_sim/leader", [&cluster](const httplib::Request& req, httplib::Response& res) {
    if (!req.has_param("topic")) return fail(res, 400, "missing parameter topic");
    auto partition = intParam(req, res, "partition");
    if (!partition) return;
    auto broker = intParam(req, res, "broker");
    if (!broker) return;
    answer(res,
           cluster.setLeader(req.get_param_value("topic"), static_cast<std::int32_t>(*partition),
                             static_cast<std::int32_t>(*broker)));
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kafka_mock: a librdkafka mock Kafka cluster on loopback for tests"};
  int brokers = 3;
  std::string host = "127.0.0.1";
  int port = 0;
  std::vector<std::string> topics;
  bool verbose = false;
  app.add_option("--brokers", brokers, "Number of brokers (ids 1..N)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--host", host, "Address of the control API")->capture_default_str();
  app.add_option("--port", port, "Port of the control API; 0 picks a free one")
      ->capture_default_str();
  app.add_option("--topic", topics, "Create NAME[:PARTITIONS[:REPLICATION]] at startup");
  app.add_flag("--verbose", verbose, "Log control requests to stderr");
  CLI11_PARSE(app, argc, argv);

  spdlog::set_default_logger(spdlog::stderr_color_mt("kafka_mock"));
  spdlog::set_level(verbose ? spdlog::level::info : spdlog::level::warn);

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);  // internal wake-up when the server ends on its own
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::string error;
  auto cluster = MockCluster::create(brokers, error);
  if (!cluster) {
    spdlog::error("cannot create the mock cluster: {}", error);
    return 1;
  }
  for (const std::string& spec : topics) {
    std::vector<std::string> parts;
    for (std::size_t start = 0;;) {
      const auto colon = spec.find(':', start);
      parts.push_back(spec.substr(start, colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    const auto partitions = parts.size() > 1 ? parseLong(parts[1]) : std::optional<long>(4);
    const auto replication = parts.size() > 2 ? parseLong(parts[2]) : std::optional<long>(1);
    if (parts[0].empty() || parts.size() > 3 || !partitions || !replication) {
      spdlog::error("--topic {}: expected NAME[:PARTITIONS[:REPLICATION]]", spec);
      return 2;
    }
    const auto err = cluster->createTopic(parts[0], static_cast<int>(*partitions),
                                          static_cast<int>(*replication));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::error("--topic {}: {}", spec, rd_kafka_err2str(err));
      return 2;
    }
  }

  httplib::Server http;
  installRoutes(http, *cluster);
  if (verbose) {
    http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      spdlog::info("{} {} -> {}", req.method, req.target, res.status);
    });
  }
  const int bound =
      port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    spdlog::error("cannot bind {}:{}", host, port);
    return 1;
  }
  std::printf("kafka_mock listening on http://%s:%d bootstrap=%s\n", host.c_str(), bound,
              cluster->bootstrapServers().c_str());
  std::fflush(stdout);

  std::jthread signal_waiter([&http, &signals] {
    int received = 0;
    sigwait(&signals, &received);
    http.stop();
  });
  const bool ok = http.listen_after_bind();
  kill(getpid(), SIGUSR1);  // releases signal_waiter if no signal stopped the server
  return ok ? 0 : 1;
}
