// Fuzz target: the Go text/template subset of source/common/go_template.h (docs/fuzzing.md), which
// parses and runs HostnameGenerator and VirtualOutbound templates on every REST write.
//
// Input: byte 0 picks the data (% 4): 0 a VirtualOutbound map[string]string without functions,
// 1 an empty map with `label`, 2 HostnameGenerator's struct with `label` (failing for the key
// "missing"), 3 that struct in parse-only mode (anyField, `label` never fails), as MeshIdentity
// checks its templates; the rest is the template text.
// Oracles: nothing crashes; parsing and running are deterministic; errors are InvalidArgument,
// start with Go's "template: " and have a bounded message; parse-only data never fails to run;
// an output is no longer than three times its text (a literal's invalid UTF-8 byte prints as
// U+FFFD) plus, for every action, the longest thing one action prints (a value, "<no value>",
// the `{{.}}` form of the data).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "source/common/absl_compat.h"
#include "source/common/go_template.h"
#include "test/fuzz/fuzz_util.h"

namespace kuma::fuzz {
namespace {

using common::GoTemplate;

constexpr std::string_view kHostStruct =
    "struct { Name string; DisplayName string; Namespace string; Mesh string; Zone string }";
constexpr std::string_view kNoValue = "<no value>";
constexpr std::string_view kLabelValue = "label-value";

void checkError(const absl::Status& status, std::string_view text, size_t bound) {
  FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument, status.ToString());
  FUZZ_CHECK(common::sv(status.message()).starts_with("template: "), status.ToString());
  FUZZ_CHECK(status.message().size() <= bound,
             absl::StrCat("unbounded error text for ", text.size(), " bytes of template"));
}

}  // namespace
}  // namespace kuma::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma::fuzz;  // NOLINT
  if (size == 0) {
    return 0;
  }
  const int mode = data[0] % 4;
  const std::string text(asText(data + 1, size - 1));

  GoTemplate::Options options;
  GoTemplate::Data values;
  if (mode == 0) {
    values.fields = {{"svc", "backend"}, {"inst", "i1"}, {"port", "8080"}};
  } else {
    options.functions = {"label"};
    values.call = [mode](std::string_view, std::string_view key) -> absl::StatusOr<std::string> {
      if (key == "missing" && mode != 3) {
        return absl::NotFoundError("label missing not found");
      }
      return std::string(kLabelValue);
    };
  }
  if (mode >= 2) {
    values.fields = {{"Name", "name"},
                     {"DisplayName", "displayname"},
                     {"Namespace", "namespace"},
                     {"Mesh", "mesh"},
                     {"Zone", "zone"}};
    values.structType = std::string(kHostStruct);
    values.anyField = mode == 3;
  }

  auto tmpl = GoTemplate::parse(text, options);
  auto again = GoTemplate::parse(text, options);
  FUZZ_CHECK(tmpl.ok() == again.ok(), "parsing is not deterministic");
  if (!tmpl.ok()) {
    FUZZ_CHECK(tmpl.status() == again.status(), "parse errors are not deterministic");
    // Go quotes at most a string literal (4 bytes per escaped byte) or the refused action.
    checkError(tmpl.status(), text, 4 * text.size() + 256);
    return 0;
  }

  auto out = tmpl->execute(values);
  auto out2 = tmpl->execute(values);
  FUZZ_CHECK(out.ok() == out2.ok() && (!out.ok() || *out == *out2), "running is not deterministic");
  if (!out.ok()) {
    FUZZ_CHECK(mode != 3, absl::StrCat("parse-only data failed: ", out.status().ToString()));
    checkError(out.status(), text, text.size() + kHostStruct.size() + 256);
    return 0;
  }
  size_t perAction = std::max(kNoValue.size(), kLabelValue.size());
  size_t dot = 16;  // "map[" ... "]" or "{" ... "}"
  for (const auto& [key, value] : values.fields) {
    perAction = std::max(perAction, value.size());
    dot += key.size() + value.size() + 2;
  }
  perAction = std::max(perAction, dot);
  size_t actions = 0;
  for (size_t at = text.find("{{"); at != std::string::npos; at = text.find("{{", at + 2)) {
    ++actions;
  }
  // A string literal's invalid UTF-8 bytes become U+FFFD (3 bytes) as in Go, hence 3 x text.
  FUZZ_CHECK(out->size() <= 3 * text.size() + actions * perAction,
             absl::StrCat("a rendering of ", out->size(), " bytes from a template of ", text.size(),
                          " bytes with ", actions, " actions"));
  return 0;
}
