// The agent's metrics (names are a contract: DESIGN §7). One Metrics object is created in main()
// and passed down; there is no global registry. Label values are component ids, kinds and types,
// bounded error vocabularies and HTTP status codes: never a secret, email, IP or free text.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace siem {

// Handles for one source or sink. Obtained once from Metrics::component(); the references stay
// valid for the life of the Metrics object and are safe to use from any thread.
class ComponentMetrics {
 public:
  prometheus::Counter& received_events;
  prometheus::Counter& received_bytes;
  prometheus::Counter& sent_events;
  prometheus::Counter& sent_bytes;
  prometheus::Counter& retries;
  prometheus::Counter& discarded_intentional;    // discarded_events_total{intentional="true"}
  prometheus::Counter& discarded_unintentional;  // discarded_events_total{intentional="false"}
  prometheus::Counter& dead_letter_events;
  prometheus::Gauge& buffer_events;
  prometheus::Gauge& buffer_bytes;
  prometheus::Histogram& send_latency;      // seconds from pulled to confirmed (sinks)
  prometheus::Gauge& source_lag;            // seconds (sources)
  prometheus::Gauge& checkpoint_timestamp;  // unix seconds of the committed position (sources)

  // errors_total{error_type, stage}; `error_type` and `stage` come from small fixed vocabularies.
  // As a safety net, values not matching [a-z0-9_.]{1,64} and pairs beyond 64 per component are
  // counted as "other".
  void error(std::string_view error_type, std::string_view stage);
  // http_client_requests_total{status} and the request-duration histogram. A status outside
  // 100..599 (no response: connection failure, timeout) is counted as status="0".
  void httpRequest(int status, double seconds);
  // audit_events_total{event_type, outcome} (sources). A type name is its own label value if it
  // matches [a-z0-9_.]{1,80} and is among the first 512 such names seen by this component;
  // otherwise it is counted as event_type="other", so a misbehaving server cannot explode
  // cardinality. Outcomes are bounded the same way (8 distinct values).
  void auditEvent(std::string_view event_type, std::string_view outcome);
  // The audit_events_total child that auditEvent(event_type, outcome) increments, for a caller
  // that counts the same pairs over and over and keeps the references (valid as long as this).
  prometheus::Counter& auditEventCounter(std::string_view event_type, std::string_view outcome);
  // A gauge `siem_agent_<name>` with this component's labels, for a metric only some component
  // types have (e.g. splunk_pending_acks). The first call registers it; later calls with the
  // same name return the same gauge.
  prometheus::Gauge& extraGauge(const std::string& name, const std::string& help);
  // The same for a counter (`name` ends in `_total`), e.g. openai_windows_halved_total.
  prometheus::Counter& extraCounter(const std::string& name, const std::string& help);

  ComponentMetrics(const ComponentMetrics&) = delete;
  ComponentMetrics& operator=(const ComponentMetrics&) = delete;

 private:
  friend class Metrics;
  struct Families;
  ComponentMetrics(Families& families, std::map<std::string, std::string> labels);

  Families& families_;
  std::map<std::string, std::string> labels_;
  std::mutex mutex_;  // guards the lazily created labelled children and the sets below
  std::map<std::string, prometheus::Counter*> errors_;
  std::map<int, prometheus::Counter*> http_requests_;
  prometheus::Histogram* http_duration_ = nullptr;
  std::map<std::string, prometheus::Counter*> audit_events_;
  std::set<std::string> audit_types_;     // event_type values admitted so far (bounded)
  std::set<std::string> audit_outcomes_;  // outcome values admitted so far (bounded)
};

// The upper bounds of send_latency's buckets, ascending: for callers that sort a batch of
// observations into buckets themselves (prometheus::Histogram::ObserveMultiple).
const std::vector<double>& sendLatencyBuckets();

class Metrics {
 public:
  explicit Metrics(std::string_view version);
  ~Metrics();

  // kind is "source" or "sink"; type the component type ("openai_audit_logs", "file", ...).
  // A non-empty `organization_id` (configured per source: one source per OpenAI organization)
  // adds the label organization_id to every series of the component. The first call for a
  // (kind, id) decides the labels; later calls return the same object.
  ComponentMetrics& component(const std::string& id, const std::string& kind,
                              const std::string& type, const std::string& organization_id = {});

  // The whole exposition in Prometheus text format 0.0.4, including process_* metrics.
  std::string serialize() const;

  prometheus::Registry& registry() { return *registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<ComponentMetrics::Families> families_;
  std::mutex mutex_;  // guards components_
  std::map<std::string, std::unique_ptr<ComponentMetrics>> components_;
};

}  // namespace siem
