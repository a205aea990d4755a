#include "source/plugins/policies/meshtimeout/meshtimeout.h"

namespace kuma::policies::meshtimeout {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

SchemaPtr confSchema() {
  return object({
      field("connectionTimeout", duration()),
      field("idleTimeout", duration()),
      field("http", object({
                        field("requestTimeout", duration()),
                        field("streamIdleTimeout", duration()),
                        field("maxStreamDuration", duration()),
                        field("maxConnectionDuration", duration()),
                        field("requestHeadersTimeout", duration()),
                    })),
  });
}

void validateConf(const PathBuilder& path, const nlohmann::json* conf, std::string_view top,
                  ValidationError& errors) {
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& c = conf != nullptr ? *conf : empty;
  const nlohmann::json* http = member(c, "http");
  if (member(c, "connectionTimeout") == nullptr && member(c, "idleTimeout") == nullptr &&
      http == nullptr) {
    errors.addViolationAt(path, "at least one timeout should be configured");
    return;
  }
  if (top == kMeshHTTPRoute) {
    const char* msg = "can't be specified when top-level TargetRef is referencing MeshHTTPRoute";
    for (const char* f : {"connectionTimeout", "idleTimeout"}) {
      if (member(c, f) != nullptr) {
        errors.addViolationAt(path.field(f), msg);
      }
    }
    if (http != nullptr) {
      for (const char* f : {"maxStreamDuration", "maxConnectionDuration"}) {
        if (member(*http, f) != nullptr) {
          errors.addViolationAt(path.field("http").field(f), msg);
        }
      }
    }
  }
  validateDurationGreaterThanZeroOrNil(path, c, "connectionTimeout", errors);
  validateDurationNotNegativeOrNil(path, c, "idleTimeout", errors);
  if (http != nullptr) {
    PathBuilder httpPath = path.field("http");
    if (member(*http, "requestTimeout") == nullptr &&
        member(*http, "streamIdleTimeout") == nullptr &&
        member(*http, "maxStreamDuration") == nullptr &&
        member(*http, "maxConnectionDuration") == nullptr &&
        member(*http, "requestHeadersTimeout") == nullptr) {
      errors.addViolationAt(httpPath, "at least one timeout in this section should be configured");
    }
    for (const char* f : {"requestTimeout", "streamIdleTimeout", "maxStreamDuration",
                          "maxConnectionDuration", "requestHeadersTimeout"}) {
      validateDurationNotNegativeOrNil(httpPath, *http, f, errors);
    }
  }
}

}  // namespace

namespace {
// Kuma's MeshTimeoutResource.Deprecations (api/v1alpha1/deprecated.go).
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  return fromAndTargetRefDeprecations(spec, kFromDeprecatedUseRules);
}
}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshTimeout", "meshtimeouts", "mt", "Mesh Timeout", "Mesh Timeouts"},
      .topKinds = {kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset,
                   kMeshHTTPRoute, kDataplane},
      .to = true,
      .from = true,
      .rules = true,
      .fromAsRules = true,
      .toTargetRefOpts = routeAwareDestinationOpts,
      .conf = confSchema(),
      .validateConf = validateConf,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshtimeout
