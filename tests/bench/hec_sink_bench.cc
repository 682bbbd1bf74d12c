// Costs of the HEC sink's hot path on OCSF-rendered audit events: building envelopes, gzip, and
// whole sends (envelopes + gzip + HTTP to an in-process loopback server that only answers).
//
//   build/tests/hec_sink_bench
#include <benchmark/benchmark.h>
#include <httplib.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "agent/core/http_client.h"
#include "agent/observability/metrics.h"
#include "agent/schema/render.h"
#include "sinks/splunk_hec/encoder.h"
#include "sinks/splunk_hec/sink.h"

namespace siem {
namespace {

const SourceInfo kSource{"openai_prod", "openai_audit_logs", "org-bench", 0};

// A typical session-actor event as the OpenAI API returns it.
std::string rawEvent(int i) {
  return R"({"id":"audit_log-)" + std::to_string(100000 + i) +
         R"(","type":"api_key.created","effective_at":)" + std::to_string(1767225600 + i) +
         R"(,"actor":{"type":"session","session":{"user":{"id":"user-abc123","email":"alice@example.com"},)"
         R"("ip_address":"203.0.113.7","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) )"
         R"(AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36","ja3":)"
         R"("a497151ce4338a12c4418c44d375173e","ja4":"q13d0313h3_55b375c5d22e_c7319ce65786",)"
         R"("ip_address_details":{"country":"US","city":"San Francisco","region":"California",)"
         R"("region_code":"CA","asn":"1234","latitude":"37.77490","longitude":"-122.41940"}}},)"
         R"("project":{"id":"proj_abc","name":"Production"},"api_key.created":{"id":"key_)" +
         std::to_string(i) + R"(","data":{"scopes":["/v1/*"]}}})";
}

BatchPtr makeBatch(std::size_t n) {
  auto batch = std::make_shared<Batch>();
  for (std::size_t i = 0; i < n; ++i) {
    auto e = std::make_shared<Event>();
    e->raw = rawEvent(static_cast<int>(i));
    e->id = "audit_log-" + std::to_string(100000 + i);
    e->type = "api_key.created";
    e->effective_at = 1767225600 + static_cast<std::int64_t>(i);
    e->outcome = Outcome::kSuccess;
    e->source = &kSource;
    e->rendered[static_cast<std::size_t>(Encoding::kOcsf)] = renderEvent(*e, Encoding::kOcsf);
    batch->bytes += e->rendered[static_cast<std::size_t>(Encoding::kOcsf)].size();
    batch->events.push_back(std::move(e));
  }
  return batch;
}

HecEnvelopeFormat format() {
  HecEnvelopeFormat f;
  f.encoding = Encoding::kOcsf;
  f.source = *HecTemplate::parse("siem-agent:{source_id}");
  f.sourcetype = *HecTemplate::parse("ocsf:openai:audit");
  f.index = *HecTemplate::parse("security");
  return f;
}

void BM_HecEnvelopes(benchmark::State& state) {
  const BatchPtr batch = makeBatch(1000);
  const HecEnvelopeFormat f = format();
  std::string body;
  for (auto _ : state) {
    body.clear();
    for (const auto& e : batch->events) appendHecEnvelope(body, *e, f);
    benchmark::DoNotOptimize(body.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch->size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_HecEnvelopes);

void BM_HecEnvelopesIndexByClass(benchmark::State& state) {
  const BatchPtr batch = makeBatch(1000);
  HecEnvelopeFormat f = format();
  f.index = *HecTemplate::parse("oai_{ocsf_class}");
  std::string body;
  for (auto _ : state) {
    body.clear();
    for (const auto& e : batch->events) appendHecEnvelope(body, *e, f);
    benchmark::DoNotOptimize(body.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch->size()));
}
BENCHMARK(BM_HecEnvelopesIndexByClass);

void BM_HecGzip(benchmark::State& state) {
  const BatchPtr batch = makeBatch(1000);
  std::string body;
  for (const auto& e : batch->events) appendHecEnvelope(body, *e, format());
  std::size_t compressed = 0;
  for (auto _ : state) {
    auto z = gzipCompress(body, static_cast<int>(state.range(0)));
    compressed = z ? z->size() : 0;
    benchmark::DoNotOptimize(compressed);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch->size()));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
  state.counters["ratio"] = static_cast<double>(body.size()) / static_cast<double>(compressed);
}
BENCHMARK(BM_HecGzip)->Arg(1)->Arg(6);

// Whole sends of 1000-event batches through one sink to a loopback server that reads (and, for
// gzip, decodes) the body and answers Success. Arg: 1 = gzip level 1, 0 = no compression.
void BM_HecSinkSend(benchmark::State& state) {
  CurlGlobal curl;
  httplib::Server server;
  server.Post("/services/collector/event", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"text":"Success","code":0})", "application/json");
  });
  server.set_tcp_nodelay(true);
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread listener([&server] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));

  Metrics metrics("bench");
  ComponentMetrics& component = metrics.component("hec", "sink", "splunk_hec");
  SplunkHecSettings settings;
  settings.sink_id = "hec";
  settings.endpoint = "http://127.0.0.1:" + std::to_string(port);
  settings.token = "bench";
  settings.format = format();
  settings.gzip = state.range(0) != 0;
  settings.gzip_level = 1;
  settings.healthcheck = false;
  SplunkHecSink sink(settings, component, component.extraGauge("splunk_pending_acks", "bench"));
  sink.start();
  const BatchPtr batch = makeBatch(1000);

  for (auto _ : state) {
    std::mutex mutex;
    std::condition_variable cv;
    bool finished = false;
    sink.send(batch, [&](SendOutcome o) {
      if (o.at(0) != Disposition::kDelivered) state.SkipWithError(o.reason.c_str());
      std::lock_guard lock(mutex);
      finished = true;
      cv.notify_all();
    });
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return finished; });
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch->size()));
  sink.stop(std::chrono::steady_clock::now());
  server.stop();
  listener.join();
}
BENCHMARK(BM_HecSinkSend)->Arg(1)->Arg(0)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace siem

BENCHMARK_MAIN();
