// The source contract. A source runs on its own thread, produces owned events in order, and learns
// through acknowledged() which prefix of what it emitted has reached a terminal state in every sink
// it was routed to; only that prefix may move its durable cursor.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <stop_token>
#include <string>

#include "agent/api/event.h"

namespace siem {

class EventEmitter {
 public:
  virtual ~EventEmitter() = default;
  // Hands one event to the pipeline, which assigns its sequence number and routes it. Blocks while
  // a routed queue is full (backpressure). Returns the sequence number, or nullopt when the
  // pipeline is stopping and the event was not taken (the source must not count it as emitted).
  virtual std::optional<std::uint64_t> emit(Event event) = 0;
  // Optional work ahead of emit(), for a source that has spare threads: renders into each event
  // the encodings its routed sinks need, so that emit() need not. Thread-safe and callable from
  // any thread, concurrently, for distinct events, at any time while run() is active; emit() still
  // makes the routing decision and renders whatever is missing. The default does nothing.
  virtual void prepare(std::span<Event> /*events*/) const {}
};

class Source {
 public:
  virtual ~Source() = default;

  // Runs until `stop` is requested; every blocking wait inside observes `stop`. Must not throw:
  // the pipeline treats an escaping exception as fatal for the process.
  virtual void run(std::stop_token stop, EventEmitter& out) = 0;

  // Every event this source emitted with seq <= upto reached a terminal state (delivered or
  // dead-lettered, or routed nowhere) in every sink. Called from sink threads, in increasing
  // order of `upto`; must be cheap (no I/O on the caller's thread beyond a bounded, rate-limited
  // checkpoint write).
  virtual void acknowledged(std::uint64_t upto) = 0;

  // Persist the newest acknowledged position now. Called once at shutdown after draining.
  virtual void commit() = 0;

  // Empty when ready; otherwise a short operator-facing reason (never a secret).
  virtual std::string notReadyReason() const = 0;

  // Re-read what may have changed on disk without a restart (e.g. a rotated key file); asked for
  // by SIGHUP. Called from another thread while run() is active: must not block on run()'s I/O.
  virtual void reload() {}
};

}  // namespace siem
