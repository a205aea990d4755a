#include "source/dp/dataplane_template.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "source/common/absl_compat.h"
#include "source/common/json_yaml.h"

namespace kuma::dp {

absl::StatusOr<std::string> renderTemplate(std::string_view text,
                                           const std::map<std::string, std::string>& vars) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      out.append(text.substr(pos));
      break;
    }
    out.append(text.substr(pos, open - pos));
    const size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("dataplane template: unterminated \"{{\" at offset ", open));
    }
    const std::string key(
        absl::StripAsciiWhitespace(common::av(text.substr(open + 2, close - open - 2))));
    if (auto it = vars.find(key); it != vars.end()) {
      out.append(it->second);
    }
    pos = close + 2;
  }
  return out;
}

absl::StatusOr<nlohmann::json> parseDataplaneTemplate(
    std::string_view text, const std::map<std::string, std::string>& vars,
    std::string_view proxyType) {
  auto rendered = renderTemplate(text, vars);
  if (!rendered.ok()) {
    return rendered.status();
  }
  auto doc = common::parseYaml(*rendered);
  if (!doc.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("dataplane template is not valid YAML or JSON: ", doc.status().message()));
  }
  if (!doc->is_object()) {
    return absl::InvalidArgumentError("dataplane template must be an object");
  }
  for (const char* field : {"type", "mesh", "name"}) {
    auto it = doc->find(field);
    if (it == doc->end() || !it->is_string() || it->get<std::string>().empty()) {
      if (std::string_view(field) == "mesh" && proxyType != "dataplane") {
        continue;  // zone proxies are not in a mesh
      }
      return absl::InvalidArgumentError(
          absl::StrCat("dataplane template: \"", field, "\" must be a non-empty string"));
    }
  }
  const std::string type = (*doc)["type"];
  const std::string want = proxyType == "ingress"  ? "ZoneIngress"
                           : proxyType == "egress" ? "ZoneEgress"
                                                   : "Dataplane";
  if (type != want) {
    return absl::InvalidArgumentError(absl::StrCat("dataplane template: type \"", type,
                                                   "\" does not match --proxy-type ",
                                                   std::string(proxyType), " (want ", want, ")"));
  }
  return *doc;
}

}  // namespace kuma::dp
