#include "source/plugins/policies/meshtrafficpermission/meshtrafficpermission.h"

namespace kuma::policies::meshtrafficpermission {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

void validateMatches(const PathBuilder& path, const nlohmann::json* matches,
                     ValidationError& errors) {
  if (matches == nullptr || !matches->is_array()) {
    return;
  }
  for (size_t i = 0; i < matches->size(); ++i) {
    const nlohmann::json& m = (*matches)[i];
    if (member(m, "spiffeID") == nullptr && member(m, "sni") == nullptr) {
      errors.addViolationAt(path.index(i), "must have at least one defined: spiffeID, sni");
    }
  }
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  PathBuilder root("spec");
  validateTopTargetRef(
      spec,
      {{kMesh, kMeshSubset, kMeshService, kMeshServiceSubset, kDataplane}, false, true, {}, {}},
      errors);
  size_t from = arraySize(spec, "from"), rules = arraySize(spec, "rules");
  if (from > 0 && rules > 0) {
    errors.addViolationAt(root, "field 'from' must be empty when 'rules' is defined");
  }
  if (from == 0 && rules == 0) {
    errors.addViolationAt(root, "at least one of 'from' or 'rules' has to be defined");
  }
  validateTargetedItems(
      spec, "from", {{kMesh, kMeshSubset, kMeshService, kMeshServiceSubset}, false, true, {}, {}},
      [](const PathBuilder& path, const nlohmann::json* conf, ValidationError& e) {
        if (conf == nullptr) {
          e.addViolationAt(path, "must be defined");
        } else if (member(*conf, "action") == nullptr) {
          e.addViolationAt(path.field("action"), "must be defined");
        }
      },
      errors);
  validateRuleItems(
      spec,
      [](const PathBuilder& path, const nlohmann::json* conf, ValidationError& e) {
        if (conf == nullptr) {
          return;  // `default` is required by the schema
        }
        const nlohmann::json* allow = member(*conf, "allow");
        const nlohmann::json* deny = member(*conf, "deny");
        const nlohmann::json* shadow = member(*conf, "allowWithShadowDeny");
        if (allow == nullptr && deny == nullptr && shadow == nullptr) {
          e.addViolationAt(path,
                           "must have at least one defined: allow, deny, allowWithShadowDeny");
        }
        validateMatches(path.field("allow"), allow, e);
        validateMatches(path.field("deny"), deny, e);
        validateMatches(path.field("allowWithShadowDeny"), shadow, e);
      },
      errors);
}

}  // namespace

namespace {
// Kuma's MeshTrafficPermissionResource.Deprecations (api/v1alpha1/deprecated.go).
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  std::vector<std::string> out;
  if (arraySize(spec, "from") > 0) {
    out.emplace_back(
        "'from' field is deprecated and will be removed in 3.0, use 'rules' with MeshIdentity "
        "(spiffeId) instead");
    for (const auto& from : spec["from"]) {
      const nlohmann::json* ref = member(from, "targetRef");
      const nlohmann::json* kind = ref == nullptr ? nullptr : member(*ref, "kind");
      if (kind != nullptr && *kind == "MeshService") {
        out.emplace_back(
            "MeshService value for 'from[].targetRef.kind' is deprecated, use MeshSubset with "
            "'kuma.io/service' instead");
      }
    }
  }
  for (std::string& w : topLevelTargetRefDeprecations(spec)) {
    out.push_back(std::move(w));
  }
  return out;
}
}  // namespace

PolicyDefinition definition() {
  SchemaPtr matches = ruleMatchesSchema();
  return targetedPolicy({
      .names = {"MeshTrafficPermission", "meshtrafficpermissions", "mtp", "Mesh Traffic Permission",
                "Mesh Traffic Permissions"},
      .from = true,
      .rules = true,
      .schema = object({
          field("targetRef", targetRefSchema()),
          field("from",
                arrayOf(targetedItemSchema(
                    object({field("action", enumOf({"Allow", "Deny", "AllowWithShadowDeny"}))}),
                    false))),
          field("rules", arrayOf(object({required(
                             "default", object({field("allow", matches), field("deny", matches),
                                                field("allowWithShadowDeny", matches)}))}))),
      }),
      .validate = validate,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshtrafficpermission
