// The Kafka sink's pure parts: templates, the OCSF class_uid scanner, topic names, records.
#include "sinks/kafka/encoder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace siem {
namespace {

using ::testing::HasSubstr;

const SourceInfo kSource{"openai_prod", "openai_audit_logs", "org-123", 0};

Event sampleEvent() {
  Event e;
  e.id = "audit_log-abc";
  e.type = "api_key.created";
  e.outcome = Outcome::kSuccess;
  e.actor_type = "session";
  e.project_id = "proj_1";
  e.raw = R"({"id":"audit_log-abc","type":"api_key.created"})";
  e.rendered[static_cast<std::size_t>(Encoding::kOcsf)] =
      R"({"metadata":{"uid":"audit_log-abc","class_uid":1},"class_uid":3004,"x":1})";
  e.source = &kSource;
  return e;
}

std::string render(std::string_view text, const Event& e, Encoding encoding = Encoding::kOcsf) {
  auto t = FieldTemplate::parse(text);
  EXPECT_TRUE(t.has_value()) << (t ? "" : t.error().message);
  std::string out;
  if (t) t->render(e, encoding, out);
  return out;
}

TEST(KafkaTemplateTest, RendersEveryField) {
  const Event e = sampleEvent();
  EXPECT_EQ(render("{id}", e), "audit_log-abc");
  EXPECT_EQ(render("{type}", e), "api_key.created");
  EXPECT_EQ(render("{family}/{verb}", e), "api_key/created");
  EXPECT_EQ(render("{outcome}", e), "success");
  EXPECT_EQ(render("{actor_type}", e), "session");
  EXPECT_EQ(render("{project_id}", e), "proj_1");
  EXPECT_EQ(render("{source_id}|{source_type}|{organization_id}", e),
            "openai_prod|openai_audit_logs|org-123");
  EXPECT_EQ(render("{encoding}", e, Encoding::kEcs), "ecs");
  EXPECT_EQ(render("ocsf.{class_uid}", e), "ocsf.3004");
}

TEST(KafkaTemplateTest, FallbackOnlyWhenEmpty) {
  Event e = sampleEvent();
  EXPECT_EQ(render("p.{project_id:-none}", e), "p.proj_1");
  e.project_id.clear();
  EXPECT_EQ(render("p.{project_id:-none}", e), "p.none");
  EXPECT_EQ(render("p.{project_id}", e), "p.");
  e.type = "login";  // no dot: its own family and verb
  EXPECT_EQ(render("{family}.{verb}", e), "login.login");
}

TEST(KafkaTemplateTest, BracesAndConstants) {
  const Event e = sampleEvent();
  EXPECT_EQ(render("{{literal}} {id}", e), "{literal} audit_log-abc");
  auto t = FieldTemplate::parse("security.openai.audit");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->isConstant());
  EXPECT_EQ(t->constantText(), "security.openai.audit");
  auto f = FieldTemplate::parse("a.{type}");
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->isConstant());
  EXPECT_TRUE(f->usesField(TemplateField::kType));
  EXPECT_FALSE(f->usesField(TemplateField::kClassUid));
}

TEST(KafkaTemplateTest, ParseErrorsNameTheProblem) {
  auto unknown = FieldTemplate::parse("x.{tpye}");
  ASSERT_FALSE(unknown);
  EXPECT_THAT(unknown.error().message, HasSubstr("unknown field \"tpye\" at position 2"));
  EXPECT_THAT(unknown.error().message, HasSubstr("type"));
  auto open = FieldTemplate::parse("x.{type");
  ASSERT_FALSE(open);
  EXPECT_THAT(open.error().message, HasSubstr("unterminated"));
  auto close = FieldTemplate::parse("x}");
  ASSERT_FALSE(close);
  EXPECT_THAT(close.error().message, HasSubstr("unmatched \"}\""));
}

TEST(KafkaTemplateTest, ClassUidOnlyAtTopLevel) {
  EXPECT_EQ(topLevelClassUid(R"({"class_uid":3002})"), 3002);
  EXPECT_EQ(topLevelClassUid(R"( { "a" : {"class_uid": 1}, "b":[{"class_uid":2}],
      "s":"\"class_uid\":5", "class_uid" : 3005 } )"),
            3005);
  EXPECT_EQ(topLevelClassUid(R"({"unmapped":{"class_uid":9},"n":null,"t":true})"), std::nullopt);
  EXPECT_EQ(topLevelClassUid(R"({"class_uid":"3002"})"), std::nullopt);
  EXPECT_EQ(topLevelClassUid(""), std::nullopt);
  EXPECT_EQ(topLevelClassUid("[1]"), std::nullopt);
  EXPECT_EQ(topLevelClassUid(R"({"a":"unterminated)"), std::nullopt);
}

TEST(KafkaTemplateTest, TopicNames) {
  EXPECT_TRUE(isValidTopicName("security.openai-audit_1"));
  EXPECT_FALSE(isValidTopicName(""));
  EXPECT_FALSE(isValidTopicName("."));
  EXPECT_FALSE(isValidTopicName(".."));
  EXPECT_FALSE(isValidTopicName("a b"));
  EXPECT_FALSE(isValidTopicName(std::string(250, 'a')));
  EXPECT_TRUE(isValidTopicName(std::string(249, 'a')));
  std::string name = "audit/" + std::string(300, 'x') + "é";
  sanitizeTopicName(name);
  EXPECT_EQ(name.size(), 249u);
  EXPECT_EQ(name.substr(0, 6), "audit_");
  EXPECT_TRUE(isValidTopicName(name));
}

TEST(KafkaRecordEncoderTest, DefaultRecordPointsIntoTheEvent) {
  const Event e = sampleEvent();
  KafkaRecordEncoder encoder(*FieldTemplate::parse("audit.{family}"),
                             FieldTemplate::parse("{id}").value(), true, Encoding::kOcsf);
  KafkaRecord r;
  encoder.encode(e, r);
  EXPECT_EQ(r.topic, "audit.api_key");
  ASSERT_TRUE(r.has_key);
  EXPECT_EQ(r.key, "audit_log-abc");
  EXPECT_EQ(r.value.data(), e.encoded(Encoding::kOcsf).data());  // no copy
  EXPECT_EQ(r.value.size(), e.encoded(Encoding::kOcsf).size());
  ASSERT_EQ(r.headers.size(), 3u);
  EXPECT_EQ(r.headers[0].name, "event_type");
  EXPECT_EQ(r.headers[0].value, "api_key.created");
  EXPECT_EQ(r.headers[1].name, "source_id");
  EXPECT_EQ(r.headers[1].value, "openai_prod");
  EXPECT_EQ(r.headers[2].name, "encoding");
  EXPECT_EQ(r.headers[2].value, "ocsf");
}

TEST(KafkaRecordEncoderTest, NoKeyNoHeadersRawAndSanitizedTopic) {
  Event e = sampleEvent();
  e.type = "weird type/with:chars";
  KafkaRecordEncoder encoder(*FieldTemplate::parse("t.{type}"), std::nullopt, false,
                             Encoding::kRaw);
  KafkaRecord r;
  r.key = "stale";
  encoder.encode(e, r);
  EXPECT_EQ(r.topic, "t.weird_type_with_chars");
  EXPECT_FALSE(r.has_key);
  EXPECT_TRUE(r.key.empty());
  EXPECT_TRUE(r.headers.empty());
  EXPECT_EQ(r.value, e.raw);
}

TEST(KafkaRecordEncoderTest, EmptyRenderedTopicIsLeftEmpty) {
  Event e = sampleEvent();
  e.project_id.clear();
  KafkaRecordEncoder encoder(*FieldTemplate::parse("{project_id}"), std::nullopt, true,
                             Encoding::kRaw);
  KafkaRecord r;
  encoder.encode(e, r);
  EXPECT_TRUE(r.topic.empty());
  EXPECT_FALSE(isValidTopicName(r.topic));
}

TEST(KafkaRecordEncoderTest, ConstantTopicIsSanitizedOnceAndBodyLeavesTheTopicAlone) {
  const Event e = sampleEvent();
  KafkaRecordEncoder constant(*FieldTemplate::parse("audit logs/{{x}}"), std::nullopt, true,
                              Encoding::kRaw);
  ASSERT_NE(constant.constantTopic(), nullptr);
  EXPECT_EQ(*constant.constantTopic(), "audit_logs__x_");
  KafkaRecord full;
  constant.encode(e, full);
  EXPECT_EQ(full.topic, *constant.constantTopic());

  KafkaRecord body;
  body.topic = "untouched";
  constant.encodeBody(e, body);
  EXPECT_EQ(body.topic, "untouched");
  EXPECT_EQ(body.value, full.value);
  EXPECT_EQ(body.headers.size(), full.headers.size());
  EXPECT_EQ(body.has_key, full.has_key);

  KafkaRecordEncoder templated(*FieldTemplate::parse("audit.{family}"), std::nullopt, true,
                               Encoding::kRaw);
  EXPECT_EQ(templated.constantTopic(), nullptr);
}

}  // namespace
}  // namespace siem
