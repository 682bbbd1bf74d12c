#include "agent/core/http_status.h"

#include <gtest/gtest.h>

namespace siem {
namespace {

using std::chrono::milliseconds;

TEST(HttpStatusTest, ClassifiesEveryRange) {
  EXPECT_EQ(classifyHttpStatus(200), HttpStatusClass::kSuccess);
  EXPECT_EQ(classifyHttpStatus(202), HttpStatusClass::kSuccess);
  EXPECT_EQ(classifyHttpStatus(204), HttpStatusClass::kSuccess);
  for (int s : {408, 429, 500, 501, 502, 503, 504, 599}) {
    EXPECT_EQ(classifyHttpStatus(s), HttpStatusClass::kRetry) << s;
  }
  EXPECT_EQ(classifyHttpStatus(401), HttpStatusClass::kAuth);
  EXPECT_EQ(classifyHttpStatus(403), HttpStatusClass::kAuth);
  EXPECT_EQ(classifyHttpStatus(413), HttpStatusClass::kTooLarge);
  for (int s : {400, 409, 410, 422, 451}) {
    EXPECT_EQ(classifyHttpStatus(s), HttpStatusClass::kRejected) << s;
  }
  for (int s : {100, 301, 302, 307, 404, 405, 415, 600, 0, -1}) {
    EXPECT_EQ(classifyHttpStatus(s), HttpStatusClass::kUnexpected) << s;
  }
}

TEST(HttpStatusTest, ErrorTypesAreShortBoundedLabels) {
  EXPECT_EQ(httpErrorType(200), "");
  EXPECT_EQ(httpErrorType(408), "http_408");
  EXPECT_EQ(httpErrorType(429), "http_429");
  EXPECT_EQ(httpErrorType(503), "http_5xx");
  EXPECT_EQ(httpErrorType(401), "auth");
  EXPECT_EQ(httpErrorType(413), "too_large");
  EXPECT_EQ(httpErrorType(400), "http_4xx");
  EXPECT_EQ(httpErrorType(415), "http_415");
  EXPECT_EQ(httpErrorType(404), "http_404");
  EXPECT_EQ(httpErrorType(302), "http_unexpected");
}

TEST(HttpStatusTest, RetryableStatusesKeepTheServersDelay) {
  const SendOutcome o = outcomeForHttpStatus(429, "slow down", milliseconds(7000));
  EXPECT_EQ(o.disposition, Disposition::kRetry);
  EXPECT_EQ(o.retry_after, milliseconds(7000));
  EXPECT_EQ(o.error_type, "http_429");
  EXPECT_EQ(o.reason, "slow down");
  EXPECT_FALSE(o.unhealthy);
  EXPECT_FALSE(o.too_large);
}

TEST(HttpStatusTest, AuthAndConfigurationProblemsHoldDataAndAlert) {
  for (int s : {401, 403, 404, 415, 302}) {
    const SendOutcome o = outcomeForHttpStatus(s, "x", std::nullopt);
    EXPECT_EQ(o.disposition, Disposition::kRetry) << s;
    EXPECT_TRUE(o.unhealthy) << s;
  }
}

TEST(HttpStatusTest, TooLargeAndRejected) {
  const SendOutcome big = outcomeForHttpStatus(413, "big", std::nullopt);
  EXPECT_TRUE(big.too_large);
  EXPECT_EQ(big.error_type, "too_large");
  const SendOutcome bad = outcomeForHttpStatus(400, "bad", std::nullopt);
  EXPECT_EQ(bad.disposition, Disposition::kRejected);
  EXPECT_EQ(bad.error_type, "http_4xx");
  EXPECT_EQ(outcomeForHttpStatus(200, "", std::nullopt).disposition, Disposition::kDelivered);
}

TEST(HttpStatusTest, ReadsRetryAfterFromTheResponse) {
  HttpResponse response;
  response.status = 503;
  response.headers.add("Retry-After", "12");
  const SendOutcome o = outcomeForHttpResponse(response, "busy", std::chrono::system_clock::now());
  EXPECT_EQ(o.retry_after, milliseconds(12'000));
  EXPECT_EQ(o.error_type, "http_5xx");
}

TEST(HttpStatusTest, TransportErrors) {
  const SendOutcome timeout =
      outcomeForTransportError({TransportErrorKind::kTimeout, "timed out"}, "HEC request");
  EXPECT_EQ(timeout.disposition, Disposition::kRetry);
  EXPECT_EQ(timeout.error_type, "timeout");
  EXPECT_EQ(timeout.reason, "HEC request: timed out");
  EXPECT_FALSE(timeout.unhealthy);
  EXPECT_EQ(outcomeForTransportError({TransportErrorKind::kConnection, "refused"}, "c").error_type,
            "connection");
  const SendOutcome tls =
      outcomeForTransportError({TransportErrorKind::kTls, "unknown CA"}, "HEC request");
  EXPECT_EQ(tls.error_type, "tls");
  EXPECT_TRUE(tls.unhealthy);
  EXPECT_EQ(outcomeForTransportError({TransportErrorKind::kOther, "?"}, "c").error_type, "http");
}

TEST(HttpStatusTest, BodyExcerptIsOneLineAndCutOnACharacter) {
  EXPECT_EQ(bodyExcerpt("a\nb\tc\r\n"), "a b c");
  EXPECT_EQ(bodyExcerpt("abcdef", 3), "abc...");
  // "é" is two bytes; a cut inside it backs up to before it.
  EXPECT_EQ(bodyExcerpt("ab\xC3\xA9z", 3), "ab...");
  EXPECT_EQ(bodyExcerpt(""), "");
}

}  // namespace
}  // namespace siem
