#include "source/plugins/policies/meshtcproute/meshtcproute.h"

namespace kuma::policies::meshtcproute {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

void validate(const nlohmann::json& spec, ValidationError& errors) {
  validateTopTargetRef(
      spec,
      {{kMesh, kMeshSubset, kMeshService, kMeshServiceSubset, kDataplane, kMeshGateway},
       true,
       false,
       {},
       {}},
      errors);
  std::string top = topLevelKind(spec);
  const nlohmann::json* tos = member(spec, "to");
  if (tos == nullptr) {
    return;
  }
  for (size_t t = 0; t < tos->size(); ++t) {
    const nlohmann::json& to = (*tos)[t];
    PathBuilder tp = PathBuilder("spec").field("to").index(t);
    TargetRefOpts toOpts;
    toOpts.supportedKinds = destinationKinds(top == kMeshGateway, /*withMesh=*/false);
    const nlohmann::json* ref = member(to, "targetRef");
    errors.addAt(tp.field("targetRef"),
                 validateTargetRef(ref != nullptr ? *ref : nlohmann::json::object(), toOpts));
    const nlohmann::json* rules = member(to, "rules");
    if (rules == nullptr) {
      continue;
    }
    for (size_t r = 0; r < rules->size(); ++r) {
      const nlohmann::json* def = member((*rules)[r], "default");
      const nlohmann::json* backends = def != nullptr ? member(*def, "backendRefs") : nullptr;
      if (backends == nullptr) {
        continue;
      }
      PathBuilder bp = tp.field("rules").index(r).field("default").field("backendRefs");
      for (size_t b = 0; b < backends->size(); ++b) {
        const nlohmann::json& backend = (*backends)[b];
        TargetRefOpts opts;
        opts.supportedKinds = {kMeshService, kMeshServiceSubset, kMeshExternalService,
                               kMeshMultiZoneService};
        errors.addAt(bp.index(b), validateTargetRef(backend, opts));
        if (backend.value("kind", "") == kMeshMultiZoneService &&
            member(backend, "port") == nullptr) {
          errors.addViolationAt(bp.index(b).field("port"),
                                "must be defined with kind MeshMultiZoneService");
        }
      }
    }
  }
}

}  // namespace

namespace {
// Kuma's MeshTCPRouteResource.Deprecations (api/v1alpha1/deprecated.go).
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  return topLevelTargetRefDeprecations(spec);
}
}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshTCPRoute", "meshtcproutes", "mtcpr", "Mesh TCP Route", "Mesh TCP Routes"},
      .to = true,
      .schema = object({
          field("targetRef", targetRefSchema()),
          field("to",
                arrayOf(object({
                            required("targetRef", targetRefSchema()),
                            required("rules",
                                     arrayOf(object({required(
                                                 "default",
                                                 object({field("backendRefs",
                                                               arrayOf(backendRefSchema()))}))}),
                                             std::nullopt, 1)),
                        }),
                        1)),
      }),
      .validate = validate,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshtcproute
