// libcurl's global state is set up once for the whole unit-test binary, as main() does for the
// agent. curl_global_init is reference-counted, so other test files may do the same.
#include <gtest/gtest.h>

#include "agent/core/http_client.h"

namespace siem {
namespace {

class CurlGlobalEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { curl_ = std::make_unique<CurlGlobal>(); }
  void TearDown() override { curl_.reset(); }

 private:
  std::unique_ptr<CurlGlobal> curl_;
};

[[maybe_unused]] ::testing::Environment* const kCurlEnvironment =
    ::testing::AddGlobalTestEnvironment(new CurlGlobalEnvironment);

}  // namespace
}  // namespace siem
