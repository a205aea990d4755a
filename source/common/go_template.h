#pragma once

// File: go_template.h
// The part of Go's text/template that Kuma's templates use: HostnameGenerator `template`s
// (`{{ .DisplayName }}.svc.{{ label "team" }}`, struct data) and the legacy VirtualOutbound
// `conf.host`/`conf.port` (`{{.svc}}.{{.inst}}.vo`, a Go map[string]string).
//
//   GoTemplate::Options options;
//   options.functions = {"label"};
//   auto tmpl = GoTemplate::parse("{{ .svc }}.{{ label \"team\" }}", options);
//   GoTemplate::Data data;
//   data.fields = {{"svc", "backend"}};
//   data.call = [](std::string_view fn, std::string_view arg) -> absl::StatusOr<std::string> {
//     return std::string(arg);
//   };
//   auto out = tmpl->execute(data);  // "backend.team"
//
// Parsing follows Go's lexer and parser (go/src/text/template/parse), numbers and string literals
// included, so a text Go refuses is refused with Go's err.Error(). What runs is a subset: text,
// `{{ .Field }}` (chains such as `.a.b` fail as Go does on a string), `{{ . }}`,
// `{{ "literal" }}`, a call of a function of Options::functions with one string-literal argument
// (`{{ label "key" }}`, "..." or `...`), `{{-`/`-}}` trim markers and comments.
// Divergences from Go, all of them refusals at parse time:
//   - any action Go accepts but this engine does not run (Go's builtin functions such as printf,
//     pipelines, variables, parentheses, numbers, true/false/nil, several arguments):
//     "template: :L: unsupported action {{printf "%s" .a}}" (the action as Go prints it), or
//     "template: :L: label takes one string argument" for a call of an Options::functions
//     function with other arguments. The first such refusal is reported once the whole text has
//     parsed, so an error Go finds anywhere in the text wins;
//   - `{{if}}`, `{{range}}`, `{{with}}`, `{{block}}`, `{{template}}` and `{{define}}` are refused
//     where they stand: "template: :L: unsupported action {{if}}" (Go may accept the text, or
//     fail further on with another message);
//   - a text longer than Options::maxBytes: "template: longer than N bytes";
//   - parentheses nest at most 100 deep (Go: 10000), with Go's "max expression depth exceeded";
//   - non-ASCII letters: Go asks Unicode; here only the letters and digits of the Latin, Greek,
//     Cyrillic, CJK, kana, Hangul and a few other blocks count (so `.é` is a field and `.a€`
//     fails as in Go, but a name in Arabic letters fails with "bad character" here), and quoted
//     error texts keep non-ASCII bytes as they are (Go escapes invalid and unprintable ones).

#include <cstddef>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace kuma::common {
namespace go_template_internal {

/** One piece of a parsed template, as GoTemplate::execute renders it (go_template.cc only). */
struct Piece {
  enum class Kind { Text, Field, Dot, Call };
  Kind kind = Kind::Text;
  std::string text;                 // Text: the text; Call: the function
  std::string arg;                  // Call: the unquoted argument
  std::vector<std::string> fields;  // Field: the chain, "a" and "b" for `.a.b`
  int line = 0;                     // Field, Call: where Go's ExecError points
  size_t column = 0;
  std::string context;  // Field, Call: the node as Go's ExecError prints it (".a.b")
};

}  // namespace go_template_internal

/** How GoTemplate::parse reads a text (GoTemplate::Options). */
struct GoTemplateOptions {
  /** The functions a call may name (Go's template.FuncMap keys), e.g. "label". */
  std::set<std::string, std::less<>> functions;
  /** Longest text accepted (bytes). */
  size_t maxBytes = 4096;
};

/** A parsed template; cheap to keep, safe to execute from several threads at once. */
class GoTemplate {
 public:
  using Options = GoTemplateOptions;

  /**
   * Parses `text` as Go's template.New("").Funcs(functions).Parse(text) does.
   * @return the template, or InvalidArgument whose message is Go's err.Error() where Go also
   *         fails ("template: :1: unclosed action", "template: :1: function \"x\" not defined",
   *         "template: :1: missing value for command") or one of the refusals listed above.
   */
  static absl::StatusOr<GoTemplate> parse(std::string_view text, const Options& options = {});

  /** What a template runs on: Go's map[string]string, or a struct of string fields. */
  struct Data {
    std::map<std::string, std::string, std::less<>> fields;
    /**
     * Empty: the data is a Go map[string]string, where a missing key renders "<no value>" and
     * `{{.}}` renders "map[k1:v1 k2:v2]". Otherwise the Go struct type as Go prints it
     * ("struct { Name string; Mesh string }"): a missing field fails with Go's ExecError
     * "template: :L:C: executing \"\" at <.X>: can't evaluate field X in type <structType>",
     * and `{{.}}` renders "{v1 v2}" in the type's field order.
     */
    std::string structType;
    /** Parse-only checks: a field (or chain) that cannot be evaluated renders empty. */
    bool anyField = false;
    /** A function call's result; an error becomes Go's "error calling <fn>: <message>". */
    std::function<absl::StatusOr<std::string>(std::string_view fn, std::string_view arg)> call;
  };

  /**
   * Runs the template on `data`.
   * @return the text, or InvalidArgument whose message is Go's ExecError text.
   */
  absl::StatusOr<std::string> execute(const Data& data) const;

 private:
  using Piece = go_template_internal::Piece;

  explicit GoTemplate(std::vector<Piece> pieces) : pieces_(std::move(pieces)) {}

  std::vector<Piece> pieces_;
};

}  // namespace kuma::common
