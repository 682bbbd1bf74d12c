#include "sinks/splunk_hec/sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <utility>

#include "agent/config/reader.h"
#include "agent/core/http_status.h"
#include "agent/observability/metrics.h"
#include "sinks/splunk_hec/response.h"

namespace siem {
namespace {

constexpr std::string_view kEventPath = "/services/collector/event";
constexpr std::string_view kAckPath = "/services/collector/ack";
constexpr std::string_view kHealthPath = "/services/collector/health";
// HEC answers are small JSON objects; anything bigger is not HEC.
constexpr std::size_t kMaxResponseBytes = 1u << 20;
// Added to the measured envelope size when batches are cut, so that an estimate slightly short of
// a batch's real envelopes rarely leaves a small second request.
constexpr std::size_t kFramingMargin = 16;

std::string randomGuid() {
  std::random_device device;
  std::mt19937_64 rng((std::uint64_t{device()} << 32) ^ device());
  // RFC 9562 version 4: random, with the version nibble 4 and the variant bits 10.
  const std::uint64_t high = (rng() & ~std::uint64_t{0xF000}) | 0x4000;
  const std::uint64_t low = (rng() & ~(std::uint64_t{3} << 62)) | (std::uint64_t{2} << 62);
  constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (const std::uint64_t half : {high, low}) {
    for (int shift = 60; shift >= 0; shift -= 4) hex.push_back(kHex[(half >> shift) & 0xF]);
  }
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' +
         hex.substr(16, 4) + '-' + hex.substr(20);
}

// Folds a failed request's outcome into the batch outcome: the first failure names the error,
// the longest Retry-After wins, and any unhealthy answer makes the batch unhealthy.
void mergeFailure(SendOutcome& into, const SendOutcome& from) {
  if (into.error_type.empty()) {
    into.error_type = from.error_type;
    into.reason = from.reason;
  }
  if (from.retry_after && (!into.retry_after || *from.retry_after > *into.retry_after)) {
    into.retry_after = from.retry_after;
  }
  into.unhealthy = into.unhealthy || from.unhealthy;
}

// A uniform per-event outcome collapses to the plain form (the driver reads both), and reasons
// are dropped when there are none.
void normalize(SendOutcome& outcome) {
  if (std::all_of(outcome.per_event_reason.begin(), outcome.per_event_reason.end(),
                  [](const std::string& r) { return r.empty(); })) {
    outcome.per_event_reason.clear();
  }
  if (outcome.per_event.empty()) return;
  const Disposition first = outcome.per_event.front();
  if (std::all_of(outcome.per_event.begin(), outcome.per_event.end(),
                  [first](Disposition d) { return d == first; })) {
    outcome.disposition = first;
    outcome.per_event.clear();
  }
}

}  // namespace

SplunkHecSink::SplunkHecSink(SplunkHecSettings settings, ComponentMetrics& metrics,
                             prometheus::Gauge& pending_acks)
    : settings_(std::move(settings)),
      channel_(randomGuid()),
      event_url_path_(kEventPath),
      metrics_(metrics),
      pending_acks_(pending_acks),
      token_(settings_.token) {
  pending_acks_.Set(0);
  // The envelope of an event with a two-byte body, plus room for a longer timestamp and metadata
  // templated from event fields.
  Event sample;
  sample.effective_at = 4'102'444'800;  // a ten-digit timestamp, as every current one has
  sample.raw = "{}";
  for (auto& r : sample.rendered) r = "{}";
  std::string envelope;
  if (appendHecEnvelope(envelope, sample, settings_.format)) {
    framing_.store(envelope.size() - 2 + kFramingMargin);
  }
}

SplunkHecSink::~SplunkHecSink() {
  // Normally stop() ran already. If not, the owner is going away: its callbacks must not run, so
  // batches still awaiting acknowledgement are dropped (not terminal: their events are pulled
  // again after a restart).
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  if (background_.joinable()) {
    background_.request_stop();
    background_.join();
  }
}

HttpClientOptions SplunkHecSink::clientOptions() const {
  HttpClientOptions options;
  options.tls = settings_.tls;
  options.max_response_bytes = kMaxResponseBytes;
  options.user_agent = std::string("siem-agent/") + SIEM_AGENT_VERSION;
  options.accept_gzip = false;
  return options;
}

std::unique_ptr<HttpClient> SplunkHecSink::takeClient() {
  {
    std::lock_guard lock(clients_mutex_);
    if (!idle_clients_.empty()) {
      auto client = std::move(idle_clients_.back());
      idle_clients_.pop_back();
      return client;
    }
  }
  return std::make_unique<HttpClient>(clientOptions());
}

void SplunkHecSink::returnClient(std::unique_ptr<HttpClient> client) {
  std::lock_guard lock(clients_mutex_);
  idle_clients_.push_back(std::move(client));
}

std::string SplunkHecSink::authorization() const {
  std::lock_guard lock(token_mutex_);
  return "Splunk " + token_;
}

void SplunkHecSink::maybeReloadToken() {
  if (settings_.token_file.empty()) return;
  auto token = readSecretFile(settings_.token_file);
  if (!token) {
    spdlog::warn("sink {}: cannot re-read token_file: {}", settings_.sink_id,
                 token.error().message);
    return;
  }
  std::lock_guard lock(token_mutex_);
  if (*token != token_) {
    token_ = std::move(*token);
    spdlog::info("sink {}: token_file changed; using the new token", settings_.sink_id);
  }
}

HttpResult SplunkHecSink::post(HttpClient& client, const std::string& path, std::string body,
                               bool gzip) {
  HttpRequest request;
  request.method = "POST";
  request.url = settings_.endpoint + path;
  request.timeout = settings_.timeout;
  request.headers.add("Authorization", authorization());
  request.headers.add("X-Splunk-Request-Channel", channel_);
  request.headers.add("Content-Type", "application/json");
  if (gzip) {
    auto compressed = gzipCompress(body, settings_.gzip_level);
    if (compressed) {
      request.body = std::move(*compressed);
      request.headers.add("Content-Encoding", "gzip");
    } else {
      spdlog::warn("sink {}: gzip failed ({}); sending uncompressed", settings_.sink_id,
                   compressed.error().message);
      request.body = std::move(body);
    }
  } else {
    request.body = std::move(body);
  }
  const auto started = Clock::now();
  HttpResult result = client.send(request);
  metrics_.httpRequest(result ? result->status : 0,
                       std::chrono::duration<double>(Clock::now() - started).count());
  return result;
}

void SplunkHecSink::start() {
  if (!settings_.healthcheck && !settings_.indexer_ack) return;
  background_ = std::jthread([this](const std::stop_token& stop) {
    try {
      backgroundLoop(stop);
    } catch (const std::exception& e) {
      spdlog::error("sink {}: HEC background thread failed: {}", settings_.sink_id, e.what());
      metrics_.error("exception", "ack");
    } catch (...) {
      spdlog::error("sink {}: HEC background thread failed", settings_.sink_id);
      metrics_.error("exception", "ack");
    }
  });
}

void SplunkHecSink::send(BatchPtr batch, SendCallback done) {
  const Batch& b = *batch;
  const std::size_t n = b.size();
  SendOutcome outcome;
  outcome.per_event.assign(n, Disposition::kDelivered);
  outcome.per_event_reason.assign(n, std::string());

  auto rejectLocally = [&](std::size_t i, std::string error_type, std::string reason) {
    outcome.per_event[i] = Disposition::kRejected;
    if (outcome.error_type.empty()) {
      outcome.error_type = std::move(error_type);
      outcome.reason = reason;
    }
    outcome.per_event_reason[i] = std::move(reason);
  };

  // Requests of at most max_request_bytes (a lone event may exceed it up to max_event_bytes).
  const std::size_t framing = framingBytes();
  std::size_t framing_total = 0;  // envelope bytes around the events that go out
  std::size_t accepted = 0;
  std::vector<Chunk> chunks(1);
  chunks.back().body.reserve(
      std::min(b.bytes + n * framing, settings_.max_request_bytes + framing));
  for (std::size_t i = 0; i < n; ++i) {
    Chunk* chunk = &chunks.back();
    const std::size_t mark = chunk->body.size();
    if (!appendHecEnvelope(chunk->body, *b.events[i], settings_.format)) {
      rejectLocally(i, "encode",
                    "the event has no " + std::string(toString(settings_.format.encoding)) +
                        " rendering; HEC refuses a blank event");
      continue;
    }
    const std::size_t size = chunk->body.size() - mark;
    if (size > settings_.max_event_bytes) {
      chunk->body.resize(mark);
      rejectLocally(
          i, "event_too_large",
          "the HEC envelope of this event is " + std::to_string(size) +
              " bytes, over max_event_bytes=" + std::to_string(settings_.max_event_bytes));
      continue;
    }
    if (!chunk->indices.empty() && chunk->body.size() > settings_.max_request_bytes) {
      Chunk next;
      next.body.reserve(settings_.max_request_bytes + framing);
      next.body.append(chunk->body, mark, size);
      chunk->body.resize(mark);
      chunks.push_back(std::move(next));
      chunk = &chunks.back();
    }
    chunk->indices.push_back(i);
    framing_total += size - b.events[i]->encoded(settings_.format.encoding).size();
    ++accepted;
  }
  if (chunks.back().indices.empty()) chunks.pop_back();
  if (accepted > 0) {
    framing_.store((framing_total + accepted - 1) / accepted + kFramingMargin,
                   std::memory_order_relaxed);
  }

  std::vector<AckWait> waits;
  bool ack_disabled = false;
  {
    std::lock_guard lock(mutex_);
    ack_disabled = ack_disabled_;
  }
  const bool want_ack = settings_.indexer_ack && !ack_disabled;
  bool stop_sending = false;
  bool any_accepted = false;
  for (std::size_t c = 0; c < chunks.size(); ++c) {
    Chunk& chunk = chunks[c];
    if (stop_sending) {
      for (const std::size_t i : chunk.indices) outcome.per_event[i] = Disposition::kRetry;
      continue;
    }
    const auto now = std::chrono::system_clock::now();
    std::unique_ptr<HttpClient> client = takeClient();
    HttpResult result = post(*client, event_url_path_, std::move(chunk.body), settings_.gzip);
    returnClient(std::move(client));

    SendOutcome co;
    std::optional<HecReply> reply;
    if (!result) {
      co = outcomeForTransportError(result.error(), "HEC event request to " + settings_.endpoint);
    } else {
      co = classifyHecEventResponse(result->status, result->body, chunk.indices.size(),
                                    retryAfterFromHeaders(result->headers, now));
      if (result->status >= 200 && result->status < 300) reply = parseHecReply(result->body);
    }
    if (co.too_large && c == 0) {
      // Nothing of this batch was accepted: the driver splits it and sends the halves.
      done(std::move(co));
      return;
    }
    if (co.too_large) {
      // Earlier requests were accepted; the rest goes back to the driver as a smaller batch.
      for (const std::size_t i : chunk.indices) outcome.per_event[i] = Disposition::kRetry;
      mergeFailure(outcome, co);
      stop_sending = true;
      continue;
    }
    bool whole = true;
    for (std::size_t j = 0; j < chunk.indices.size(); ++j) {
      const std::size_t i = chunk.indices[j];
      const Disposition d = co.at(j);
      outcome.per_event[i] = d;
      if (d == Disposition::kRejected) outcome.per_event_reason[i] = co.reasonAt(j);
      if (d == Disposition::kDelivered) any_accepted = true;
      if (d != Disposition::kDelivered) whole = false;
    }
    if (!whole) {
      mergeFailure(outcome, co);
      stop_sending = true;
      if (co.error_type == "auth") maybeReloadToken();
      continue;
    }
    if (!want_ack) continue;
    if (reply && reply->ack_id) {
      waits.push_back(AckWait{*reply->ack_id, std::move(chunk.indices)});
    } else {
      std::lock_guard lock(mutex_);
      if (!warned_no_ack_id_) {
        warned_no_ack_id_ = true;
        spdlog::warn(
            "sink {}: indexer_ack is on but HEC accepted a request without an ackId (the token "
            "does not have indexer acknowledgement enabled); HTTP 200 counts as delivered",
            settings_.sink_id);
      }
    }
  }

  if (any_accepted) {
    std::lock_guard lock(mutex_);
    health_problem_.clear();
    delivered_once_ = true;
  }
  if (waits.empty()) {
    normalize(outcome);
    done(std::move(outcome));
    return;
  }
  std::lock_guard lock(mutex_);
  // Ack ids are per channel and start at 0 when HEC restarts: an id we already wait for has been
  // reissued, and the old request's acknowledgement can no longer be told apart.
  for (PendingBatch& pending : pending_) {
    for (AckWait& old : pending.waits) {
      for (const AckWait& fresh : waits) {
        if (!old.acked && old.ack_id == fresh.ack_id) old.reset = true;
      }
    }
  }
  pending_.push_back(PendingBatch{std::move(batch), std::move(done), std::move(outcome),
                                  std::move(waits), Clock::now() + settings_.ack_timeout});
  updatePendingGaugeLocked();
}

void SplunkHecSink::backgroundLoop(const std::stop_token& stop) {
  HttpClient client(clientOptions());
  if (settings_.healthcheck) runHealthcheck(client);
  if (!settings_.indexer_ack) return;
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, stop, settings_.ack_poll_interval, [] { return false; });
    }
    if (stop.stop_requested()) break;
    pollAcks(client);
  }
}

void SplunkHecSink::runHealthcheck(HttpClient& client) {
  HttpRequest request;
  request.url = settings_.endpoint + std::string(kHealthPath);
  request.timeout = settings_.timeout;
  request.headers.add("Authorization", authorization());
  const auto started = Clock::now();
  HttpResult result = client.send(request);
  metrics_.httpRequest(result ? result->status : 0,
                       std::chrono::duration<double>(Clock::now() - started).count());
  std::string problem;
  if (!result) {
    problem =
        "HEC health check: cannot reach " + settings_.endpoint + ": " + result.error().message;
  } else {
    problem = describeHecHealth(result->status, result->body);
  }
  if (problem.empty()) {
    spdlog::info("sink {}: HEC health check passed ({})", settings_.sink_id, settings_.endpoint);
    return;
  }
  spdlog::warn("sink {}: {}", settings_.sink_id, problem);
  metrics_.error("healthcheck", "start");
  std::lock_guard lock(mutex_);
  if (!delivered_once_) health_problem_ = std::move(problem);
}

void SplunkHecSink::pollAcks(HttpClient& client) {
  std::string body = R"({"acks":[)";
  bool any = false;
  {
    std::lock_guard lock(mutex_);
    for (const PendingBatch& pending : pending_) {
      for (const AckWait& wait : pending.waits) {
        if (wait.acked || wait.reset) continue;
        if (any) body.push_back(',');
        body += std::to_string(wait.ack_id);
        any = true;
      }
    }
  }
  body += "]}";
  if (!any) {
    completeBatches(false, false);
    return;
  }

  std::string failure;
  HttpResult result = post(client, std::string(kAckPath), std::move(body), false);
  if (!result) {
    failure = "HEC ack request to " + settings_.endpoint + ": " + result.error().message;
  } else if (result->status == 200) {
    auto statuses = parseHecAckStatus(result->body);
    if (!statuses) {
      failure = statuses.error().message;
    } else {
      std::lock_guard lock(mutex_);
      for (const auto& [id, done] : *statuses) {
        if (!done) continue;
        for (PendingBatch& pending : pending_) {
          for (AckWait& wait : pending.waits) {
            if (!wait.acked && !wait.reset && wait.ack_id == id) wait.acked = true;
          }
        }
      }
    }
  } else {
    const auto reply = parseHecReply(result->body);
    if (reply && reply->code == 14) {
      // "ACK is disabled": the token does not acknowledge; 200 is all HEC will ever say.
      spdlog::warn(
          "sink {}: HEC answered code 14 (ACK is disabled) to an acknowledgement query; "
          "indexer_ack falls back to treating HTTP 200 as delivered",
          settings_.sink_id);
      {
        std::lock_guard lock(mutex_);
        ack_disabled_ = true;
      }
      completeBatches(true, true);
      return;
    }
    failure = "HEC ack request answered HTTP " + std::to_string(result->status) + ": " +
              bodyExcerpt(result->body, 120);
  }

  {
    std::lock_guard lock(mutex_);
    if (!failure.empty() && !poll_failing_) {
      spdlog::warn("sink {}: {}; unacknowledged requests are resent after ack_timeout_secs",
                   settings_.sink_id, failure);
    } else if (failure.empty() && poll_failing_) {
      spdlog::info("sink {}: acknowledgement queries work again", settings_.sink_id);
    }
    poll_failing_ = !failure.empty();
  }
  if (!failure.empty()) {
    metrics_.error(result ? "ack_query" : "connection", "ack");
  }
  completeBatches(false, false);
}

void SplunkHecSink::completeBatches(bool everything, bool ack_disabled) {
  std::vector<std::pair<SendCallback, SendOutcome>> finished;
  {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      const bool settled = std::all_of(it->waits.begin(), it->waits.end(),
                                       [](const AckWait& w) { return w.acked || w.reset; });
      if (!everything && !settled && now < it->deadline) {
        ++it;
        continue;
      }
      SendOutcome outcome = std::move(it->outcome);
      std::string why;
      for (const AckWait& wait : it->waits) {
        if (wait.acked || ack_disabled) continue;
        for (const std::size_t i : wait.indices) outcome.per_event[i] = Disposition::kRetry;
        if (!why.empty()) continue;
        if (wait.reset) {
          why = "HEC reissued ack id " + std::to_string(wait.ack_id) +
                " on this channel (restarted?), so the earlier request's acknowledgement is "
                "lost; resending (Splunk may index it twice)";
        } else if (stopped_) {
          why = "stopping before HEC acknowledged ack id " + std::to_string(wait.ack_id);
        } else {
          why = "HEC did not acknowledge ack id " + std::to_string(wait.ack_id) + " within " +
                fmt::format("ack_timeout_secs={:g}",
                            std::chrono::duration<double>(settings_.ack_timeout).count()) +
                "; resending (Splunk may index it twice)";
        }
      }
      if (!why.empty()) {
        if (outcome.error_type.empty()) {
          outcome.error_type = "ack_timeout";
          outcome.reason = std::move(why);
        } else {
          outcome.reason += "; " + why;
        }
      }
      finished.emplace_back(std::move(it->done), std::move(outcome));
      it = pending_.erase(it);
    }
    updatePendingGaugeLocked();
  }
  for (auto& [done, outcome] : finished) {
    normalize(outcome);
    done(std::move(outcome));
  }
}

void SplunkHecSink::updatePendingGaugeLocked() {
  std::size_t waiting = 0;
  for (const PendingBatch& pending : pending_) {
    for (const AckWait& wait : pending.waits) {
      if (!wait.acked && !wait.reset) ++waiting;
    }
  }
  pending_acks_.Set(static_cast<double>(waiting));
}

void SplunkHecSink::stop(std::chrono::steady_clock::time_point) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  if (background_.joinable()) {
    background_.request_stop();
    background_.join();
  }
  completeBatches(true, false);
}

std::string SplunkHecSink::healthProblem() const {
  std::lock_guard lock(mutex_);
  return health_problem_;
}

Result<std::unique_ptr<Sink>> createSplunkHecSink(const SinkConfig& config, SinkEnv& env) {
  const auto* o = dynamic_cast<const SplunkHecSinkOptions*>(config.options.get());
  if (o == nullptr || o->endpoint.empty()) return fail("endpoint is required");
  if (o->token.empty()) return fail("token or token_file is required");
  SplunkHecSettings s;
  s.sink_id = config.id;
  s.endpoint = o->endpoint;
  s.token = o->token;
  s.token_file = o->token_file;
  s.format.encoding = config.encoding;
  const std::pair<const std::string*, HecTemplate*> templates[] = {
      {&o->host, &s.format.host},
      {&o->source, &s.format.source},
      {&o->index, &s.format.index},
  };
  for (const auto& [text, target] : templates) {
    auto parsed = HecTemplate::parse(*text);
    if (!parsed) return fail(parsed.error().message);
    *target = std::move(*parsed);
  }
  auto sourcetype = HecTemplate::parse(
      o->sourcetype.empty() ? std::string(defaultHecSourcetype(config.encoding)) : o->sourcetype);
  if (!sourcetype) return fail(sourcetype.error().message);
  s.format.sourcetype = std::move(*sourcetype);
  for (const auto& [name, text] : o->fields) {
    auto parsed = HecTemplate::parse(text);
    if (!parsed) return fail("fields." + name + ": " + parsed.error().message);
    s.format.fields.emplace_back(name, std::move(*parsed));
  }
  s.gzip = o->compression == HecCompression::kGzip;
  s.gzip_level = o->compression_level;
  s.max_request_bytes = config.batch.max_bytes;
  s.max_event_bytes = o->max_event_bytes;
  s.indexer_ack = o->indexer_ack;
  s.ack_timeout = std::chrono::seconds(o->ack_timeout_secs);
  s.ack_poll_interval = std::chrono::milliseconds(o->ack_poll_interval_ms);
  s.timeout = std::chrono::seconds(o->timeout_secs);
  s.healthcheck = o->healthcheck;
  s.tls = o->tls;
  prometheus::Gauge& pending = env.metrics.extraGauge(
      "splunk_pending_acks",
      "HEC requests accepted by Splunk whose indexer acknowledgement is still awaited.");
  return std::unique_ptr<Sink>(std::make_unique<SplunkHecSink>(std::move(s), env.metrics, pending));
}

}  // namespace siem
