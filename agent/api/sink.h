// The sink contract. A sink does I/O and classifies what happened; the shared sink driver
// (agent/core/sink_driver.h) owns batching, retries, backoff, dead-lettering and acknowledgement.
// A sink never sleeps to back off, never loops over retries and never touches a cursor.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "agent/api/event.h"

namespace siem {

// What became of one event of a batch.
enum class Disposition : std::uint8_t {
  kDelivered,  // the endpoint confirmed it; terminal
  kRetry,      // not taken; the driver sends it again after a backoff
  kRejected,   // permanently refused; the driver dead-letters it with the reason; terminal
};

// The result of one send. Either uniform (every event has `disposition`) or per event.
struct SendOutcome {
  Disposition disposition = Disposition::kDelivered;
  // When non-empty, one entry per event of the batch, in order; overrides `disposition`.
  std::vector<Disposition> per_event;
  // When non-empty, per-event rejection reasons (same indexing as per_event); `reason` otherwise.
  std::vector<std::string> per_event_reason;
  // Why not delivered: logged, and written next to dead-lettered events. Never contains secrets.
  std::string reason;
  // Metric label for errors_total{error_type}: short, bounded vocabulary ("timeout",
  // "connection", "http_5xx", "http_429", "auth", "invalid_data", "encode", ...).
  std::string error_type;
  // The endpoint asked to wait at least this long (Retry-After) before the next attempt.
  std::optional<std::chrono::milliseconds> retry_after;
  // The request was too large (e.g. HTTP 413): the driver splits the batch in halves and sends
  // each half; a single event that is still too large is dead-lettered.
  bool too_large = false;
  // The endpoint refused us for a reason an operator must fix (bad token, forbidden). The sink is
  // reported unhealthy in /readyz until a send succeeds; events are retried, never dropped.
  bool unhealthy = false;

  static SendOutcome delivered() { return {}; }
  static SendOutcome retry(std::string error_type, std::string reason,
                           std::optional<std::chrono::milliseconds> after = std::nullopt) {
    SendOutcome o;
    o.disposition = Disposition::kRetry;
    o.error_type = std::move(error_type);
    o.reason = std::move(reason);
    o.retry_after = after;
    return o;
  }
  static SendOutcome rejected(std::string error_type, std::string reason) {
    SendOutcome o;
    o.disposition = Disposition::kRejected;
    o.error_type = std::move(error_type);
    o.reason = std::move(reason);
    return o;
  }
  static SendOutcome tooLarge(std::string reason) {
    SendOutcome o = retry("too_large", std::move(reason));
    o.too_large = true;
    return o;
  }

  Disposition at(std::size_t i) const { return per_event.empty() ? disposition : per_event[i]; }
  const std::string& reasonAt(std::size_t i) const {
    return per_event_reason.empty() || per_event_reason[i].empty() ? reason : per_event_reason[i];
  }
};

using SendCallback = std::function<void(SendOutcome)>;

class Sink {
 public:
  virtual ~Sink() = default;

  // Prepare connections, producers, health checks. Must not block for long; failures here are
  // reported by later sends, not by refusing to start (a SIEM that is down at boot must not stop
  // the agent). Called once before the first send.
  virtual void start() {}

  // Starts delivering `batch`, rendered in the sink's encoding (event->encoded(encoding)). Must
  // call `done` exactly once, from any thread, possibly before returning. The driver calls send()
  // from its worker threads with at most `concurrency` batches in flight at once; an implementation
  // that shares state between concurrent sends guards it itself.
  virtual void send(BatchPtr batch, SendCallback done) = 0;

  // Flush what is in flight and release resources. After stop() returns no callback fires.
  virtual void stop(std::chrono::steady_clock::time_point deadline) { (void)deadline; }

  // A problem an operator should see in /readyz that is not tied to one send (e.g. a failed
  // start-up health check). Empty when healthy.
  virtual std::string healthProblem() const { return {}; }

  // Bytes the sink adds around each event in a request (an envelope), on average. The driver
  // counts them when it cuts a batch against batch.max_bytes, so that a sink whose request limit
  // is that same figure gets batches that fit one request instead of a full request and a small
  // leftover one. May change as the sink learns it; called from the driver's threads.
  virtual std::size_t framingBytes() const { return 0; }
};

// Convenience base for sinks whose I/O is synchronous: implement sendSync().
class SyncSink : public Sink {
 public:
  void send(BatchPtr batch, SendCallback done) final { done(sendSync(*batch)); }
  virtual SendOutcome sendSync(const Batch& batch) = 0;
};

}  // namespace siem
