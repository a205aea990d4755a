#include "source/plugins/policies/meshcircuitbreaker/meshcircuitbreaker.h"

namespace kuma::policies::meshcircuitbreaker {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

SchemaPtr confSchema() {
  SchemaPtr consecutive = object({field("consecutive", int32())});
  return object({
      field("connectionLimits", object({
                                    field("maxConnections", int32()),
                                    field("maxConnectionPools", int32()),
                                    field("maxPendingRequests", int32()),
                                    field("maxRequests", int32()),
                                    field("maxRetries", int32()),
                                })),
      field("outlierDetection",
            object({
                field("disabled", boolean()),
                field("interval", duration()),
                field("baseEjectionTime", duration()),
                field("maxEjectionPercent", int32()),
                field("splitExternalAndLocalErrors", boolean()),
                field("healthyPanicThreshold", intOrString()),
                field("detectors",
                      object({
                          field("totalFailures", consecutive),
                          field("gatewayFailures", consecutive),
                          field("localOriginFailures", consecutive),
                          field("successRate", object({
                                                   field("minimumHosts", int32()),
                                                   field("requestVolume", int32()),
                                                   field("standardDeviationFactor", intOrString()),
                                               })),
                          field("failurePercentage", object({
                                                         field("minimumHosts", int32()),
                                                         field("requestVolume", int32()),
                                                         field("threshold", int32()),
                                                     })),
                      })),
            })),
  });
}

void validateConf(const PathBuilder& path, const nlohmann::json* conf, std::string_view /*top*/,
                  ValidationError& errors) {
  const nlohmann::json empty = nlohmann::json::object();
  const nlohmann::json& c = conf != nullptr ? *conf : empty;
  const nlohmann::json* limits = member(c, "connectionLimits");
  const nlohmann::json* outlier = member(c, "outlierDetection");
  if (limits == nullptr && outlier == nullptr) {
    errors.addViolationAt(path,
                          "must have at least one defined: connectionLimits, outlierDetection");
    return;
  }
  if (limits != nullptr) {
    PathBuilder lp = path.field("connectionLimits");
    if (limits->empty()) {
      errors.addViolationAt(lp,
                            "must have at least one defined: maxConnections, "
                            "maxConnectionPools, maxPendingRequests, maxRequests, maxRetries");
    }
    for (const char* f : {"maxConnections", "maxConnectionPools", "maxPendingRequests",
                          "maxRequests", "maxRetries"}) {
      validateValueGreaterThanZeroOrNil(lp, *limits, f, errors);
    }
  }
  if (outlier != nullptr) {
    PathBuilder op = path.field("outlierDetection");
    validateDurationGreaterThanZeroOrNil(op, *outlier, "interval", errors);
    validateDurationGreaterThanZeroOrNil(op, *outlier, "baseEjectionTime", errors);
    validateIntPercentageOrNil(op, *outlier, "maxEjectionPercent", errors);
    validatePercentageOrNil(op, *outlier, "healthyPanicThreshold", errors);
    if (const nlohmann::json* det = member(*outlier, "detectors")) {
      PathBuilder dp = op.field("detectors");
      for (const char* f : {"totalFailures", "gatewayFailures", "localOriginFailures"}) {
        if (const nlohmann::json* d = member(*det, f)) {
          validateValueGreaterThanZeroOrNil(dp.field(f), *d, "consecutive", errors);
        }
      }
      if (const nlohmann::json* sr = member(*det, "successRate")) {
        if (const nlohmann::json* f = member(*sr, "standardDeviationFactor")) {
          auto v = decimalOf(*f);
          if (!v) {
            errors.addViolationAt(dp.field("successRate").field("standardDeviationFactor"),
                                  "string must be a valid number");
          } else if (*v < 0) {
            errors.addViolationAt(dp.field("successRate").field("standardDeviationFactor"),
                                  "must be greater or equal then: 0");
          }
        }
      }
      if (const nlohmann::json* fp = member(*det, "failurePercentage")) {
        validateIntPercentageOrNil(dp.field("failurePercentage"), *fp, "threshold", errors);
      }
    }
  }
}

}  // namespace

namespace {
// Kuma's MeshCircuitBreakerResource.Deprecations (api/v1alpha1/deprecated.go).
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  return fromAndTargetRefDeprecations(spec, kFromDeprecatedUseRules);
}
}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshCircuitBreaker", "meshcircuitbreakers", "mcb", "Mesh Circuit Breaker",
                "Mesh Circuit Breakers"},
      .topKinds = {kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset, kDataplane},
      .to = true,
      .from = true,
      .rules = true,
      .fromAsRules = true,
      .toKinds = destinationKinds(false),
      .conf = confSchema(),
      .validateConf = validateConf,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshcircuitbreaker
