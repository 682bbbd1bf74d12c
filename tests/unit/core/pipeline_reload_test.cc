#include <gtest/gtest.h>

#include <atomic>

#include "agent/core/pipeline.h"
#include "agent/observability/metrics.h"

namespace siem {
namespace {

// Counts reload() calls; never emits.
class ReloadCountingSource final : public Source {
 public:
  void run(std::stop_token, EventEmitter&) override {}
  void acknowledged(std::uint64_t) override {}
  void commit() override {}
  std::string notReadyReason() const override { return {}; }
  void reload() override { ++reloads; }
  std::atomic<int> reloads{0};
};

TEST(PipelineReloadTest, ForwardsReloadToEverySourceAndLabelsSourcesWithTheirOrganization) {
  Config config;
  config.data_dir = ::testing::TempDir() + "pipeline-reload-test";
  config.sources.push_back({"org_a", "counting", "org-aaa", nullptr, {}});
  config.sources.push_back({"org_b", "counting", "", nullptr, {}});
  Metrics metrics("test");
  ComponentRegistry registry;
  Pipeline pipeline(config, registry, metrics, [](const Event&, Encoding) { return ""; }, {});
  auto a = std::make_unique<ReloadCountingSource>();
  auto b = std::make_unique<ReloadCountingSource>();
  ReloadCountingSource* ra = a.get();
  ReloadCountingSource* rb = b.get();
  std::vector<std::unique_ptr<Source>> sources;
  sources.push_back(std::move(a));
  sources.push_back(std::move(b));
  ASSERT_TRUE(pipeline.build(std::move(sources), {}));

  pipeline.reload();
  pipeline.reload();
  EXPECT_EQ(ra->reloads.load(), 2);
  EXPECT_EQ(rb->reloads.load(), 2);

  const std::string text = metrics.serialize();
  EXPECT_NE(text.find(R"(component_id="org_a",component_kind="source",component_type="counting",)"
                      R"(organization_id="org-aaa")"),
            std::string::npos)
      << text;
  // No organization configured: no empty label.
  EXPECT_NE(text.find(R"(component_id="org_b",component_kind="source",component_type="counting"})"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace siem
