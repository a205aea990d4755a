#include "source/plugins/policies/meshfaultinjection/meshfaultinjection.h"

#include <cctype>

namespace kuma::policies::meshfaultinjection {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

SchemaPtr confSchema() {
  return object({field(
      "http",
      arrayOf(object({
          field("abort",
                object({required("httpStatus", int32()), required("percentage", intOrString())})),
          field("delay",
                object({required("value", duration()), required("percentage", intOrString())})),
          field("responseBandwidth",
                object({required("limit", string()), required("percentage", intOrString())})),
      })))});
}

// ^(\d*)\s?([GMk]+bps)$
bool isBandwidth(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
    ++i;
  }
  if (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) {
    ++i;
  }
  size_t units = i;
  while (i < s.size() && (s[i] == 'G' || s[i] == 'M' || s[i] == 'k')) {
    ++i;
  }
  return i > units && s.substr(i) == "bps";
}

void validateConf(const PathBuilder& path, const nlohmann::json* conf, std::string_view /*top*/,
                  ValidationError& errors) {
  const nlohmann::json* http = conf != nullptr ? member(*conf, "http") : nullptr;
  if (http == nullptr) {
    return;
  }
  for (size_t i = 0; i < http->size(); ++i) {
    const nlohmann::json& fault = (*http)[i];
    PathBuilder fp = path.field("http").index(i);
    if (const nlohmann::json* abort = member(fault, "abort")) {
      validateStatusCode(fp.field("abort"), *abort, "httpStatus", errors);
      validatePercentage(fp.field("abort"), *abort, "percentage", true, errors);
    }
    if (const nlohmann::json* delay = member(fault, "delay")) {
      validateDurationGreaterThanZero(fp.field("delay"), *delay, "value", errors);
      validatePercentage(fp.field("delay"), *delay, "percentage", true, errors);
    }
    if (const nlohmann::json* bw = member(fault, "responseBandwidth")) {
      std::string limit = bw->value("limit", "");
      if (limit.empty()) {
        errors.addViolationAt(fp.field("responseBandwidth").field("limit"), "must be defined");
      } else if (!isBandwidth(limit)) {
        errors.addViolationAt(fp.field("responseBandwidth").field("limit"),
                              "must be in kbps/Mbps/Gbps units");
      }
      validatePercentage(fp.field("responseBandwidth"), *bw, "percentage", true, errors);
    }
  }
}

}  // namespace

namespace {
// Kuma's MeshFaultInjectionResource.Deprecations (api/v1alpha1/deprecated.go).
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  return fromAndTargetRefDeprecations(
      spec, "'from' field is deprecated, use 'rules' with SPIFFE-based 'matches' instead");
}
}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshFaultInjection", "meshfaultinjections", "mfi", "Mesh Fault Injection",
                "Mesh Fault Injections"},
      .topKinds = {kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset, kDataplane},
      .to = true,
      .from = true,
      .rules = true,
      .ruleDefaultRequired = true,
      .fromKinds = {kMesh, kMeshSubset, kMeshService, kMeshServiceSubset},
      .toKinds = std::vector<std::string_view>{kMesh},
      .toOnlyWithGateways = true,
      .fromUnderGateways = true,
      .conf = confSchema(),
      .validateConf = validateConf,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshfaultinjection
