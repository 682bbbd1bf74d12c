// `type: splunk_hec`: sends batches of JSON envelopes to Splunk's HTTP Event Collector
// (POST {endpoint}/services/collector/event) and classifies every answer (generic HTTP table plus
// HEC's documented deviations, sinks/splunk_hec/response.h).
//
// Delivery:
// * A batch is sent as one or more requests of at most `batch.max_bytes` uncompressed bytes, in
//   order; after a request that is not fully accepted, the rest of the batch is not sent (it is
//   retried with what was not taken). An event whose envelope exceeds `max_event_bytes` is
//   dead-lettered without being sent.
// * Without indexer acknowledgement, HTTP 200 means delivered. With it, send() returns after the
//   POSTs and the batch stays in flight until every request's ackId is reported true by
//   /services/collector/ack, polled by the sink's own thread every `ack_poll_interval_ms` on the
//   same channel; ids never acknowledged within `ack_timeout_secs` are sent again (at least
//   once: Splunk may then hold duplicates). If /ack answers code 14 (acknowledgement disabled on
//   the token), the sink falls back to "200 means delivered" with a warning.
// * A health check (/services/collector/health) runs at start() on the sink's thread; a problem
//   is reported by healthProblem() until a send succeeds. Start never waits for it.
//
// Threading: send() may run on up to `concurrency` driver threads at once; each takes an HTTP
// client (kept-alive connection) from a pool. Done callbacks of acknowledged batches run on the
// sink's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "agent/api/result.h"
#include "agent/api/sink.h"
#include "agent/core/http_client.h"
#include "agent/core/registry.h"
#include "sinks/splunk_hec/config.h"
#include "sinks/splunk_hec/encoder.h"

namespace prometheus {
class Gauge;
}

namespace siem {

class ComponentMetrics;

struct SplunkHecSettings {
  std::string sink_id;   // for logs
  std::string endpoint;  // scheme://host[:port][/prefix]
  std::string token;
  std::string token_file;  // re-read after 401/403 when set
  HecEnvelopeFormat format;
  bool gzip = true;
  int gzip_level = 1;
  std::size_t max_request_bytes = 1'000'000;  // uncompressed body of one request
  std::size_t max_event_bytes = 5u << 20;
  bool indexer_ack = false;
  std::chrono::milliseconds ack_timeout{300'000};
  std::chrono::milliseconds ack_poll_interval{1000};
  std::chrono::milliseconds timeout{30'000};
  bool healthcheck = true;
  TlsConfig tls;
};

class SplunkHecSink final : public Sink {
 public:
  // `metrics` and `pending_acks` must outlive the sink.
  SplunkHecSink(SplunkHecSettings settings, ComponentMetrics& metrics,
                prometheus::Gauge& pending_acks);
  ~SplunkHecSink() override;
  SplunkHecSink(const SplunkHecSink&) = delete;
  SplunkHecSink& operator=(const SplunkHecSink&) = delete;

  void start() override;
  void send(BatchPtr batch, SendCallback done) override;
  // Stops the sink's thread; batches still awaiting acknowledgement are reported as retries
  // (from this call). Destroying the sink without stop() drops them without callbacks.
  void stop(std::chrono::steady_clock::time_point deadline) override;
  std::string healthProblem() const override;
  // The envelope bytes around an event: first from the configured metadata, then the average
  // of the last batch sent (templated metadata varies per event).
  std::size_t framingBytes() const override { return framing_.load(std::memory_order_relaxed); }

  // The X-Splunk-Request-Channel of this instance (a random GUID).
  const std::string& channel() const { return channel_; }

 private:
  std::atomic<std::size_t> framing_{0};
  using Clock = std::chrono::steady_clock;
  struct Chunk {
    std::string body;
    std::vector<std::size_t> indices;  // events of the batch in this request
  };
  struct AckWait {
    std::uint64_t ack_id = 0;
    std::vector<std::size_t> indices;
    bool acked = false;
    bool reset = false;  // the server reissued this id: its status can no longer be known
  };
  struct PendingBatch {
    BatchPtr batch;
    SendCallback done;
    SendOutcome outcome;  // per_event filled; waiting events provisionally kDelivered
    std::vector<AckWait> waits;
    Clock::time_point deadline;
  };
  std::unique_ptr<HttpClient> takeClient();
  void returnClient(std::unique_ptr<HttpClient> client);
  HttpClientOptions clientOptions() const;
  std::string authorization() const;
  void maybeReloadToken();
  HttpResult post(HttpClient& client, const std::string& path, std::string body, bool gzip);

  void backgroundLoop(const std::stop_token& stop);
  void runHealthcheck(HttpClient& client);
  void pollAcks(HttpClient& client);
  // Completes acknowledged and expired batches (all when `everything`, as retries unless the
  // acks are known). Callbacks run without the lock.
  void completeBatches(bool everything, bool ack_disabled);
  void updatePendingGaugeLocked();

  const SplunkHecSettings settings_;
  const std::string channel_;
  const std::string event_url_path_;
  ComponentMetrics& metrics_;
  prometheus::Gauge& pending_acks_;

  mutable std::mutex token_mutex_;  // guards token_
  std::string token_;

  std::mutex clients_mutex_;  // guards idle_clients_
  std::vector<std::unique_ptr<HttpClient>> idle_clients_;

  mutable std::mutex mutex_;  // guards every member below
  std::condition_variable_any wake_;
  std::vector<PendingBatch> pending_;
  bool ack_disabled_ = false;  // /ack answered code 14: 200 means delivered
  bool warned_no_ack_id_ = false;
  bool poll_failing_ = false;
  bool delivered_once_ = false;  // a send succeeded: a start-up health problem is outdated
  std::string health_problem_;
  bool stopped_ = false;

  std::jthread background_;
};

Result<std::unique_ptr<Sink>> createSplunkHecSink(const SinkConfig& config, SinkEnv& env);

}  // namespace siem
