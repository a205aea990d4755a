#include "source/common/json_yaml.h"

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
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

// --- Input limits (hostile input) ---

std::string nested(char open, char close, size_t depth) {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(JsonYamlLimits, JsonNestingIsBounded) {
  // At the limit: accepted.
  auto atLimit = parseJson(nested('[', ']', kMaxNestingDepth));
  EXPECT_TRUE(atLimit.ok()) << atLimit.status();
  // One deeper, and a million deep: refused, no crash.
  for (size_t depth : {kMaxNestingDepth + 1, size_t{1000000}}) {
    auto deep = parseJson(nested('[', ']', depth));
    ASSERT_FALSE(deep.ok());
    EXPECT_EQ(deep.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(deep.status().message()), testing::HasSubstr("nesting depth"));
  }
  std::string objects;
  for (int i = 0; i < 50000; ++i) {
    objects += "{\"a\":";
  }
  EXPECT_FALSE(parseJson(objects + "1" + std::string(50000, '}')).ok());
  // Unterminated: still bounded by depth before the syntax error.
  EXPECT_FALSE(parseJson(std::string(1000000, '[')).ok());
}

TEST(JsonYamlLimits, YamlNestingIsBounded) {
  EXPECT_TRUE(parseYaml(nested('[', ']', kMaxNestingDepth)).ok());
  auto flow = parseYaml(nested('[', ']', 50000));
  ASSERT_FALSE(flow.ok());
  EXPECT_THAT(std::string(flow.status().message()), testing::HasSubstr("nesting depth"));
  EXPECT_FALSE(parseYaml(std::string(1000000, '[')).ok());
  EXPECT_FALSE(parseYaml(std::string(200000, '{')).ok());
  // Block style: compact nested sequences on one line.
  std::string block;
  for (int i = 0; i < 5000; ++i) {
    block += "- ";
  }
  EXPECT_FALSE(parseYaml(block + "x\n").ok());
}

// Found by rest_codec_fuzz: brackets inside plain scalars (block context) open no flow
// collection, however many lines repeat them; kuma-cp must read back what it writes.
TEST(JsonYamlLimits, BracketsInsidePlainScalarsAreNotNesting) {
  const std::string brackets(200, '[');
  const std::string doc = "mesh: a gate}" + brackets + "}~\nkri: b}" + brackets +
                          "\nc: x:" + brackets + "\nd: y," + brackets + "\n";
  auto v = parseYaml(doc);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)["mesh"], "a gate}" + brackets + "}~");
  EXPECT_EQ((*v)["kri"], "b}" + brackets);
  EXPECT_EQ((*v)["c"], "x:" + brackets);
  // What kuma-cp writes reads back, also brackets after a space inside a scalar or a key.
  const nlohmann::json written = {{"mesh", "a " + brackets + " b " + brackets},
                                  {"k " + brackets, "v"},
                                  {"kri", "x " + brackets}};
  auto reread = parseYaml(toYaml(written));
  ASSERT_TRUE(reread.ok()) << reread.status();
  EXPECT_EQ(*reread, written);
  // Real flow collections still count, also after `,` and `:` inside them.
  EXPECT_FALSE(parseYaml("a: [" + std::string(300, '[') + "]\n").ok());
  EXPECT_FALSE(parseYaml("a: [1," + std::string(300, '[') + "]\n").ok());
  EXPECT_FALSE(parseYaml("a: {b:" + std::string(300, '{') + "}\n").ok());
}

// Found by rest_codec_fuzz: a long key (control characters escaped make it longer still) must
// be written as an explicit key, or YAML's 1024-character limit of implicit keys rejects it.
TEST(JsonYamlLimits, LongKeysReadBack) {
  for (const std::string& key :
       {std::string(150, 'k'), std::string(151, 'k'), std::string(2000, 'k'),
        "ku" + std::string(300, '\x04') + "ma.io/service", std::string(600, '\x0b')}) {
    nlohmann::json doc = {{"match", {{key, "*"}}}, {"after", 1}};
    const std::string yaml = toYaml(doc);
    auto back = parseYaml(yaml);
    ASSERT_TRUE(back.ok()) << back.status() << "\n" << yaml.substr(0, 200);
    EXPECT_EQ(*back, doc);
  }
}

// Found by rest_codec_fuzz: a value ending in `\r` was written as a plain scalar and read back
// without it. Every control character and line break in values and keys reads back as written.
TEST(JsonYamlLimits, ControlCharactersReadBack) {
  for (const std::string& s :
       {std::string("o\r"), std::string("\ro"), std::string("a\r\nb"), std::string("a\n"),
        std::string("\n"), std::string("x\t"), std::string(" \x7f"), std::string("a\x01b\x1f"),
        std::string("line1\nline2\n\n")}) {
    const nlohmann::json doc = {{"tags", {{"kuma.io/service", s}, {s, "v"}}}, {"list", {s}}};
    const std::string yaml = toYaml(doc);
    auto back = parseYaml(yaml);
    ASSERT_TRUE(back.ok()) << back.status() << "\n" << yaml;
    EXPECT_EQ(*back, doc) << yaml;
  }
}

TEST(JsonYamlLimits, RecursiveAliasIsRefused) {
  for (const char* doc : {"x: &a {y: *a}", "&a [*a]", "a: &x\n  b: &y\n    c: *x\n"}) {
    auto v = parseYaml(doc);
    ASSERT_FALSE(v.ok()) << doc;
    EXPECT_THAT(std::string(v.status().message()), testing::HasSubstr("recursive alias")) << doc;
  }
}

TEST(JsonYamlLimits, AliasExpansionIsBounded) {
  // "Billion laughs": 9 levels of 9 aliases each would expand to 9^9 nodes.
  std::string bomb =
      "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    const char prev = static_cast<char>(c - 1);
    bomb += absl::StrCat(std::string(1, c), ": &", std::string(1, c), " [");
    for (int i = 0; i < 9; ++i) {
      bomb += absl::StrCat(i ? "," : "", "*", std::string(1, prev));
    }
    bomb += "]\n";
  }
  auto v = parseYaml(bomb);
  ASSERT_FALSE(v.ok());
  EXPECT_THAT(std::string(v.status().message()), testing::HasSubstr("aliases expand"));

  // Big strings copied by aliases count by their bytes.
  std::string strings = absl::StrCat("s: &s \"", std::string(64 * 1024, 'x'), "\"\nl: [");
  for (int i = 0; i < 100; ++i) {
    strings += absl::StrCat(i ? "," : "", "*s");
  }
  EXPECT_FALSE(parseYaml(strings + "]\n").ok());

  // Too many aliases, each small.
  std::string many = "a: &a 1\nl: [";
  for (size_t i = 0; i <= kMaxYamlAliases; ++i) {
    many += absl::StrCat(i ? "," : "", "*a");
  }
  auto tooMany = parseYaml(many + "]\n");
  ASSERT_FALSE(tooMany.ok());
  EXPECT_THAT(std::string(tooMany.status().message()), testing::HasSubstr("aliases"));
}

TEST(JsonYamlLimits, OrdinaryAliasesStillWork) {
  auto v = parseYaml("base: &tags {kuma.io/service: web}\nother: *tags\nk: &k key\n*k : v\n");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ((*v)["other"]["kuma.io/service"], "web");
  EXPECT_EQ((*v)["key"], "v");
}

TEST(JsonYamlLimits, InvalidUtf8NamesTheField) {
  auto json = parseJson("{\"networking\":{\"address\":\"10.0.0.\xC3\x28\"}}");
  ASSERT_FALSE(json.ok());
  EXPECT_EQ(json.status().message(), "invalid UTF-8 in field \"networking.address\"");
  auto inArray = parseJson("{\"inbound\":[{\"port\":1},{\"tags\":{\"svc\":\"\xFF\"}}]}");
  ASSERT_FALSE(inArray.ok());
  EXPECT_EQ(inArray.status().message(), "invalid UTF-8 in field \"inbound[1].tags.svc\"");
  auto yaml = parseYaml("name: ok\nlabels:\n  team: \"\xED\xA0\x80\"\n");  // a surrogate
  ASSERT_FALSE(yaml.ok());
  EXPECT_EQ(yaml.status().message(), "invalid UTF-8 in field \"labels.team\"");
  EXPECT_FALSE(parseYaml("\xC0\xAF: 1\n").ok());  // overlong, in a key
  // The messages themselves are valid UTF-8.
  EXPECT_TRUE(isValidUtf8(std::string(json.status().message())));
  EXPECT_TRUE(isValidUtf8(std::string(parseJson("\xFF").status().message())));
}

TEST(JsonYamlLimits, Utf8Validation) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain ascii"));
  EXPECT_TRUE(isValidUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_FALSE(isValidUtf8("\x80"));
  EXPECT_FALSE(isValidUtf8("\xC3"));              // truncated
  EXPECT_FALSE(isValidUtf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xF5\x80\x80\x80"));
}

TEST(JsonYamlLimits, BodyFormatFollowsContentType) {
  EXPECT_EQ(bodyFormatFor("application/json"), BodyFormat::Json);
  EXPECT_EQ(bodyFormatFor("Application/JSON; charset=utf-8"), BodyFormat::Json);
  EXPECT_EQ(bodyFormatFor("application/merge-patch+json"), BodyFormat::Json);
  EXPECT_EQ(bodyFormatFor("application/yaml"), BodyFormat::Yaml);
  EXPECT_EQ(bodyFormatFor("text/x-yaml"), BodyFormat::Yaml);
  EXPECT_EQ(bodyFormatFor(""), BodyFormat::Unsupported);
  EXPECT_EQ(bodyFormatFor("text/plain"), BodyFormat::Unsupported);
  EXPECT_EQ(bodyFormatFor("application/x-www-form-urlencoded"), BodyFormat::Unsupported);
}

}  // namespace
}  // namespace kuma::common
