#include "source/common/json_yaml.h"

#include "gtest/gtest.h"

namespace kuma::common {
namespace {

TEST(JsonYaml, TypesPlainScalarsLikeYaml12) {
  auto v = parseYaml("a: 1\nb: '1'\nc: true\nd: \"true\"\ne: 1.5\nf: ~\ng: text\nh: -3\n");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)["a"], 1);
  EXPECT_EQ((*v)["b"], "1");
  EXPECT_EQ((*v)["c"], true);
  EXPECT_EQ((*v)["d"], "true");
  EXPECT_EQ((*v)["e"], 1.5);
  EXPECT_TRUE((*v)["f"].is_null());
  EXPECT_EQ((*v)["g"], "text");
  EXPECT_EQ((*v)["h"], -3);
}

TEST(JsonYaml, NestedStructures) {
  auto v = parseYaml("networking:\n  inbound:\n  - port: 8080\n    tags: {kuma.io/service: web}\n");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ((*v)["networking"]["inbound"][0]["tags"]["kuma.io/service"], "web");
}

TEST(JsonYaml, ReportsSyntaxErrors) {
  EXPECT_FALSE(parseYaml("a: [1, 2").ok());
  EXPECT_FALSE(parseJson("{\"a\": ").ok());
  EXPECT_FALSE(parseJsonOrYaml("{\"a\": ").ok());
}

TEST(JsonYaml, RoundTripsThroughYaml) {
  const nlohmann::json in = {{"s", "1"},
                             {"n", 1},
                             {"b", false},
                             {"e", ""},
                             {"l", {1, "x"}},
                             {"o", {{"k", "true"}}},
                             {"empty", nlohmann::json::object()}};
  auto back = parseYaml(toYaml(in));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, in);
}

}  // namespace
}  // namespace kuma::common
