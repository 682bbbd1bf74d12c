#include "agent/observability/metrics.h"

#include <prometheus/text_serializer.h>

#include <set>
#include <utility>
#include <vector>

#include "agent/observability/process_metrics.h"

namespace siem {
namespace {

// Cardinality bounds for label values that come from outside the agent's own vocabulary.
constexpr std::size_t kMaxAuditEventTypes = 512;  // distinct event_type values per component
constexpr std::size_t kMaxAuditTypeLength = 80;
constexpr std::size_t kMaxAuditOutcomes = 8;  // distinct outcome values per component
constexpr std::size_t kMaxErrorLabelLength = 64;
constexpr std::size_t kMaxErrorSeries = 64;  // distinct (error_type, stage) pairs per component
constexpr std::string_view kOther = "other";

// [a-z0-9_.]{1,max_length}
bool isLabelToken(std::string_view value, std::size_t max_length) {
  if (value.empty() || value.size() > max_length) return false;
  for (const char c : value) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

const std::vector<double>& httpDurationBuckets() {
  static const std::vector<double> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                               1,     2.5,  5,     10,   30,  60};
  return kBuckets;
}

prometheus::Family<prometheus::Counter>& counter(prometheus::Registry& registry,
                                                 const std::string& name, const std::string& help) {
  return prometheus::BuildCounter().Name("siem_agent_" + name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Gauge>& gauge(prometheus::Registry& registry,
                                             const std::string& name, const std::string& help) {
  return prometheus::BuildGauge().Name("siem_agent_" + name).Help(help).Register(registry);
}

prometheus::Family<prometheus::Histogram>& histogram(prometheus::Registry& registry,
                                                     const std::string& name,
                                                     const std::string& help) {
  return prometheus::BuildHistogram().Name("siem_agent_" + name).Help(help).Register(registry);
}

prometheus::Labels withLabels(const std::map<std::string, std::string>& base,
                              std::initializer_list<std::pair<const char*, std::string>> extra) {
  prometheus::Labels labels(base.begin(), base.end());
  for (const auto& [name, value] : extra) labels[name] = value;
  return labels;
}

}  // namespace

const std::vector<double>& sendLatencyBuckets() {
  static const std::vector<double> kBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1,   2.5,
                                               5,    10,   30,  60,   120, 300, 600};
  return kBuckets;
}

// Every family the agent exports. Built once by Metrics; the references point into the registry.
struct ComponentMetrics::Families {
  explicit Families(prometheus::Registry& r)
      : registry(r),
        received_events(counter(r, "component_received_events_total",
                                "Events received by a source from its upstream API or file.")),
        received_bytes(counter(r, "component_received_bytes_total",
                               "Raw bytes received by a source from its upstream.")),
        sent_events(
            counter(r, "component_sent_events_total", "Events confirmed delivered by a sink.")),
        sent_bytes(counter(r, "component_sent_bytes_total",
                           "Encoded bytes confirmed delivered by a sink.")),
        errors(counter(r, "component_errors_total",
                       "Errors met by a component, by error type and pipeline stage.")),
        discarded(counter(r, "component_discarded_events_total",
                          "Events a component did not pass on; intentional=\"true\" for "
                          "filtering by configuration, \"false\" for losses.")),
        retries(counter(r, "component_retries_total",
                        "Retried requests or sends after a retryable failure.")),
        dead_letter(counter(r, "dead_letter_events_total",
                            "Events a sink rejected permanently and wrote to its dead-letter "
                            "file.")),
        buffer_events(gauge(r, "buffer_events", "Events currently held in a component's buffer.")),
        buffer_bytes(gauge(r, "buffer_bytes", "Bytes currently held in a component's buffer.")),
        http_requests(counter(r, "http_client_requests_total",
                              "HTTP requests made by a component, by response status "
                              "(\"0\" when no response was received).")),
        http_duration(histogram(r, "http_client_request_duration_seconds",
                                "Duration of a component's HTTP requests in seconds.")),
        send_latency(histogram(r, "send_latency_seconds",
                               "Seconds from an event being pulled by its source to its delivery "
                               "being confirmed by a sink.")),
        source_lag(gauge(r, "source_lag_seconds",
                         "Seconds between now and the newest committed event time of a source.")),
        checkpoint_timestamp(
            gauge(r, "checkpoint_timestamp_seconds",
                  "Event time (unix seconds) of a source's committed checkpoint.")),
        audit_events(counter(r, "audit_events_total",
                             "Audit events received by a source, by event type and outcome; "
                             "unusual or excess type names are counted as \"other\".")) {}

  prometheus::Registry& registry;  // for families only some component types have
  prometheus::Family<prometheus::Counter>& received_events;
  prometheus::Family<prometheus::Counter>& received_bytes;
  prometheus::Family<prometheus::Counter>& sent_events;
  prometheus::Family<prometheus::Counter>& sent_bytes;
  prometheus::Family<prometheus::Counter>& errors;
  prometheus::Family<prometheus::Counter>& discarded;
  prometheus::Family<prometheus::Counter>& retries;
  prometheus::Family<prometheus::Counter>& dead_letter;
  prometheus::Family<prometheus::Gauge>& buffer_events;
  prometheus::Family<prometheus::Gauge>& buffer_bytes;
  prometheus::Family<prometheus::Counter>& http_requests;
  prometheus::Family<prometheus::Histogram>& http_duration;
  prometheus::Family<prometheus::Histogram>& send_latency;
  prometheus::Family<prometheus::Gauge>& source_lag;
  prometheus::Family<prometheus::Gauge>& checkpoint_timestamp;
  prometheus::Family<prometheus::Counter>& audit_events;
};

ComponentMetrics::ComponentMetrics(Families& families, std::map<std::string, std::string> labels)
    : received_events(families.received_events.Add(labels)),
      received_bytes(families.received_bytes.Add(labels)),
      sent_events(families.sent_events.Add(labels)),
      sent_bytes(families.sent_bytes.Add(labels)),
      retries(families.retries.Add(labels)),
      discarded_intentional(families.discarded.Add(withLabels(labels, {{"intentional", "true"}}))),
      discarded_unintentional(
          families.discarded.Add(withLabels(labels, {{"intentional", "false"}}))),
      dead_letter_events(families.dead_letter.Add(labels)),
      buffer_events(families.buffer_events.Add(labels)),
      buffer_bytes(families.buffer_bytes.Add(labels)),
      send_latency(families.send_latency.Add(labels, sendLatencyBuckets())),
      source_lag(families.source_lag.Add(labels)),
      checkpoint_timestamp(families.checkpoint_timestamp.Add(labels)),
      families_(families),
      labels_(std::move(labels)) {}

prometheus::Gauge& ComponentMetrics::extraGauge(const std::string& name, const std::string& help) {
  // The registry merges families of the same name, and Add() returns the existing child for the
  // same labels, so every call with `name` yields the same gauge.
  return gauge(families_.registry, name, help).Add(labels_);
}

prometheus::Counter& ComponentMetrics::extraCounter(const std::string& name,
                                                    const std::string& help) {
  return counter(families_.registry, name, help).Add(labels_);
}

void ComponentMetrics::error(std::string_view error_type, std::string_view stage) {
  std::string type_label(isLabelToken(error_type, kMaxErrorLabelLength) ? error_type : kOther);
  std::string stage_label(isLabelToken(stage, kMaxErrorLabelLength) ? stage : kOther);
  std::string key = type_label + '\n' + stage_label;
  prometheus::Counter* child = nullptr;
  {
    const std::lock_guard lock(mutex_);
    auto it = errors_.find(key);
    if (it == errors_.end() && errors_.size() >= kMaxErrorSeries) {
      type_label = stage_label = kOther;
      key = type_label + '\n' + stage_label;
      it = errors_.find(key);
    }
    if (it == errors_.end()) {
      child = &families_.errors.Add(
          withLabels(labels_, {{"error_type", type_label}, {"stage", stage_label}}));
      errors_.emplace(std::move(key), child);
    } else {
      child = it->second;
    }
  }
  child->Increment();
}

void ComponentMetrics::httpRequest(int status, double seconds) {
  // Anything outside the HTTP status range (e.g. a connection failure) is one series, "0".
  const int status_label = status >= 100 && status <= 599 ? status : 0;
  prometheus::Counter* requests = nullptr;
  prometheus::Histogram* duration = nullptr;
  {
    const std::lock_guard lock(mutex_);
    auto it = http_requests_.find(status_label);
    if (it == http_requests_.end()) {
      it = http_requests_
               .emplace(status_label, &families_.http_requests.Add(withLabels(
                                          labels_, {{"status", std::to_string(status_label)}})))
               .first;
    }
    requests = it->second;
    // Created on first use so components that never speak HTTP export no empty histogram.
    if (http_duration_ == nullptr) {
      http_duration_ = &families_.http_duration.Add(labels_, httpDurationBuckets());
    }
    duration = http_duration_;
  }
  requests->Increment();
  duration->Observe(seconds);
}

void ComponentMetrics::auditEvent(std::string_view event_type, std::string_view outcome) {
  // Called for every event a source emits. The usual case, a pair already counted under its own
  // names, costs one lookup with a key built in a reused per-thread buffer.
  thread_local std::string seen_key;
  seen_key.assign(event_type);
  seen_key += '\n';
  seen_key += outcome;
  {
    const std::lock_guard lock(mutex_);
    if (auto it = audit_events_.find(seen_key); it != audit_events_.end()) {
      it->second->Increment();
      return;
    }
  }
  auditEventCounter(event_type, outcome).Increment();
}

prometheus::Counter& ComponentMetrics::auditEventCounter(std::string_view event_type,
                                                         std::string_view outcome) {
  std::string type_label(isLabelToken(event_type, kMaxAuditTypeLength) ? event_type : kOther);
  std::string outcome_label(isLabelToken(outcome, kMaxAuditTypeLength) ? outcome : kOther);
  prometheus::Counter* child = nullptr;
  {
    const std::lock_guard lock(mutex_);
    if (type_label != kOther && !audit_types_.contains(type_label)) {
      if (audit_types_.size() >= kMaxAuditEventTypes) {
        type_label = kOther;
      } else {
        audit_types_.insert(type_label);
      }
    }
    if (outcome_label != kOther && !audit_outcomes_.contains(outcome_label)) {
      if (audit_outcomes_.size() >= kMaxAuditOutcomes) {
        outcome_label = kOther;
      } else {
        audit_outcomes_.insert(outcome_label);
      }
    }
    std::string key = type_label + '\n' + outcome_label;
    auto it = audit_events_.find(key);
    if (it == audit_events_.end()) {
      it = audit_events_
               .emplace(std::move(key),
                        &families_.audit_events.Add(withLabels(
                            labels_, {{"event_type", type_label}, {"outcome", outcome_label}})))
               .first;
    }
    child = it->second;
  }
  return *child;
}

Metrics::Metrics(std::string_view version)
    : registry_(std::make_shared<prometheus::Registry>()),
      families_(std::make_unique<ComponentMetrics::Families>(*registry_)) {
  prometheus::BuildGauge()
      .Name("siem_agent_build_info")
      .Help("Build information; the value is always 1.")
      .Register(*registry_)
      .Add({{"version", std::string(version)}})
      .Set(1);
}

Metrics::~Metrics() = default;

ComponentMetrics& Metrics::component(const std::string& id, const std::string& kind,
                                     const std::string& type, const std::string& organization_id) {
  const std::lock_guard lock(mutex_);
  auto key = kind + '\n' + id;
  auto it = components_.find(key);
  if (it == components_.end()) {
    std::map<std::string, std::string> labels = {
        {"component_id", id}, {"component_kind", kind}, {"component_type", type}};
    if (!organization_id.empty()) labels.emplace("organization_id", organization_id);
    // The constructor is private, so make_unique cannot reach it.
    std::unique_ptr<ComponentMetrics> created(new ComponentMetrics(*families_, std::move(labels)));
    it = components_.emplace(std::move(key), std::move(created)).first;
  }
  return *it->second;
}

std::string Metrics::serialize() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (auto& family : collectProcessMetrics()) families.push_back(std::move(family));
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace siem
