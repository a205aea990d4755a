#include "source/plugins/services/hostnamegenerator/hostnamegenerator.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "source/common/go_quote.h"
#include "source/core/manager/meta_validation.h"
#include "source/plugins/services/common.h"
#include "source/plugins/services/hostnamegenerator/hostname_template.h"

namespace kuma::services::hostnamegenerator {
namespace {

using namespace policies;  // NOLINT: the schema builders
using validators::PathBuilder;
using validators::ValidationError;

SchemaPtr specSchema() {
  return object({
      field("selector", withDefault(object({
                                        field("meshService", labelSelectorSchema()),
                                        field("meshExternalService", labelSelectorSchema()),
                                        field("meshMultiZoneService", labelSelectorSchema()),
                                    }),
                                    nlohmann::json::object())),
      required("template", string()),
      field("extension", extensionSchema()),
  });
}

// Kuma's validateTemplate: parses, renders with stub values, and the result must be a DNS-1123
// subdomain.
void validateTemplate(const PathBuilder& path, const std::string& text, ValidationError& errors) {
  if (text.empty()) {
    errors.addViolationAt(path, "must not be empty");
    return;
  }
  TemplateValues stub;
  stub.fields = {{"Name", "name"},
                 {"DisplayName", "displayname"},
                 {"Namespace", "namespace"},
                 {"Mesh", "mesh"},
                 {"Zone", "zone"}};
  stub.label = [](std::string_view) -> absl::StatusOr<std::string> { return "label"; };
  auto rendered = renderHostnameTemplate(text, stub);
  if (!rendered.ok()) {
    errors.addViolationAt(path, std::string(rendered.status().message()));
    return;
  }
  if (auto violations = manager::dns1123SubdomainErrors(*rendered); !violations.empty()) {
    errors.addViolationAt(
        path, absl::StrCat("template renders to ", common::goQuote(*rendered),
                           " which is not a valid DNS name: ", absl::StrJoin(violations, ", ")));
  }
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  const PathBuilder path("spec");
  int selectors = 0;
  if (const nlohmann::json* selector = member(spec, "selector")) {
    for (const char* key : {"meshService", "meshExternalService", "meshMultiZoneService"}) {
      selectors += member(*selector, key) != nullptr ? 1 : 0;
    }
  }
  if (selectors != 1) {
    errors.addViolationAt(path.field("selector"),
                          "exact one selector (meshService, meshExternalService) must be defined");
  }
  const nlohmann::json* tmpl = member(spec, "template");
  validateTemplate(path.field("template"),
                   tmpl != nullptr && tmpl->is_string() ? tmpl->get<std::string>() : "", errors);
  if (const nlohmann::json* extension = member(spec, "extension")) {
    const nlohmann::json* type = member(*extension, "type");
    if (type == nullptr || !type->is_string() || type->get<std::string>().empty()) {
      errors.addViolationAt(path.field("extension").field("type"), "must not be empty");
    }
  }
}

}  // namespace

PolicyDefinition definition() {
  PolicyDefinition d;
  d.name = "HostnameGenerator";
  d.wsPath = "hostnamegenerators";
  d.shortName = "hg";
  d.singularDisplayName = "Hostname Generator";
  d.pluralDisplayName = "Hostname Generators";
  d.isPolicy = false;
  d.scope = model::Scope::Global;
  d.schema = specSchema();
  d.validate = validate;
  return d;
}

}  // namespace kuma::services::hostnamegenerator
