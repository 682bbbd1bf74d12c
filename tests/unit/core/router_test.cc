#include "agent/core/router.h"

#include <gtest/gtest.h>

namespace siem {
namespace {

TEST(GlobTest, Matches) {
  EXPECT_TRUE(globMatch("login.*", "login.failed"));
  EXPECT_TRUE(globMatch("*.failed", "logout.failed"));
  EXPECT_TRUE(globMatch("*", ""));
  EXPECT_TRUE(globMatch("tenant.*.created", "tenant.group.member.created"));
  EXPECT_TRUE(globMatch("a?c", "abc"));
  EXPECT_FALSE(globMatch("a?c", "ac"));
  EXPECT_FALSE(globMatch("login.*", "logout.failed"));
  EXPECT_FALSE(globMatch("*@example.com", "mallory@example.org"));
  EXPECT_TRUE(globMatch("*@example.com", "alice@example.com"));
}

Event makeEvent(std::string type, Outcome outcome, std::string email = "", std::string project = "",
                std::string actor_type = "session") {
  Event e;
  e.type = std::move(type);
  e.outcome = outcome;
  e.actor_email = std::move(email);
  e.project_id = std::move(project);
  e.actor_type = std::move(actor_type);
  return e;
}

RouteConfig route(std::string name, std::vector<std::string> from, std::vector<std::string> to,
                  RouteCondition when = {}) {
  RouteConfig r;
  r.name = std::move(name);
  r.from = std::move(from);
  r.to = std::move(to);
  r.when = std::move(when);
  return r;
}

TEST(RouterTest, DesignExample) {
  RouteCondition auth;
  auth.type_globs = {"login.failed", "logout.failed"};
  auth.outcome = "failure";
  Router router({route("auth-failures", {"openai_prod"}, {"splunk", "qradar"}, auth),
                 route("everything", {"*"}, {"kafka", "archive"})},
                {"openai_prod", "other"}, {"splunk", "kafka", "qradar", "archive"});
  std::vector<std::uint32_t> out;
  router.match(0, makeEvent("login.failed", Outcome::kFailure), out);
  EXPECT_EQ(out, (std::vector<std::uint32_t>{0, 1, 2, 3}));
  router.match(0, makeEvent("login.succeeded", Outcome::kSuccess), out);
  EXPECT_EQ(out, (std::vector<std::uint32_t>{1, 3}));
  router.match(1, makeEvent("login.failed", Outcome::kFailure), out);
  EXPECT_EQ(out, (std::vector<std::uint32_t>{1, 3}));
}

TEST(RouterTest, EveryConditionMustHoldAndNoMatchMeansNoSink) {
  RouteCondition when;
  when.actor_email_globs = {"*@corp.example"};
  when.project_ids = {"proj_a"};
  when.actor_types = {"api_key"};
  Router router({route("r", {"s"}, {"k"}, when)}, {"s"}, {"k"});
  std::vector<std::uint32_t> out;
  router.match(0, makeEvent("x", Outcome::kSuccess, "bob@corp.example", "proj_a", "api_key"), out);
  EXPECT_EQ(out.size(), 1u);
  router.match(0, makeEvent("x", Outcome::kSuccess, "bob@corp.example", "proj_b", "api_key"), out);
  EXPECT_TRUE(out.empty());
  router.match(0, makeEvent("x", Outcome::kSuccess, "bob@corp.example", "proj_a", "session"), out);
  EXPECT_TRUE(out.empty());
  router.match(0, makeEvent("x", Outcome::kSuccess, "bob@else.example", "proj_a", "api_key"), out);
  EXPECT_TRUE(out.empty());
}

TEST(RouterTest, SinkInTwoMatchingRoutesGetsTheEventOnce) {
  Router router({route("a", {"*"}, {"k"}), route("b", {"s"}, {"k"})}, {"s"}, {"k"});
  std::vector<std::uint32_t> out;
  router.match(0, makeEvent("x", Outcome::kSuccess), out);
  EXPECT_EQ(out, (std::vector<std::uint32_t>{0}));
}

}  // namespace
}  // namespace siem
