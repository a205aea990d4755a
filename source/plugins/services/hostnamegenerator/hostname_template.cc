#include "source/plugins/services/hostnamegenerator/hostname_template.h"

#include "absl/strings/str_cat.h"
#include "source/common/go_template.h"

namespace kuma::services::hostnamegenerator {
namespace {

// The type of Kuma's template data, as Go's "can't evaluate field" errors print it.
constexpr std::string_view kStruct =
    "struct { Name string; DisplayName string; Namespace string; Mesh string; Zone string }";

const common::GoTemplate::Options& options() {
  static const auto* const opts = new common::GoTemplate::Options{{"label"}, kMaxTemplateBytes};
  return *opts;
}

}  // namespace

absl::StatusOr<std::string> renderHostnameTemplate(std::string_view text,
                                                   const TemplateValues& values) {
  if (text.size() > kMaxTemplateBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("couldn't parse template: longer than ", kMaxTemplateBytes, " bytes"));
  }
  auto tmpl = common::GoTemplate::parse(text, options());
  if (!tmpl.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("couldn't parse template: ", tmpl.status().message()));
  }
  common::GoTemplate::Data data;
  data.fields = values.fields;
  data.structType = kStruct;
  data.anyField = values.anyField;
  // Kuma reports a failing `label` from the real rendering, a missing field from the stub one.
  bool labelFailed = false;
  data.call = [&](std::string_view, std::string_view key) -> absl::StatusOr<std::string> {
    if (!values.label) {
      return absl::FailedPreconditionError("no labels");
    }
    auto value = values.label(key);
    labelFailed = !value.ok();
    return value;
  };
  auto out = tmpl->execute(data);
  if (!out.ok()) {
    if (!values.label) {
      return absl::InvalidArgumentError("couldn't render template: no labels");
    }
    return absl::InvalidArgumentError(absl::StrCat(labelFailed
                                                       ? "couldn't render template: "
                                                       : "couldn't render template with stub "
                                                         "values: ",
                                                   out.status().message()));
  }
  return out;
}

}  // namespace kuma::services::hostnamegenerator
