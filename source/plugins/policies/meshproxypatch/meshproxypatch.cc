#include "source/plugins/policies/meshproxypatch/meshproxypatch.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "source/plugins/policies/meshproxypatch/envoy_value.h"

namespace kuma::policies::meshproxypatch {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

const std::vector<std::string>& resourceOps() {
  static const std::vector<std::string> ops = {"Add", "Remove", "Patch"};
  return ops;
}
const std::vector<std::string>& filterOps() {
  static const std::vector<std::string> ops = {"Remove",    "Patch",    "AddFirst",
                                               "AddBefore", "AddAfter", "AddLast"};
  return ops;
}

SchemaPtr jsonPatchesSchema() {
  return arrayOf(object({
      required("op", enumOf({"add", "remove", "replace", "move", "copy"})),
      required("path", string()),
      field("value", any()),
      field("from", string()),
  }));
}

SchemaPtr modSchema(SchemaPtr match, const std::vector<std::string>& ops,
                    bool matchRequired = false) {
  return object({
      matchRequired ? required("match", std::move(match)) : field("match", std::move(match)),
      required("operation", enumOf(ops)),
      field("value", string()),
      field("jsonPatches", jsonPatchesSchema()),
  });
}

SchemaPtr confSchema() {
  SchemaPtr filterMatch = object({
      field("origin", string()),
      field("name", string()),
      field("listenerName", string()),
      field("listenerTags", mapOf(string())),
  });
  return object({field(
      "appendModifications",
      arrayOf(object({
          field("cluster", modSchema(object({field("origin", string()), field("name", string())}),
                                     resourceOps())),
          field("listener", modSchema(object({field("origin", string()), field("name", string()),
                                              field("tags", mapOf(string()))}),
                                      resourceOps())),
          field("networkFilter", modSchema(filterMatch, filterOps())),
          field("httpFilter", modSchema(filterMatch, filterOps())),
          field("virtualHost", modSchema(object({field("origin", string()), field("name", string()),
                                                 field("routeConfigurationName", string())}),
                                         resourceOps(), /*matchRequired=*/true)),
      })))});
}

SchemaPtr specSchema() {
  return object({field("targetRef", targetRefSchema()), required("default", confSchema())});
}

constexpr std::string_view kBeforeErr =
    "must be defined. You need to pick a filter before which this one will be added";
constexpr std::string_view kAfterErr =
    "must be defined. You need to pick a filter after which this one will be added";

bool hasMatchName(const nlohmann::json& mod) {
  const nlohmann::json* match = member(mod, "match");
  return match != nullptr && member(*match, "name") != nullptr;
}

// Kuma's validateResourceValue: the value must be given and parse into its Envoy message.
void validateValue(const PathBuilder& path, const nlohmann::json& mod, ValueKind kind,
                   ValidationError& errors) {
  const nlohmann::json* value = member(mod, "value");
  if (value == nullptr || !value->is_string()) {
    errors.addViolationAt(path, "must be defined");
    return;
  }
  if (absl::Status s = validateNativeValue(kind, value->get<std::string>(), /*patch=*/false);
      !s.ok()) {
    errors.addViolationAt(path, absl::StrCat("native Envoy resource is not valid: ", s.message()));
  }
}

// jsonpatch validators.ValidateJsonPatchBlock.
void validateJsonPatchBlock(const PathBuilder& root, const nlohmann::json& patches,
                            ValidationError& errors) {
  if (!patches.is_array() || patches.empty()) {
    errors.addViolationAt(root, "must not be empty");
    return;
  }
  for (size_t i = 0; i < patches.size(); ++i) {
    const PathBuilder path = root.index(i);
    const nlohmann::json& p = patches[i];
    const nlohmann::json* opJ = member(p, "op");
    const std::string op = opJ != nullptr && opJ->is_string() ? opJ->get<std::string>() : "";
    const bool moveCopy = op == "move" || op == "copy";
    const bool addReplace = op == "add" || op == "replace";
    if (op != "add" && op != "remove" && op != "replace" && op != "move" && op != "copy") {
      errors.addViolationAt(path.field("op"),
                            "\"op\" must be one of [\"add\", \"remove\", \"replace\", \"move\", "
                            "\"copy\"]");
    }
    const bool hasFrom = member(p, "from") != nullptr;
    if (moveCopy && !hasFrom) {
      errors.addViolationAt(
          path.field("from"),
          "\"from\" must not be empty when \"op\" is one of [\"move\", \"copy\"]");
    } else if (!moveCopy && hasFrom) {
      errors.addViolationAt(path.field("from"),
                            "\"from\" is allowed only when \"op\" is one of [\"move\", \"copy\"]");
    }
    const bool hasValue = member(p, "value") != nullptr;
    if (addReplace && !hasValue) {
      errors.addViolationAt(
          path.field("value"),
          "\"value\" must not be empty when \"op\" is one of [\"add\", \"replace\"]");
    } else if (!addReplace && hasValue) {
      errors.addViolationAt(
          path.field("value"),
          "\"value\" is allowed only when \"op\" is one of [\"add\", \"replace\"]");
    }
    const nlohmann::json* pathJ = member(p, "path");
    if (pathJ == nullptr || !pathJ->is_string()) {
      errors.addViolationAt(path.field("path"), "must be defined");
    } else if (op == "remove" && (*pathJ == "" || *pathJ == "/")) {
      errors.addViolationAt(path.field("path"), "root path cannot be removed");
    }
  }
}

// Kuma's validatePatch: exactly one of `value` (merged into the resource) and `jsonPatches`.
void validatePatch(const PathBuilder& path, std::string_view name, const nlohmann::json& mod,
                   ValueKind kind, ValidationError& errors) {
  const nlohmann::json* value = member(mod, "value");
  const size_t patches = arraySize(mod, "jsonPatches");
  if (value != nullptr) {
    if (patches > 0) {
      errors.addViolationAt(
          path,
          absl::StrCat(std::string(name), " must have only one type defined: value, jsonPatches"));
    } else if (absl::Status s =
                   validateNativeValue(kind, value->get<std::string>(), /*patch=*/true);
               !s.ok()) {
      errors.addViolationAt(path.field("value"),
                            absl::StrCat("native Envoy resource is not valid: ", s.message()));
    }
    return;
  }
  if (patches > 0) {
    validateJsonPatchBlock(path.field("jsonPatches"), *member(mod, "jsonPatches"), errors);
    return;
  }
  errors.addViolationAt(
      path, absl::StrCat(std::string(name), " must have exactly one defined: value, jsonPatches"));
}

std::string availableOperations(const std::vector<std::string>& ops) {
  std::vector<std::string> quoted;
  for (const std::string& op : ops) {
    quoted.push_back(absl::StrCat("\"", op, "\""));
  }
  return absl::StrCat("invalid operation. Available operations: ", absl::StrJoin(quoted, ", "));
}

std::string operationOf(const nlohmann::json& mod) {
  const nlohmann::json* op = member(mod, "operation");
  return op != nullptr && op->is_string() ? op->get<std::string>() : "";
}

// validateClusterMod / validateListenerMod / validateVirtualHostMod.
void validateResourceMod(const PathBuilder& parent, std::string_view name,
                         const nlohmann::json& mod, ValueKind kind, ValidationError& errors) {
  const PathBuilder path = parent.field(name);
  const std::string op = operationOf(mod);
  if (op == "Add") {
    if (kind == ValueKind::VirtualHost) {
      if (hasMatchName(mod)) {
        errors.addViolationAt(path.field("match").field("name"), "must not be defined");
      }
    } else if (member(mod, "match") != nullptr) {
      errors.addViolationAt(path.field("match"), "must not be defined");
    }
    validateValue(path.field("value"), mod, kind, errors);
  } else if (op == "Patch") {
    validatePatch(path, name, mod, kind, errors);
  } else if (op == "Remove") {
    if (member(mod, "value") != nullptr) {
      errors.addViolationAt(path.field("value"), "must not be defined");
    }
  } else {
    errors.addViolationAt(path.field("operation"), availableOperations(resourceOps()));
  }
}

// validateHTTPFilterMod / validateNetworkFilterMod.
void validateFilterMod(const PathBuilder& parent, std::string_view name, const nlohmann::json& mod,
                       ValueKind kind, ValidationError& errors) {
  const PathBuilder path = parent.field(name);
  const std::string op = operationOf(mod);
  if (op == "AddFirst" || op == "AddLast") {
    validateValue(path.field("value"), mod, kind, errors);
  } else if (op == "AddBefore" || op == "AddAfter") {
    if (!hasMatchName(mod)) {
      errors.addViolationAt(path.field("match").field("name"),
                            op == "AddBefore" ? kBeforeErr : kAfterErr);
    }
    validateValue(path.field("value"), mod, kind, errors);
  } else if (op == "Patch") {
    if (!hasMatchName(mod)) {
      errors.addViolationAt(path.field("match").field("name"), "must be defined");
    }
    validatePatch(path, name, mod, kind, errors);
  } else if (op == "Remove") {
    if (member(mod, "value") != nullptr) {
      errors.addViolationAt(path.field("value"), "must not be defined");
    }
  } else {
    errors.addViolationAt(path.field("operation"), availableOperations(filterOps()));
  }
}

void validateDefault(const nlohmann::json* conf, ValidationError& errors) {
  const PathBuilder path = PathBuilder("spec").field("default").field("appendModifications");
  const nlohmann::json* mods = conf == nullptr ? nullptr : member(*conf, "appendModifications");
  if (mods == nullptr || !mods->is_array() || mods->empty()) {
    errors.addViolationAt(path, "must not be empty");
    return;
  }
  for (size_t i = 0; i < mods->size(); ++i) {
    const nlohmann::json& m = (*mods)[i];
    const PathBuilder item = path.index(i);
    int count = 0;
    for (const char* kind : {"cluster", "listener", "virtualHost", "networkFilter", "httpFilter"}) {
      count += member(m, kind) != nullptr ? 1 : 0;
    }
    if (count != 1) {
      errors.addViolationAt(
          item, absl::StrCat("exactly one modification can be defined at a time. Currently, ",
                             count, " modifications are defined"));
    } else if (const nlohmann::json* c = member(m, "cluster")) {
      validateResourceMod(item, "cluster", *c, ValueKind::Cluster, errors);
    } else if (const nlohmann::json* l = member(m, "listener")) {
      validateResourceMod(item, "listener", *l, ValueKind::Listener, errors);
    } else if (const nlohmann::json* v = member(m, "virtualHost")) {
      validateResourceMod(item, "virtualHost", *v, ValueKind::VirtualHost, errors);
    } else if (const nlohmann::json* n = member(m, "networkFilter")) {
      validateFilterMod(item, "networkFilter", *n, ValueKind::NetworkFilter, errors);
    } else if (const nlohmann::json* h = member(m, "httpFilter")) {
      validateFilterMod(item, "httpFilter", *h, ValueKind::HttpFilter, errors);
    }
  }
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  // Kuma's system policy role (no kuma.io/policy-role label, as on Universal).
  validateTopTargetRef(
      spec,
      {{kMesh, kMeshSubset, kMeshService, kMeshServiceSubset, kMeshGateway, kDataplane},
       false,
       false,
       {},
       {}},
      errors);
  validateDefault(member(spec, "default"), errors);
}

}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshProxyPatch", "meshproxypatches", "mpp", "Mesh Proxy Patch",
                "Mesh Proxy Patches"},
      .topKinds = {kMesh, kMeshSubset, kMeshService, kMeshServiceSubset, kMeshGateway, kDataplane},
      .schema = specSchema(),
      .validate = validate,
      .deprecations = topLevelTargetRefDeprecations,
  });
}

}  // namespace kuma::policies::meshproxypatch
