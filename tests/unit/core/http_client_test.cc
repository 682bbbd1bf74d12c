#include "agent/core/http_client.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

namespace siem {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Runs an httplib server on a free loopback port for the life of the object.
template <typename ServerT = httplib::Server>
class LoopbackServer {
 public:
  template <typename... Args>
  explicit LoopbackServer(Args&&... args) : server_(std::forward<Args>(args)...) {}
  ~LoopbackServer() { stop(); }

  ServerT& server() { return server_; }
  // Binds (the socket is listening once this returns) and serves on a thread.
  int start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    return port_;
  }
  void stop() {
    if (!thread_.joinable()) return;
    // stop() is a no-op until the accept loop runs; wait (bounded) for it to start.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!server_.is_running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  ServerT server_;
  std::thread thread_;
  int port_ = 0;
};

HttpClientOptions optionsWith(const std::function<void(HttpClientOptions&)>& edit) {
  HttpClientOptions o;
  edit(o);
  return o;
}

TlsConfig tlsWith(const std::function<void(TlsConfig&)>& edit) {
  TlsConfig t;
  edit(t);
  return t;
}

TEST(HttpHeadersTest, LookupIgnoresCase) {
  HttpHeaders h;
  h.add("Retry-After", "3");
  h.add("X-Request-Id", "req_1");
  h.add("x-request-id", "req_2");
  EXPECT_EQ(h.get("retry-after").value(), "3");
  EXPECT_EQ(h.get("X-REQUEST-ID").value(), "req_1");
  EXPECT_FALSE(h.get("retry-after-ms"));
}

TEST(HttpClientTest, SendsHeadersAndReadsStatusHeadersBody) {
  LoopbackServer srv;
  std::string seen_auth, seen_accept_encoding, seen_agent, seen_method;
  srv.server().Get("/v1/thing", [&](const httplib::Request& req, httplib::Response& res) {
    seen_auth = req.get_header_value("Authorization");
    seen_accept_encoding = req.get_header_value("Accept-Encoding");
    seen_agent = req.get_header_value("User-Agent");
    res.status = 418;
    res.set_header("X-Request-Id", "req_42");
    res.set_content(R"({"ok":true})", "application/json");
  });
  int port = srv.start();

  HttpClient client(optionsWith([](auto& o) { o.user_agent = "siem-agent/test"; }));
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/v1/thing";
  req.headers.add("Authorization", "Bearer secret-value");
  auto res = client.send(req);
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 418);
  EXPECT_EQ(res->body, R"({"ok":true})");
  EXPECT_EQ(res->headers.get("x-request-id").value(), "req_42");
  EXPECT_GE(res->body.capacity(), res->body.size() + 64);
  EXPECT_EQ(seen_auth, "Bearer secret-value");
  EXPECT_NE(seen_accept_encoding.find("gzip"), std::string::npos);
  EXPECT_EQ(seen_agent, "siem-agent/test");
}

TEST(HttpClientTest, DecodesGzipResponsesAndSendsGzipBodies) {
  LoopbackServer srv;
  std::string received;
  std::string big(50'000, 'x');
  srv.server().Post("/in", [&](const httplib::Request& req, httplib::Response& res) {
    // httplib undoes Content-Encoding: gzip on request bodies before the handler sees them.
    received = req.body;
    res.set_header("Content-Encoding", "gzip");
    // cpp-httplib gzips a text/plain body once more (the client sent Accept-Encoding: gzip), so
    // this body arrives with two gzip layers.
    res.set_content(gzipCompress(big).value(), "text/plain");
  });
  int port = srv.start();

  HttpClient client(HttpClientOptions{});
  HttpRequest req;
  req.method = "POST";
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/in";
  req.headers.add("Content-Encoding", "gzip");
  req.headers.add("Content-Type", "application/json");
  req.body = gzipCompress(R"([{"a":1}])").value();
  auto res = client.send(req);
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, big);
  EXPECT_EQ(received, R"([{"a":1}])");
}

// Serves `/page` with a fixed body and Content-Encoding, as the OpenAI API does for gzip pages.
class GzipResponseTest : public ::testing::Test {
 protected:
  void serve(std::string body, std::string encoding) {
    srv_.server().Get("/page", [this, body = std::move(body), encoding = std::move(encoding)](
                                   const httplib::Request& req, httplib::Response& res) {
      {
        std::lock_guard lock(mutex_);
        accept_encoding_.push_back(req.get_header_value("Accept-Encoding"));
      }
      if (!encoding.empty()) res.set_header("Content-Encoding", encoding);
      // httplib compresses "application/json" again itself; with a parameter it leaves it alone.
      res.set_content(body, "application/json; charset=utf-8");
    });
    port_ = srv_.start();
  }
  HttpResult get(HttpClient& client) {
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(port_) + "/page";
    return client.send(req);
  }
  std::vector<std::string> acceptEncodings() {
    std::lock_guard lock(mutex_);
    return accept_encoding_;
  }

  LoopbackServer<> srv_;
  int port_ = 0;
  std::mutex mutex_;  // guards accept_encoding_ (written on the server's thread)
  std::vector<std::string> accept_encoding_;
};

std::string pageJson() {
  std::string page = R"({"object":"list","data":[)";
  for (int i = 0; i < 2'000; ++i) {
    if (i > 0) page += ',';
    page += R"({"id":"audit_log-)" + std::to_string(i) + R"(","type":"api_key.created"})";
  }
  return page + R"(],"has_more":false})";
}

TEST_F(GzipResponseTest, GzipPageIsDecodedWithRoomForTheJsonParser) {
  const std::string page = pageJson();
  serve(gzipCompress(page, 1).value(), "gzip");
  HttpClient client(HttpClientOptions{});
  for (int i = 0; i < 3; ++i) {  // the later ones decode into recycled storage
    auto res = get(client);
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, page);
    EXPECT_GE(res->body.capacity(), res->body.size() + 64);
    if (i > 0) client.recycle(std::move(res->body));
  }
  for (const auto& sent : acceptEncodings()) EXPECT_EQ(sent, "gzip");
}

TEST_F(GzipResponseTest, XGzipAndIdentityListsAreDecodedToo) {
  const std::string page = pageJson();
  serve(gzipCompress(page, 6).value(), "identity, X-GZIP");
  HttpClient client(HttpClientOptions{});
  auto res = get(client);
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->body, page);
}

TEST_F(GzipResponseTest, GzipOfGzipIsDecodedTwice) {
  const std::string page = pageJson();
  serve(gzipCompress(gzipCompress(page, 1).value(), 6).value(), "gzip, gzip");
  HttpClient client(HttpClientOptions{});
  auto res = get(client);
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->body, page);
  EXPECT_GE(res->body.capacity(), res->body.size() + 64);
}

TEST_F(GzipResponseTest, CorruptGzipBodyIsAnError) {
  std::string corrupt = gzipCompress(pageJson(), 1).value();
  corrupt[corrupt.size() - 6] ^= 0x40;  // CRC mismatch: all data arrives, the check fails
  serve(corrupt, "gzip");
  HttpClient client(HttpClientOptions{});
  auto res = get(client);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, TransportErrorKind::kOther);
  EXPECT_EQ(res.error().message, "gzip response body does not decode: invalid gzip data");
  // The client is still usable: the same corrupt page fails the same way.
  auto again = get(client);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, TransportErrorKind::kOther);
}

TEST_F(GzipResponseTest, TruncatedGzipBodyIsAnError) {
  const std::string packed = gzipCompress(pageJson(), 1).value();
  serve(packed.substr(0, packed.size() - 5), "gzip");  // a complete HTTP body, a cut gzip member
  HttpClient client(HttpClientOptions{});
  auto res = get(client);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, TransportErrorKind::kOther);
  EXPECT_EQ(res.error().message, "gzip response body does not decode: truncated gzip data");
}

TEST_F(GzipResponseTest, NotGzipAtAllIsAnError) {
  serve(pageJson(), "gzip");
  HttpClient client(HttpClientOptions{});
  auto res = get(client);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().message, "gzip response body does not decode: invalid gzip data");
}

TEST_F(GzipResponseTest, DecodedBodyLargerThanTheCapIsTooLarge) {
  const std::string zeros(200'000, '0');
  serve(gzipCompress(zeros, 1).value(), "gzip");  // a few hundred bytes on the wire
  HttpClient client(optionsWith([](auto& o) { o.max_response_bytes = 100'000; }));
  auto res = get(client);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, TransportErrorKind::kTooLarge) << res.error().message;
}

TEST_F(GzipResponseTest, UnknownContentEncodingIsAnError) {
  serve("compressed with something else", "br");
  HttpClient client(HttpClientOptions{});
  auto res = get(client);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, TransportErrorKind::kOther);
  EXPECT_EQ(res.error().message, "response has an unsupported Content-Encoding");
}

TEST_F(GzipResponseTest, WithoutAcceptGzipTheBodyIsReturnedAsSent) {
  const std::string packed = gzipCompress(pageJson(), 1).value();
  serve(packed, "gzip");
  HttpClient client(optionsWith([](auto& o) { o.accept_gzip = false; }));
  auto res = get(client);
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->body, packed);
  EXPECT_EQ(res->headers.get("content-encoding").value(), "gzip");
  ASSERT_EQ(acceptEncodings().size(), 1u);
  EXPECT_EQ(acceptEncodings()[0], "");
}

TEST(HttpClientTest, ReusesTheConnection) {
  LoopbackServer srv;
  std::vector<int> remote_ports;
  std::mutex mutex;
  srv.server().Get("/", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard lock(mutex);
    remote_ports.push_back(req.remote_port);
    res.set_content("ok", "text/plain");
  });
  int port = srv.start();
  HttpClient client(HttpClientOptions{});
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client.send(req));
  std::lock_guard lock(mutex);
  ASSERT_EQ(remote_ports.size(), 3u);
  EXPECT_EQ(remote_ports[0], remote_ports[1]);
  EXPECT_EQ(remote_ports[1], remote_ports[2]);
}

TEST(HttpClientTest, RecycledBodyStorageHoldsTheNextResponseOnly) {
  LoopbackServer srv;
  int n = 0;
  srv.server().Get("/", [&](const httplib::Request&, httplib::Response& res) {
    ++n;
    res.set_content(n == 1 ? std::string(200'000, 'a') : std::string("short"), "text/plain");
  });
  HttpClient client(HttpClientOptions{});
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(srv.start()) + "/";
  auto first = client.send(req);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->body.size(), 200'000u);
  const std::size_t capacity = first->body.capacity();
  client.recycle(std::move(first->body));
  auto second = client.send(req);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->body, "short");  // nothing of the recycled bytes leaks in
  EXPECT_EQ(second->body.capacity(), capacity);
  // Without a recycled buffer the next body gets storage of its own.
  auto third = client.send(req);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->body, "short");
  EXPECT_LT(third->body.capacity(), capacity);
}

TEST(HttpClientTest, ResponseLargerThanTheCapIsAnError) {
  LoopbackServer srv;
  srv.server().Get("/big", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(10'000, 'y'), "text/plain");
  });
  srv.server().Get("/chunked", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t, httplib::DataSink& sink) {
      std::string chunk(4'000, 'z');
      for (int i = 0; i < 3; ++i) sink.write(chunk.data(), chunk.size());
      sink.done();
      return true;
    });
  });
  int port = srv.start();
  HttpClient client(optionsWith([](auto& o) {
    o.max_response_bytes = 5'000;
    o.accept_gzip = false;
  }));
  for (const char* path : {"/big", "/chunked"}) {
    HttpRequest req;
    req.url = "http://127.0.0.1:" + std::to_string(port) + path;
    auto res = client.send(req);
    ASSERT_FALSE(res) << path;
    EXPECT_EQ(res.error().kind, TransportErrorKind::kTooLarge)
        << path << ": " << res.error().message;
  }
}

TEST(HttpClientTest, RefusedConnectionIsAConnectionErrorWithoutSecrets) {
  int port = 0;
  {
    LoopbackServer srv;
    port = srv.start();
  }  // closed again: nothing listens on `port` now
  HttpClient client(HttpClientOptions{});
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  req.headers.add("Authorization", "Bearer sk-admin-TOPSECRET");
  auto res = client.send(req);
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, TransportErrorKind::kConnection) << res.error().message;
  EXPECT_EQ(res.error().message.find("TOPSECRET"), std::string::npos);
  EXPECT_EQ(toString(res.error().kind), "connection");
}

TEST(HttpClientTest, SlowServerIsATimeout) {
  LoopbackServer srv;
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  srv.server().Get("/slow", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 10s, [&] { return release; });
    res.set_content("late", "text/plain");
  });
  int port = srv.start();
  HttpClient client(HttpClientOptions{});
  HttpRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(port) + "/slow";
  req.timeout = 200ms;
  auto res = client.send(req);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, TransportErrorKind::kTimeout) << res.error().message;
}

// A self-signed certificate for DNS name "siem.test" (no IP), written as PEM files.
struct TestCertificate {
  fs::path dir;
  fs::path cert;
  fs::path key;
};

TestCertificate makeCertificate() {
  TestCertificate out;
  out.dir = fs::temp_directory_path() / ("siem-http-tls-" + std::to_string(::getpid()));
  fs::create_directories(out.dir);
  out.cert = out.dir / "cert.pem";
  out.key = out.dir / "key.pem";

  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  X509* x509 = X509_new();
  X509_set_version(x509, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
  X509_gmtime_adj(X509_getm_notBefore(x509), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x509), 3600L * 24);
  X509_set_pubkey(x509, pkey);
  X509_NAME* name = X509_get_subject_name(x509);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("siem.test"), -1, -1, 0);
  X509_set_issuer_name(x509, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x509, x509, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:siem.test"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x509, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x509, pkey, EVP_sha256());
  FILE* f = std::fopen(out.cert.c_str(), "w");
  PEM_write_X509(f, x509);
  std::fclose(f);
  f = std::fopen(out.key.c_str(), "w");
  PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x509);
  EVP_PKEY_free(pkey);
  return out;
}

class HttpClientTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = makeCertificate();
    srv_ =
        std::make_unique<LoopbackServer<httplib::SSLServer>>(cert_.cert.c_str(), cert_.key.c_str());
    ASSERT_TRUE(srv_->server().is_valid());
    srv_->server().Get("/", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      host_header_ = req.get_header_value("Host");
      res.set_content("secure", "text/plain");
    });
    srv_->start();
  }
  void TearDown() override {
    srv_.reset();
    fs::remove_all(cert_.dir);
  }
  HttpResult get(TlsConfig tls) {
    HttpClient client(optionsWith([&](auto& o) { o.tls = tls; }));
    HttpRequest req;
    req.url = "https://127.0.0.1:" + std::to_string(srv_->port()) + "/";
    return client.send(req);
  }

  TestCertificate cert_;
  std::unique_ptr<LoopbackServer<httplib::SSLServer>> srv_;
  std::mutex mutex_;  // guards host_header_
  std::string host_header_;
};

TEST_F(HttpClientTlsTest, UnknownIssuerIsATlsError) {
  auto res = get(TlsConfig{});
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, TransportErrorKind::kTls) << res.error().message;
}

TEST_F(HttpClientTlsTest, TrustedCaButWrongNameIsATlsError) {
  auto res = get(tlsWith([&](auto& t) { t.ca_file = cert_.cert.string(); }));
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().kind, TransportErrorKind::kTls) << res.error().message;
}

TEST_F(HttpClientTlsTest, ServerNameSelectsTheNameToVerify) {
  auto res = get(tlsWith([&](auto& t) {
    t.ca_file = cert_.cert.string();
    t.server_name = "siem.test";
  }));
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->body, "secure");
  std::lock_guard lock(mutex_);
  EXPECT_EQ(host_header_.substr(0, 9), "siem.test");
}

TEST_F(HttpClientTlsTest, VerifyOffAcceptsAnyCertificate) {
  auto res = get(tlsWith([](auto& t) { t.verify = false; }));
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->body, "secure");
}

TEST(RetryAfterTest, SecondsAndHttpDates) {
  const auto now = std::chrono::system_clock::from_time_t(1'793'491'200);  // Sun, 01 Nov 2026
  EXPECT_EQ(parseRetryAfter("7", now), 7000ms);
  EXPECT_EQ(parseRetryAfter(" 0 ", now), 0ms);
  EXPECT_EQ(parseRetryAfter("Sun, 01 Nov 2026 00:00:30 GMT", now), 30'000ms);
  EXPECT_EQ(parseRetryAfter("Sunday, 01-Nov-26 00:01:00 GMT", now), 60'000ms);
  EXPECT_EQ(parseRetryAfter("Sun Nov  1 00:00:05 2026", now), 5'000ms);
  EXPECT_EQ(parseRetryAfter("Sat, 31 Oct 2026 23:00:00 GMT", now), 0ms);  // in the past
  EXPECT_FALSE(parseRetryAfter("", now));
  EXPECT_FALSE(parseRetryAfter("soon", now));
  EXPECT_FALSE(parseRetryAfter("-3", now));
  EXPECT_EQ(parseRetryAfter("99999999999999999999999", now), std::chrono::milliseconds(24h));
}

TEST(RetryAfterTest, OpenAiMillisecondsHeaderWins) {
  const auto now = std::chrono::system_clock::from_time_t(1'793'491'200);
  HttpHeaders both;
  both.add("Retry-After", "3");
  both.add("retry-after-ms", "250");
  EXPECT_EQ(retryAfterFromHeaders(both, now), 250ms);
  HttpHeaders seconds_only;
  seconds_only.add("retry-after", "3");
  EXPECT_EQ(retryAfterFromHeaders(seconds_only, now), 3000ms);
  HttpHeaders bad_ms;
  bad_ms.add("retry-after-ms", "abc");
  bad_ms.add("Retry-After", "2");
  EXPECT_EQ(retryAfterFromHeaders(bad_ms, now), 2000ms);
  EXPECT_FALSE(retryAfterFromHeaders(HttpHeaders{}, now));
}

}  // namespace
}  // namespace siem
