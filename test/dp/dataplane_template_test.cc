#include "source/dp/dataplane_template.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuma::dp {
namespace {

using ::testing::HasSubstr;

TEST(DpTemplateTest, SubstitutesVariables) {
  auto out = renderTemplate("port: {{ port }}\naddr: {{addr}}:{{  port}}\nx: {{missing}}.",
                            {{"port", "8080"}, {"addr", "10.0.0.1"}});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, "port: 8080\naddr: 10.0.0.1:8080\nx: .");
}

TEST(DpTemplateTest, UnterminatedPlaceholder) {
  auto out = renderTemplate("name: {{ name", {{"name", "x"}});
  ASSERT_FALSE(out.ok());
  EXPECT_THAT(std::string(out.status().message()), HasSubstr("unterminated"));
}

TEST(DpTemplateTest, ParsesYamlAndJson) {
  const std::string yaml =
      "type: Dataplane\nmesh: default\nname: {{ name }}\nnetworking:\n  address: 127.0.0.1\n"
      "  inbound:\n  - port: {{ port }}\n    tags:\n      kuma.io/service: web\n";
  auto dp = parseDataplaneTemplate(yaml, {{"name", "web-1"}, {"port", "9000"}}, "dataplane");
  ASSERT_TRUE(dp.ok()) << dp.status();
  EXPECT_EQ((*dp)["name"], "web-1");
  EXPECT_EQ((*dp)["networking"]["inbound"][0]["port"], 9000);
  auto json =
      parseDataplaneTemplate(R"({"type":"Dataplane","mesh":"m","name":"n"})", {}, "dataplane");
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ((*json)["mesh"], "m");
}

TEST(DpTemplateTest, RequiresTypeMeshName) {
  for (const char* text : {"mesh: default\nname: a", "type: Dataplane\nname: a",
                           "type: Dataplane\nmesh: default", "type: Dataplane\nmesh: d\nname: ''",
                           "type: Dataplane\nmesh: d\nname: 5", "- a\n- b", "{{x}}: [unclosed"}) {
    EXPECT_FALSE(parseDataplaneTemplate(text, {}, "dataplane").ok()) << text;
  }
  auto wrongType = parseDataplaneTemplate("type: Mesh\nmesh: d\nname: a", {}, "dataplane");
  ASSERT_FALSE(wrongType.ok());
  EXPECT_THAT(std::string(wrongType.status().message()), HasSubstr("--proxy-type"));
  EXPECT_TRUE(parseDataplaneTemplate("type: ZoneIngress\nname: zi", {}, "ingress").ok());
}

}  // namespace
}  // namespace kuma::dp
