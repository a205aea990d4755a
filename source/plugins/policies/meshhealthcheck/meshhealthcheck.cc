#include "source/plugins/policies/meshhealthcheck/meshhealthcheck.h"

namespace kuma::policies::meshhealthcheck {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

SchemaPtr confSchema() {
  return object({
      field("interval", duration()),
      field("timeout", duration()),
      field("unhealthyThreshold", int32()),
      field("healthyThreshold", int32()),
      field("initialJitter", duration()),
      field("intervalJitter", duration()),
      field("intervalJitterPercent", int32()),
      field("healthyPanicThreshold", intOrString()),
      field("failTrafficOnPanic", boolean()),
      field("eventLogPath", string()),
      field("alwaysLogHealthCheckFailures", boolean()),
      field("noTrafficInterval", duration()),
      field("tcp", object({field("disabled", boolean()), field("send", string()),
                           field("receive", arrayOf(string()))})),
      field("http", object({
                        field("disabled", boolean()),
                        field("path", string()),
                        field("requestHeadersToAdd", headerModifierSchema(false)),
                        field("expectedStatuses", arrayOf(int32())),
                    })),
      field("grpc", object({field("disabled", boolean()), field("serviceName", string()),
                            field("authority", string())})),
      field("reuseConnection", boolean()),
  });
}

void validateConf(const PathBuilder& path, const nlohmann::json* conf, std::string_view /*top*/,
                  ValidationError& errors) {
  if (conf == nullptr) {
    return;
  }
  const nlohmann::json& c = *conf;
  validateDurationGreaterThanZeroOrNil(path, c, "interval", errors);
  validateDurationGreaterThanZeroOrNil(path, c, "timeout", errors);
  validateValueGreaterThanZeroOrNil(path, c, "unhealthyThreshold", errors);
  validateValueGreaterThanZeroOrNil(path, c, "healthyThreshold", errors);
  validateDurationGreaterThanZeroOrNil(path, c, "initialJitter", errors);
  validateDurationGreaterThanZeroOrNil(path, c, "intervalJitter", errors);
  validateIntPercentageOrNil(path, c, "intervalJitterPercent", errors);
  validatePercentageOrNil(path, c, "healthyPanicThreshold", errors);
  validateDurationGreaterThanZeroOrNil(path, c, "noTrafficInterval", errors);
  if (const nlohmann::json* http = member(c, "http")) {
    if (const nlohmann::json* statuses = member(*http, "expectedStatuses")) {
      for (size_t i = 0; i < statuses->size(); ++i) {
        int64_t s = (*statuses)[i].get<int64_t>();
        if (s < 100 || s >= 600) {
          errors.addViolationAt(path.field("http").field("expectedStatuses").index(i),
                                "must be in inclusive range [100, 599]");
        }
      }
    }
  }
  if (member(c, "http") == nullptr && member(c, "tcp") == nullptr && member(c, "grpc") == nullptr) {
    errors.addViolationAt(path, "must have at least one defined: http, tcp, grpc");
  }
}

}  // namespace

namespace {
// Kuma's MeshHealthCheckResource.Deprecations (api/v1alpha1/deprecated.go).
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  std::vector<std::string> out = topLevelTargetRefDeprecations(spec);
  if (arraySize(spec, "to") > 0) {
    for (const auto& to : spec["to"]) {
      const nlohmann::json* conf = member(to, "default");
      if (conf != nullptr && member(*conf, "healthyPanicThreshold") != nullptr) {
        out.emplace_back(
            "healthyPanicThreshold for 'to[].default' is deprecated. The setting has been moved "
            "to MeshCircuitBreaker policy, please use MeshCircuitBreaker policy instead.");
      }
    }
  }
  return out;
}
}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshHealthCheck", "meshhealthchecks", "mhc", "Mesh Health Check",
                "Mesh Health Checks"},
      .topKinds = {kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset, kDataplane},
      .to = true,
      .toKinds = destinationKinds(false),
      .conf = confSchema(),
      .validateConf = validateConf,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshhealthcheck
