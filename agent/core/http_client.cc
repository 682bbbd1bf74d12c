#include "agent/core/http_client.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <optional>

namespace siem {
namespace {

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct SlistDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct UrlDeleter {
  void operator()(CURLU* url) const { curl_url_cleanup(url); }
};
struct CurlStringDeleter {
  void operator()(char* s) const { curl_free(s); }
};
using EasyPtr = std::unique_ptr<CURL, EasyDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;
using UrlPtr = std::unique_ptr<CURLU, UrlDeleter>;
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

// Room kept after a response body so JSON parsers that read past the end (simdjson reads up to
// 64 bytes ahead) can use it in place.
constexpr std::size_t kBodyPadding = 64;

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

enum class BodyCoding : std::uint8_t { kUndecided, kIdentity, kGzip, kUnsupported };

// The most gzip layers undone (curl's own decoder stopped at 5 codings).
constexpr int kMaxGzipLayers = 4;

// How many gzip layers the response's Content-Encoding fields (all of them, in order) put on the
// body: gzip (or its alias x-gzip) is decoded, identity ignored; -1 for any other coding, which a
// client asking only for gzip cannot read (as curl's own decoder treated it).
int gzipLayersOf(const HttpHeaders& headers) {
  int layers = 0;
  for (const auto& [name, value] : headers.all()) {
    if (!equalsIgnoreCase(name, "Content-Encoding")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string_view token = trim(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (token.empty() || equalsIgnoreCase(token, "identity")) continue;
      if (!equalsIgnoreCase(token, "gzip") && !equalsIgnoreCase(token, "x-gzip")) return -1;
      if (++layers > kMaxGzipLayers) return -1;
    }
  }
  return layers;
}

struct BodySink {
  std::string* body = nullptr;
  std::size_t max_bytes = 0;
  const HttpHeaders* headers = nullptr;  // non-null when gzip responses are to be decoded
  GzipInflater* inflater = nullptr;      // used when the body turns out to be gzip
  std::size_t decoded_size_hint = 0;
  BodyCoding coding = BodyCoding::kUndecided;
  int gzip_layers = 0;       // with kGzip; the outermost is decoded as the body arrives
  std::size_t received = 0;  // bytes as sent, before decoding
  bool too_large = false;
  std::optional<GunzipError> gunzip_error;
};

std::size_t onBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<BodySink*>(user);
  std::size_t n = size * count;
  if (sink->received + n > sink->max_bytes) {
    sink->too_large = true;
    return 0;  // makes curl abort the transfer with CURLE_WRITE_ERROR
  }
  sink->received += n;
  if (sink->coding == BodyCoding::kUndecided) {
    // The headers are complete once the body starts.
    sink->gzip_layers = sink->headers != nullptr ? gzipLayersOf(*sink->headers) : 0;
    sink->coding = sink->gzip_layers < 0    ? BodyCoding::kUnsupported
                   : sink->gzip_layers == 0 ? BodyCoding::kIdentity
                                            : BodyCoding::kGzip;
    if (sink->coding == BodyCoding::kUnsupported) return 0;
    if (sink->coding == BodyCoding::kGzip) {
      sink->inflater->start(*sink->body, sink->decoded_size_hint);
    }
  }
  if (sink->coding == BodyCoding::kGzip) {
    auto fed = sink->inflater->feed(std::string_view(data, n));
    if (!fed) {
      sink->gunzip_error = fed.error();
      return 0;
    }
    return n;
  }
  // Grow geometrically while always keeping kBodyPadding spare bytes after the content.
  std::string& body = *sink->body;
  if (body.capacity() < body.size() + n + kBodyPadding) {
    body.reserve(std::max(body.capacity() * 2, body.size() + n + kBodyPadding));
  }
  body.append(data, n);
  return n;
}

std::size_t onHeader(char* data, std::size_t size, std::size_t count, void* user) {
  auto* headers = static_cast<HttpHeaders*>(user);
  std::size_t n = size * count;
  std::string_view line(data, n);
  if (line.substr(0, 5) == "HTTP/") {
    headers->clear();  // a new response (after 100 Continue, or a proxy CONNECT) starts over
    return n;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string_view name = trim(line.substr(0, colon));
  if (!name.empty()) headers->add(std::string(name), std::string(trim(line.substr(colon + 1))));
  return n;
}

TransportErrorKind classify(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return TransportErrorKind::kTimeout;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PROXY:
      return TransportErrorKind::kConnection;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
      return TransportErrorKind::kTls;
    case CURLE_FILESIZE_EXCEEDED:
      return TransportErrorKind::kTooLarge;
    default:
      return TransportErrorKind::kOther;
  }
}

// Addresses the request to `server_name` (Host, SNI and certificate name) while connecting to the
// host of `url`. Returns the rewritten URL and the CURLOPT_CONNECT_TO entry.
Result<std::pair<std::string, std::string>> redirectToServerName(const std::string& url,
                                                                 const std::string& server_name) {
  UrlPtr u(curl_url());
  if (!u) return fail("out of memory");
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return fail("invalid URL");
  }
  char* host_raw = nullptr;
  char* port_raw = nullptr;
  if (curl_url_get(u.get(), CURLUPART_HOST, &host_raw, 0) != CURLUE_OK) {
    return fail("URL has no host");
  }
  CurlString host(host_raw);
  if (curl_url_get(u.get(), CURLUPART_PORT, &port_raw, CURLU_DEFAULT_PORT) != CURLUE_OK) {
    return fail("URL has no port");
  }
  CurlString port(port_raw);
  if (curl_url_set(u.get(), CURLUPART_HOST, server_name.c_str(), 0) != CURLUE_OK) {
    return fail("invalid tls.server_name");
  }
  char* rewritten_raw = nullptr;
  if (curl_url_get(u.get(), CURLUPART_URL, &rewritten_raw, 0) != CURLUE_OK) {
    return fail("cannot rebuild URL");
  }
  CurlString rewritten(rewritten_raw);
  return std::make_pair(
      std::string(rewritten.get()),
      fmt::format("{}:{}:{}:{}", server_name, port.get(), host.get(), port.get()));
}

}  // namespace

void HttpHeaders::add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

std::optional<std::string_view> HttpHeaders::get(std::string_view name) const {
  for (const auto& [n, v] : fields_) {
    if (equalsIgnoreCase(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view toString(TransportErrorKind kind) {
  switch (kind) {
    case TransportErrorKind::kTimeout:
      return "timeout";
    case TransportErrorKind::kConnection:
      return "connection";
    case TransportErrorKind::kTls:
      return "tls";
    case TransportErrorKind::kTooLarge:
      return "too_large";
    case TransportErrorKind::kOther:
      break;
  }
  return "other";
}

struct HttpClient::Handles {
  EasyPtr easy;
  char error_buffer[CURL_ERROR_SIZE] = {};
  std::string spare_body;                  // storage for the next response body (see recycle())
  std::unique_ptr<GzipInflater> inflater;  // made at the first gzip response
  std::size_t last_decoded_size = 0;       // sizes the next decoded body in one go
};

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)), handles_(std::make_unique<Handles>()) {
  handles_->easy.reset(curl_easy_init());
}

HttpClient::~HttpClient() = default;

HttpResult HttpClient::send(const HttpRequest& request) {
  CURL* easy = handles_->easy.get();
  if (easy == nullptr) {
    return tl::unexpected(TransportError{TransportErrorKind::kOther, "curl_easy_init failed"});
  }
  // Reset clears per-request options but keeps the connection cache, so keep-alive survives.
  curl_easy_reset(easy);
  handles_->error_buffer[0] = '\0';

  std::string url = request.url;
  SlistPtr connect_to;
  if (!options_.tls.server_name.empty()) {
    auto redirected = redirectToServerName(url, options_.tls.server_name);
    if (!redirected) {
      return tl::unexpected(TransportError{
          TransportErrorKind::kOther,
          fmt::format("cannot apply tls.server_name: {}", redirected.error().message)});
    }
    url = std::move(redirected->first);
    connect_to.reset(curl_slist_append(nullptr, redirected->second.c_str()));
    curl_easy_setopt(easy, CURLOPT_CONNECT_TO, connect_to.get());
  }

  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, handles_->error_buffer);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout.count()));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min(options_.connect_timeout, request.timeout).count()));
  curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                   static_cast<curl_off_t>(options_.max_response_bytes));

  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, options_.tls.verify ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, options_.tls.verify ? 2L : 0L);
  if (!options_.tls.ca_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_CAINFO, options_.tls.ca_file.c_str());
  }
  if (!options_.tls.cert_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, options_.tls.cert_file.c_str());
  }
  if (!options_.tls.key_file.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLKEY, options_.tls.key_file.c_str());
  }

  if (request.method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else if (request.method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else {
    if (request.method == "POST") {
      curl_easy_setopt(easy, CURLOPT_POST, 1L);
    } else {
      curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  }

  SlistPtr headers;
  bool has_user_agent = false;
  auto append = [&headers](const std::string& line) {
    curl_slist* next = curl_slist_append(headers.get(), line.c_str());
    if (next != nullptr) {
      (void)headers.release();
      headers.reset(next);
    }
    return next != nullptr;
  };
  bool has_accept_encoding = false;
  for (const auto& [name, value] : request.headers.all()) {
    if (equalsIgnoreCase(name, "User-Agent")) has_user_agent = true;
    if (equalsIgnoreCase(name, "Accept-Encoding")) has_accept_encoding = true;
    // "Name;" is curl's spelling of a header with an empty value.
    std::string line = name;
    if (value.empty()) {
      line.push_back(';');
    } else {
      line.append(": ").append(value);
    }
    if (!append(line)) {
      return tl::unexpected(TransportError{TransportErrorKind::kOther, "out of memory"});
    }
  }
  append("Expect:");  // no 100-continue round trip for request bodies
  // Decoded here rather than by curl: ISA-L inflates several times faster than zlib.
  if (options_.accept_gzip && !has_accept_encoding) append("Accept-Encoding: gzip");
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers.get());
  if (!has_user_agent && !options_.user_agent.empty()) {
    curl_easy_setopt(easy, CURLOPT_USERAGENT, options_.user_agent.c_str());
  }

  HttpResponse response;
  response.body = std::move(handles_->spare_body);
  response.body.clear();
  handles_->spare_body = std::string();
  BodySink sink;
  sink.body = &response.body;
  sink.max_bytes = options_.max_response_bytes;
  if (options_.accept_gzip) {
    if (!handles_->inflater) {
      handles_->inflater =
          std::make_unique<GzipInflater>(options_.max_response_bytes, kBodyPadding);
    }
    sink.headers = &response.headers;
    sink.inflater = handles_->inflater.get();
    // Pages are alike: the last one's size, with some slack, usually holds the next at once.
    sink.decoded_size_hint = handles_->last_decoded_size + handles_->last_decoded_size / 4;
  }
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &onBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, &onHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &response.headers);

  CURLcode code = curl_easy_perform(easy);
  // The lists above are freed on return; leave no dangling pointers in the reused handle.
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(easy, CURLOPT_CONNECT_TO, nullptr);
  if (sink.coding == BodyCoding::kGzip) {
    auto finished = sink.inflater->finish();
    if (!sink.gunzip_error && !finished && code == CURLE_OK) sink.gunzip_error = finished.error();
    // Inner layers (a server compressing an already compressed body) are rare: decoded whole.
    for (int layer = 1; layer < sink.gzip_layers && !sink.gunzip_error && code == CURLE_OK;
         ++layer) {
      GzipInflater inner(options_.max_response_bytes, kBodyPadding);
      std::string decoded;
      inner.start(decoded);
      auto fed = inner.feed(response.body);
      auto done = inner.finish();
      if (!fed) {
        sink.gunzip_error = fed.error();
      } else if (!done) {
        sink.gunzip_error = done.error();
      } else {
        response.body.swap(decoded);
      }
    }
    if (!sink.gunzip_error) handles_->last_decoded_size = response.body.size();
  }
  if (sink.gunzip_error == GunzipError::kTooLarge) {
    return tl::unexpected(TransportError{
        TransportErrorKind::kTooLarge,
        fmt::format("decoded response body larger than {} bytes", options_.max_response_bytes)});
  }
  if (sink.gunzip_error) {
    return tl::unexpected(TransportError{
        TransportErrorKind::kOther,
        fmt::format("gzip response body does not decode: {}", describe(*sink.gunzip_error))});
  }
  if (sink.coding == BodyCoding::kUnsupported) {
    return tl::unexpected(
        TransportError{TransportErrorKind::kOther, "response has an unsupported Content-Encoding"});
  }
  if (code != CURLE_OK) {
    TransportErrorKind kind = sink.too_large ? TransportErrorKind::kTooLarge : classify(code);
    std::string detail = handles_->error_buffer[0] != '\0' ? std::string(handles_->error_buffer)
                                                           : std::string(curl_easy_strerror(code));
    if (kind == TransportErrorKind::kTooLarge) {
      detail = fmt::format("response body larger than {} bytes", options_.max_response_bytes);
    }
    return tl::unexpected(TransportError{kind, std::move(detail)});
  }
  long status = 0;
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  return response;
}

void HttpClient::recycle(std::string&& body) {
  // Only a buffer worth keeping, and not one a huge response left behind.
  if (body.capacity() > handles_->spare_body.capacity() &&
      body.capacity() <= options_.max_response_bytes + kBodyPadding) {
    handles_->spare_body = std::move(body);
  }
}

CurlGlobal::CurlGlobal() : ok_(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK) {}

CurlGlobal::~CurlGlobal() {
  if (ok_) curl_global_cleanup();
}

std::optional<std::chrono::milliseconds> parseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::int64_t seconds = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (ec != std::errc() || end != value.data() + value.size()) {
      return std::chrono::milliseconds(std::chrono::hours(24));  // absurdly large: cap, not drop
    }
    return std::chrono::milliseconds(std::min<std::int64_t>(seconds, 86'400) * 1000);
  }
  // curl_getdate understands the three HTTP-date forms (IMF-fixdate, RFC 850, asctime).
  std::string copy(value);
  time_t when = curl_getdate(copy.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  auto delay = std::chrono::system_clock::from_time_t(when) - now;
  if (delay <= std::chrono::system_clock::duration::zero()) return std::chrono::milliseconds(0);
  return std::chrono::ceil<std::chrono::milliseconds>(delay);
}

std::optional<std::chrono::milliseconds> retryAfterFromHeaders(
    const HttpHeaders& headers, std::chrono::system_clock::time_point now) {
  if (auto ms = headers.get("retry-after-ms")) {
    std::string_view v = trim(*ms);
    double value = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), value);
    if (ec == std::errc() && end == v.data() + v.size() && value >= 0 && value < 86'400'000) {
      return std::chrono::milliseconds(static_cast<std::int64_t>(value));
    }
  }
  if (auto ra = headers.get("retry-after")) return parseRetryAfter(*ra, now);
  return std::nullopt;
}

}  // namespace siem
