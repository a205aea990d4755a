// GoTemplate against Go's text/template: every expectation below was recorded from Go 1.26
// (`template.New("").Parse(text)` then `Execute` with a map[string]string, or with an anonymous
// struct of strings and a `label` function), except the cases marked DIVERGENCE, where Go
// accepts what this engine refuses on purpose (see go_template.h).

#include "source/common/go_template.h"

#include <string>

#include "gtest/gtest.h"

namespace kuma::common {
namespace {

constexpr std::string_view kHostStruct =
    "struct { Name string; DisplayName string; Namespace string; Mesh string; Zone string }";

/** The output, "PARSE: <message>" or "EXEC: <message>" (both InvalidArgument). */
std::string run(std::string_view text, const GoTemplate::Data& data,
                const GoTemplate::Options& options = {}) {
  auto tmpl = GoTemplate::parse(text, options);
  if (!tmpl.ok()) {
    EXPECT_EQ(tmpl.status().code(), absl::StatusCode::kInvalidArgument) << text;
    return "PARSE: " + std::string(tmpl.status().message());
  }
  auto out = tmpl->execute(data);
  if (!out.ok()) {
    EXPECT_EQ(out.status().code(), absl::StatusCode::kInvalidArgument) << text;
    return "EXEC: " + std::string(out.status().message());
  }
  return *out;
}

/** VirtualOutbound's data: a map[string]string of the parameters whose tags are present. */
std::string runMap(std::string_view text, std::map<std::string, std::string, std::less<>> fields = {
                                              {"svc", "backend"}, {"inst", "i1"}}) {
  GoTemplate::Data data;
  data.fields = std::move(fields);
  return run(text, data);
}

/** HostnameGenerator's data: a struct of strings and `label`. */
std::string runStruct(std::string_view text) {
  GoTemplate::Data data;
  data.fields = {{"Name", "backend-x"},
                 {"DisplayName", "backend"},
                 {"Namespace", "kuma-demo"},
                 {"Mesh", "default"},
                 {"Zone", "east"}};
  data.structType = std::string(kHostStruct);
  data.call = [](std::string_view fn, std::string_view key) -> absl::StatusOr<std::string> {
    EXPECT_EQ(fn, "label");
    if (key == "team") {
      return "core";
    }
    return absl::NotFoundError("label " + std::string(key) + " not found");
  };
  GoTemplate::Options options;
  options.functions = {"label"};
  return run(text, data, options);
}

TEST(GoTemplate, VirtualOutboundMapData) {
  EXPECT_EQ(runMap("{{.svc}}.{{.inst}}.vo"), "backend.i1.vo");
  // A parameter whose tag is missing is absent from the map: Go prints <no value>.
  EXPECT_EQ(runMap("{{.svc}}.{{.inst}}.vo", {{"svc", "dummy"}}), "dummy.<no value>.vo");
  EXPECT_EQ(runMap("{{ .svc }}:{{.inst}}", {{"svc", "a"}, {"inst", "b"}}), "a:b");
  EXPECT_EQ(runMap("{{ .\xC3\xA9 }}", {{"\xC3\xA9", "e"}}), "e");
  EXPECT_EQ(runMap("{{.}}", {{"b", "2"}, {"a", "1"}}), "map[a:1 b:2]");
  EXPECT_EQ(runMap("{{.}}", {}), "map[]");
}

TEST(GoTemplate, TextCommentsTrimMarkersAndLiterals) {
  EXPECT_EQ(runMap(""), "");
  EXPECT_EQ(runMap("}}"), "}}");
  EXPECT_EQ(runMap("{{/* c */}}x"), "x");
  EXPECT_EQ(runMap("a  {{- .svc -}}  b"), "abackendb");
  EXPECT_EQ(runMap("a\n\t{{- /* c */ -}}\n b"), "ab");
  EXPECT_EQ(runMap("{{\"lit\"}}"), "lit");
  EXPECT_EQ(runMap("{{ `raw` }}"), "raw");
  EXPECT_EQ(runMap("{{ \"\\u00e9\\x41\" }}"),
            "\xC3\xA9"
            "A");
  // Found by test/fuzz/go_template_fuzz.cc (an oracle that forgot it): Go's strconv.Unquote
  // turns an invalid UTF-8 byte of a quoted literal into U+FFFD; a raw string keeps it.
  EXPECT_EQ(runMap("{{ \"\\t\xFF\" }}"), "\t\xEF\xBF\xBD");
  EXPECT_EQ(runMap("{{ \"\xFF\" }}"), "\xEF\xBF\xBD");
  EXPECT_EQ(runMap("{{ `\xFF` }}"), "\xFF");
}

TEST(GoTemplate, FieldChains) {
  // .svc is a string: Go's ExecError points at the second field of the chain.
  EXPECT_EQ(runMap("{{.svc.b}}"),
            "EXEC: template: :1:6: executing \"\" at <.svc.b>: can't "
            "evaluate field b in type string");
  EXPECT_EQ(runMap("a\n  {{.svc.x}}"),
            "EXEC: template: :2:8: executing \"\" at <.svc.x>: can't "
            "evaluate field x in type string");
  // A missing key is Go's invalid value, and so is any field of it.
  EXPECT_EQ(runMap("{{.a.b}}"), "<no value>");
}

TEST(GoTemplate, ParseErrorsInGoWording) {
  EXPECT_EQ(runMap("{{.svc"), "PARSE: template: :1: unclosed action");
  EXPECT_EQ(runMap("{{.svc}"), "PARSE: template: :1: bad character U+007D '}'");
  EXPECT_EQ(runMap("{{}}"), "PARSE: template: :1: missing value for command");
  EXPECT_EQ(runMap("{{ }}"), "PARSE: template: :1: missing value for command");
  EXPECT_EQ(runMap("{{.a-b}}"), "PARSE: template: :1: bad character U+002D '-'");
  EXPECT_EQ(runMap("{{ .a\xE2\x82\xAC }}"),
            "PARSE: template: :1: bad character U+20AC '\xE2\x82\xAC'");
  EXPECT_EQ(runMap("{{\x01}}"), "PARSE: template: :1: unrecognized character in action: U+0001");
  EXPECT_EQ(runMap("{{.a,.b}}"), "PARSE: template: :1: unexpected \",\" in operand");
  EXPECT_EQ(runMap("{{/* c"), "PARSE: template: :1: unclosed comment");
  EXPECT_EQ(runMap("{{/* c */ }}"), "PARSE: template: :1: comment ends before closing delimiter");
  EXPECT_EQ(runMap("{{\"a\\qb\"}}"), "PARSE: template: :1: invalid syntax");
  EXPECT_EQ(runMap("{{$x}}"), "PARSE: template: :1: undefined variable \"$x\"");
  EXPECT_EQ(runMap("{{end}}"), "PARSE: template: :1: unexpected {{end}}");
  EXPECT_EQ(runMap("{{else}}"), "PARSE: template: :1: unexpected {{else}}");
  EXPECT_EQ(runMap("{{break}}"), "PARSE: template: :1: {{break}} outside {{range}}");
  // No functions for VirtualOutbound: `label` is not defined there.
  EXPECT_EQ(runMap("{{label \"x\"}}"), "PARSE: template: :1: function \"label\" not defined");
  // Numbers are checked as Go's parser does (`{{-` without a space is a number).
  EXPECT_EQ(runMap("{{-}}"), "PARSE: template: :1: illegal number syntax: \"-\"");
  EXPECT_EQ(runMap("{{'ab'}}"), "PARSE: template: :1: malformed character constant: 'ab'");
  EXPECT_EQ(runMap("{{99999999999999999999}}"),
            "PARSE: template: :1: integer overflow: \"99999999999999999999\"");
}

TEST(GoTemplate, ErrorLines) {
  EXPECT_EQ(runMap("line1\n{{.svc"), "PARSE: template: :2: unclosed action");
  EXPECT_EQ(runMap("a\n{{.svc}}\n{{nope}}"), "PARSE: template: :3: function \"nope\" not defined");
  EXPECT_EQ(runMap("{{ .svc\n"), "PARSE: template: :2: unclosed action started at :1");
}

TEST(GoTemplate, RefusedWhereGoRuns) {
  // DIVERGENCE: Go prints "x"; control actions are refused where they stand.
  EXPECT_EQ(runMap("{{if .svc}}x{{end}}"), "PARSE: template: :1: unsupported action {{if}}");
  // DIVERGENCE: Go prints "backend" (printf is a Go builtin).
  EXPECT_EQ(runMap("{{printf \"%s\" .svc}}"),
            "PARSE: template: :1: unsupported action {{printf \"%s\" .svc}}");
  // DIVERGENCE: Go prints "3", "backend", "map[inst:i1 svc:backend]".
  EXPECT_EQ(runMap("{{3}}"), "PARSE: template: :1: unsupported action {{3}}");
  EXPECT_EQ(runMap("{{(.svc)}}"), "PARSE: template: :1: unsupported action {{(.svc)}}");
  EXPECT_EQ(runMap("{{$}}"), "PARSE: template: :1: unsupported action {{$}}");
  // DIVERGENCE: Go fails when it runs (".svc is not a method but has arguments").
  EXPECT_EQ(runMap("{{.svc .inst}}"), "PARSE: template: :1: unsupported action {{.svc .inst}}");
  EXPECT_EQ(runMap("{{ .a | .b }}"), "PARSE: template: :1: unsupported action {{.a | .b}}");
  // A later error Go reports wins over a refusal (the refusal waits for the end of the text)...
  EXPECT_EQ(runMap("{{3}}{{nope}}"), "PARSE: template: :1: function \"nope\" not defined");
  // ...but not over a refused control action. DIVERGENCE: Go says "function \"nope\" not defined".
  EXPECT_EQ(runMap("{{if 1}}{{nope}}"), "PARSE: template: :1: unsupported action {{if}}");
}

TEST(GoTemplate, StructDataAndFunctions) {
  EXPECT_EQ(runStruct("{{ .DisplayName }}.{{ label \"team\" }}.{{ label `team` }}"),
            "backend.core.core");
  EXPECT_EQ(runStruct("{{.}}"), "{backend-x backend kuma-demo default east}");
  EXPECT_EQ(runStruct("{{ .Foo }}.x"),
            "EXEC: template: :1:3: executing \"\" at <.Foo>: can't evaluate field Foo in type "
            "struct { Name string; DisplayName string; Namespace string; Mesh string; Zone "
            "string }");
  EXPECT_EQ(runStruct("{{.Name.x}}"),
            "EXEC: template: :1:7: executing \"\" at <.Name.x>: can't "
            "evaluate field x in type string");
  EXPECT_EQ(runStruct("x.{{ label   \"missing\" }}"),
            "EXEC: template: :1:5: executing \"\" at <label \"missing\">: error calling label: "
            "label missing not found");
  EXPECT_EQ(runStruct("a\n{{label `missing`}}"),
            "EXEC: template: :2:2: executing \"\" at <label `missing`>: error calling label: "
            "label missing not found");
  EXPECT_EQ(runStruct("{{ label team }}"), "PARSE: template: :1: function \"team\" not defined");
  // DIVERGENCE: Go fails when it runs ("wrong number of args for label: want 1 got 0").
  EXPECT_EQ(runStruct("{{label}}"), "PARSE: template: :1: label takes one string argument");
  // DIVERGENCE: Go calls label with the field's value.
  EXPECT_EQ(runStruct("{{label .Name}}"), "PARSE: template: :1: label takes one string argument");
}

TEST(GoTemplate, ParseOnlyData) {
  auto tmpl = GoTemplate::parse("{{ .Foo }}.{{ .Name.x }}.{{ .Name }}");
  ASSERT_TRUE(tmpl.ok());
  GoTemplate::Data data;
  data.fields = {{"Name", "n"}};
  data.structType = std::string(kHostStruct);
  data.anyField = true;
  EXPECT_EQ(*tmpl->execute(data), "..n");
}

TEST(GoTemplate, CallWithoutFunction) {
  GoTemplate::Options options;
  options.functions = {"label"};
  auto tmpl = GoTemplate::parse("{{ label \"a\" }}", options);
  ASSERT_TRUE(tmpl.ok());
  EXPECT_EQ(tmpl->execute({}).status().message(),
            "template: :1:3: executing \"\" at <label>: \"label\" is not a defined function");
}

TEST(GoTemplate, Limits) {
  GoTemplate::Options options;
  options.maxBytes = 8;
  EXPECT_TRUE(GoTemplate::parse("12345678", options).ok());
  EXPECT_EQ(GoTemplate::parse("123456789", options).status().message(),
            "template: longer than 8 bytes");
  // DIVERGENCE: Go allows 10000 nested parentheses.
  const std::string deep = "{{" + std::string(101, '(') + ".a" + std::string(101, ')') + "}}";
  EXPECT_EQ(runMap(deep), "PARSE: template: :1: max expression depth exceeded");
}

}  // namespace
}  // namespace kuma::common
