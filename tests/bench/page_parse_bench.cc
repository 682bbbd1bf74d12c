// Parsing one realistic 100-event audit-log page into owned Events (the source's hot path).
// Reports events/s (items) and bytes/s.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <string>

#include "agent/sources/openai/page_parser.h"

namespace {

std::string realisticPage() {
  static const char* kTypes[] = {"api_key.created", "api_key.updated",        "login.succeeded",
                                 "login.failed",    "project.updated",        "user.added",
                                 "invite.sent",     "service_account.created"};
  std::string body = R"({"object":"list","data":[)";
  for (int i = 0; i < 100; ++i) {
    if (i > 0) body.append(",");
    const char* type = kTypes[i % 8];
    std::string actor =
        i % 3 != 0
            ? fmt::format(
                  R"js({{"type":"session","session":{{"user":{{"id":"user-{:06}","email":"user{}@example.com"}},"ip_address":"203.0.113.{}","user_agent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36","ja3":"a497151ce4338a12c4418c44d375173e","ja4":"q13d0313h3_55b375c5d22e_c7319ce65786","ip_address_details":{{"country":"US","city":"San Francisco","region":"California","region_code":"CA","asn":"1234","latitude":"37.77490","longitude":"-122.41940"}}}}}})js",
                  i, i, i % 250)
            : fmt::format(
                  R"({{"type":"api_key","api_key":{{"id":"key_{:08x}","type":"service_account","service_account":{{"id":"svc_acct_{}"}}}}}})",
                  i * 7919, i);
    body.append(fmt::format(
        R"({{"id":"audit_log-{:012x}","type":"{}","effective_at":{},"project":{{"id":"proj_{:04}","name":"Project {}"}},"actor":{},"{}":{{"id":"res_{}","data":{{"scopes":["api.model.request","api.model.read"],"name":"resource {}"}}}}}})",
        0xabc000 + i, type, 1793491200 - i * 3, i % 17, i % 17, actor, type, i, i));
  }
  body.append(R"(],"first_id":"audit_log-000000abc000","last_id":"audit_log-000000abc063",)"
              R"("has_more":true})");
  return body;
}

void BM_ParseAuditLogPage(benchmark::State& state) {
  const simdjson::padded_string page(realisticPage());
  simdjson::ondemand::parser parser;
  std::size_t events = 0;
  for (auto _ : state) {
    auto parsed = siem::parseAuditLogPage(simdjson::padded_string_view(page), parser);
    if (!parsed) {
      state.SkipWithError(parsed.error().message.c_str());
      break;
    }
    events += parsed->events.size();
    benchmark::DoNotOptimize(parsed->events.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
  state.SetBytesProcessed(static_cast<std::int64_t>(page.size() * state.iterations()));
  state.counters["page_bytes"] = static_cast<double>(page.size());
}
BENCHMARK(BM_ParseAuditLogPage);

// The copying entry point (a body without spare capacity).
void BM_ParseAuditLogPageCopying(benchmark::State& state) {
  const std::string page = realisticPage();
  simdjson::ondemand::parser parser;
  std::size_t events = 0;
  for (auto _ : state) {
    auto parsed = siem::parseAuditLogPage(std::string_view(page), parser);
    if (!parsed) {
      state.SkipWithError(parsed.error().message.c_str());
      break;
    }
    events += parsed->events.size();
    benchmark::DoNotOptimize(parsed->events.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(events));
  state.SetBytesProcessed(static_cast<std::int64_t>(page.size() * state.iterations()));
}
BENCHMARK(BM_ParseAuditLogPageCopying);

}  // namespace

BENCHMARK_MAIN();
