// Cost of rendering audit logs as OCSF and ECS, next to the cost of parsing the same input with
// simdjson alone. Single-threaded; items/s = events per second on one core.
//
//   build/tests/schema_bench --benchmark_min_time=2
//
// The corpus is the golden input set (every documented event type plus variants, 177 events), so
// the figures are an average over the whole mapping table, not one favourable event.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "agent/api/event.h"
#include "agent/schema/render.h"

namespace siem {
namespace {

// tests/data, found next to this source file (the build passes absolute source paths); the
// environment variable SIEM_TEST_DATA_DIR overrides it.
std::string dataDir() {
  if (const char* dir = std::getenv("SIEM_TEST_DATA_DIR")) return dir;
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/')) + "/../data";
}

std::vector<Event> loadCorpus() {
  static const SourceInfo kSource{"openai_prod", "openai_audit_logs", "org-EXAMPLE", 0};
  std::vector<Event> events;
  std::ifstream in(dataDir() + "/schema/audit_logs.ndjson");
  std::string line;
  simdjson::dom::parser parser;
  while (std::getline(in, line)) {
    Event e;
    e.raw = line;
    e.source = &kSource;
    simdjson::dom::object obj;
    if (!parser.parse(e.raw).get_object().get(obj)) {
      std::string_view s;
      if (!obj["id"].get_string().get(s)) e.id = std::string(s);
      if (!obj["type"].get_string().get(s) || !obj["event"].get_string().get(s)) {
        e.type = std::string(s);
      }
      std::int64_t t = 0;
      if (!obj["effective_at"].get_int64().get(t)) e.effective_at = t;
    }
    events.push_back(std::move(e));
  }
  if (events.empty()) std::fprintf(stderr, "no corpus at %s\n", dataDir().c_str());
  return events;
}

const std::vector<Event>& corpus() {
  static const std::vector<Event> kEvents = loadCorpus();
  return kEvents;
}

std::size_t corpusBytes() {
  std::size_t n = 0;
  for (const auto& e : corpus()) n += e.raw.size();
  return n;
}

// Baseline: simdjson DOM parsing of the same bytes (what rendering does first).
void BM_ParseDom(benchmark::State& state) {
  const auto& events = corpus();
  simdjson::dom::parser parser;
  for (auto _ : state) {
    for (const auto& e : events) {
      simdjson::dom::element doc;
      auto err = parser.parse(e.raw).get(doc);
      benchmark::DoNotOptimize(err);
      benchmark::DoNotOptimize(doc);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * corpusBytes()));
}
BENCHMARK(BM_ParseDom);

// Baseline: simdjson ondemand pulling the envelope fields a source extracts.
void BM_ParseOndemandEnvelope(benchmark::State& state) {
  const auto& events = corpus();
  simdjson::ondemand::parser parser;
  std::vector<simdjson::padded_string> padded;
  for (const auto& e : events) padded.emplace_back(e.raw);
  for (auto _ : state) {
    for (const auto& p : padded) {
      simdjson::ondemand::document doc;
      if (parser.iterate(p).get(doc)) continue;
      std::string_view id;
      std::string_view type;
      std::int64_t at = 0;
      auto e1 = doc["id"].get_string().get(id);
      auto e2 = doc["type"].get_string().get(type);
      auto e3 = doc["effective_at"].get_int64().get(at);
      benchmark::DoNotOptimize(e1);
      benchmark::DoNotOptimize(e2);
      benchmark::DoNotOptimize(e3);
      benchmark::DoNotOptimize(at);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * corpusBytes()));
}
BENCHMARK(BM_ParseOndemandEnvelope);

void renderAll(benchmark::State& state, Encoding encoding) {
  const auto& events = corpus();
  std::size_t out_bytes = 0;
  for (auto _ : state) {
    for (const auto& e : events) {
      std::string out = renderEvent(e, encoding);
      out_bytes += out.size();
      benchmark::DoNotOptimize(out);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * events.size()));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * corpusBytes()));
  state.counters["out_bytes_per_event"] =
      static_cast<double>(out_bytes) / static_cast<double>(state.iterations() * events.size());
}

void BM_RenderOcsf(benchmark::State& state) { renderAll(state, Encoding::kOcsf); }
BENCHMARK(BM_RenderOcsf);

void BM_RenderEcs(benchmark::State& state) { renderAll(state, Encoding::kEcs); }
BENCHMARK(BM_RenderEcs);

// One event at a time, to show how the ratio depends on the size of the log: the first corpus
// line (api_key.created by a browser session with full geo data, 1.1 KB) and the smallest one
// (an invite.sent with nothing but id and type).
const Event& pick(bool smallest) {
  const auto& events = corpus();
  if (!smallest) return events.front();
  const Event* best = &events.front();
  for (const auto& e : events) {
    if (e.raw.size() < best->raw.size()) best = &e;
  }
  return *best;
}

void BM_ParseDomOne(benchmark::State& state) {
  const Event& e = pick(state.range(0) != 0);
  simdjson::dom::parser parser;
  for (auto _ : state) {
    simdjson::dom::element doc;
    auto err = parser.parse(e.raw).get(doc);
    benchmark::DoNotOptimize(err);
    benchmark::DoNotOptimize(doc);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel(std::to_string(e.raw.size()) + " bytes");
}
BENCHMARK(BM_ParseDomOne)->Arg(0)->Arg(1);

void BM_RenderOcsfOne(benchmark::State& state) {
  const Event& e = pick(state.range(0) != 0);
  for (auto _ : state) {
    std::string out = renderEvent(e, Encoding::kOcsf);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.SetLabel(std::to_string(e.raw.size()) + " bytes");
}
BENCHMARK(BM_RenderOcsfOne)->Arg(0)->Arg(1);

}  // namespace
}  // namespace siem

BENCHMARK_MAIN();
