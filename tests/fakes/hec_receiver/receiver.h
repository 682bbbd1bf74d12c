// The HTTP face of the HEC receiver: the collector endpoints with Splunk's token, channel, body,
// size and acknowledgement rules, fault injection, and the loopback-only control API under
// /_sim/ (see tests/fakes/README.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>

#include "tests/fakes/hec_receiver/gunzip.h"
#include "tests/fakes/hec_receiver/hec_protocol.h"

namespace siem::hec_fake {

// Settings a test may change at runtime through POST /_sim/settings.
struct ReceiverSettings {
  std::set<std::string> tokens;                 // accepted tokens
  std::set<std::string> disabled_tokens;        // known but disabled (code 1)
  std::set<std::string> allowed_indexes;        // empty: any index
  bool ack = false;                             // indexer acknowledgement on every token
  std::size_t max_content_length = 800u << 20;  // request body cap, before and after gzip
  int health_code = kHealthy;                   // 17..20
  std::int64_t ack_delay_ms = 0;                // an ack turns true this long after indexing
};

struct ReceiverOptions {
  ReceiverSettings settings;
  bool record_events = true;  // false: count events only (benchmarks)
  bool verbose = false;
  std::size_t max_pending_acks_per_channel = 1'000'000;
};

enum class FaultKind : std::uint8_t {
  kBusy,             // 503 code 9, optionally with invalid-event-number (events before it kept)
  kInternalError,    // 500 code 8
  kBadGateway,       // 502 with a non-JSON body, as from a proxy
  kTooManyRequests,  // 429 with Retry-After and a non-JSON body
  kTooLarge,         // 413
  kInvalidEvent,     // 400 code 6 at invalid_event_number (events before it kept)
  kSlow,             // answer normally after delay_ms
  kDropConnection,   // close the connection before indexing anything, without a response byte
};

struct Fault {
  FaultKind kind = FaultKind::kBusy;
  std::uint32_t count = 1;  // 0: stays until DELETE /_sim/fault
  std::optional<std::size_t> invalid_event_number;
  std::optional<std::int64_t> retry_after_secs;
  std::int64_t delay_ms = 2000;
};

class HecReceiver {
 public:
  explicit HecReceiver(ReceiverOptions options);

  // Installs the routes on `server` (plain or TLS). The receiver must outlive the server.
  void install(httplib::Server& server);

 private:
  using Clock = std::chrono::steady_clock;
  struct PendingAck {
    Clock::time_point ready_at;
    bool lost = false;
  };
  struct Channel {
    std::uint64_t next_ack_id = 0;
    std::map<std::uint64_t, PendingAck> pending;
  };
  struct Recorded {
    std::string envelope;  // an /event envelope's JSON text as sent, described when listed
    IndexedEvent event;    // a /raw event (envelope empty)
    std::string channel;
    std::optional<std::uint64_t> ack_id;
    bool ack_lost = false;  // its ack id will never be reported true
    std::uint64_t request = 0;
  };
  struct Body {
    std::string text;
    bool too_large = false;
  };
  // What one event request needs, kept between requests so a body costs no allocation once the
  // buffers have grown to the usual size. A handler takes one from the pool and gives it back.
  struct Workspace {
    EventParser parser;
    Gunzip gunzip;
    std::string wire;     // the body as sent; its capacity leaves room for the parser's padding
    std::string decoded;  // gzip output; its size is working room (see Gunzip::decode)
  };
  class WorkspaceLease;

  Body readBody(const httplib::Request& req, const httplib::ContentReader& reader);
  // Reads the body as sent into `out` (reusing its storage); false when it passes the cap, in
  // which case `out` is emptied and the rest drained. `seen` counts the bytes read.
  bool readWireBody(const httplib::Request& req, const httplib::ContentReader& reader,
                    std::size_t cap, std::string& out, std::size_t& seen);
  // nullopt when authorized; else the code to answer (1..4, 16).
  std::optional<int> authorize(const httplib::Request& req);
  // The request's channel (header or ?channel=), or empty.
  static std::string channelOf(const httplib::Request& req);

  void handleEvent(const httplib::Request& req, httplib::Response& res,
                   const httplib::ContentReader& reader, bool raw);
  void handleAck(const httplib::Request& req, httplib::Response& res,
                 const httplib::ContentReader& reader);
  void handleHealth(const httplib::Request& req, httplib::Response& res);
  void reply(httplib::Response& res, const HecReply& reply, int http_status = 0);
  // Records the first `count` accepted events (`envelopes` from /event, or `raw_events` from
  // /raw); returns the ack id when acknowledgement is on and the request was `complete` (accepted
  // whole).
  std::optional<std::uint64_t> index(const std::vector<std::string_view>& envelopes,
                                     std::vector<IndexedEvent>&& raw_events, std::size_t count,
                                     const std::string& channel, std::uint64_t request,
                                     bool complete);
  std::optional<Fault> takeFault();

  void controlEvents(const httplib::Request& req, httplib::Response& res);
  void controlStats(httplib::Response& res);
  void controlFault(const httplib::Request& req, httplib::Response& res);
  void controlSettings(const httplib::Request& req, httplib::Response& res);

  const ReceiverOptions options_;

  std::mutex pool_mutex_;  // guards pool_
  std::vector<std::unique_ptr<Workspace>> pool_;

  std::mutex mutex_;  // guards every member below
  ReceiverSettings settings_;
  std::deque<Fault> faults_;
  std::uint64_t lost_ack_budget_ = 0;  // the next this-many ack ids are never acknowledged
  std::map<std::string, Channel> channels_;
  std::vector<Recorded> events_;
  std::uint64_t events_total_ = 0;
  std::uint64_t requests_total_ = 0;
  std::map<int, std::uint64_t> requests_by_status_;
  std::map<int, std::uint64_t> replies_by_code_;
  std::uint64_t event_requests_ = 0;
  std::uint64_t gzip_requests_ = 0;
  std::uint64_t body_bytes_ = 0;  // decoded
  std::uint64_t wire_bytes_ = 0;  // as sent (Content-Length)
  std::uint64_t ack_requests_ = 0;
  std::uint64_t acks_issued_ = 0;
  std::uint64_t acks_confirmed_ = 0;
  std::uint64_t acks_lost_ = 0;
  std::uint64_t health_requests_ = 0;
  std::uint64_t faults_served_ = 0;
  std::set<std::string> channels_seen_;
};

}  // namespace siem::hec_fake
