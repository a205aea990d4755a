#include "source/plugins/policies/meshmetric/meshmetric.h"

#include <regex>

namespace kuma::policies::meshmetric {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

// Longest `Regex` selector compiled at validation (std::regex recurses on the pattern).
constexpr size_t kMaxRegexBytes = 1024;

// Field order is Kuma's Go struct order (the order of the stored spec).
SchemaPtr confSchema() {
  SchemaPtr selector = object({
      required("type", enumOf({"Prefix", "Regex", "Exact", "Contains"})),
      required("match", string()),
  });
  SchemaPtr profiles = object({
      field("appendProfiles",
            arrayOf(object({required("name", enumOf({"All", "Basic", "None"}))}))),
      field("exclude", arrayOf(selector)),
      field("include", arrayOf(selector)),
  });
  SchemaPtr sidecar = object({
      field("profiles", profiles),
      field("includeUnused", boolean()),
  });
  SchemaPtr application = object({
      field("name", string()),
      field("path", withDefault(string(), "/metrics")),
      field("address", string()),
      required("port", int32()),
  });
  SchemaPtr prometheus = object({
      field("clientId", string()),
      field("port", withDefault(int32(), 5670)),
      field("path", withDefault(string(), "/metrics")),
      field("tls", object({field(
                       "mode", withDefault(enumOf({"Disabled", "ProvidedTLS", "ActiveMTLSBackend"}),
                                           "Disabled"))})),
  });
  SchemaPtr openTelemetry = object({
      field("endpoint", withDefault(string(), "")),
      field("backendRef", object({required("kind", enumOf({"MeshOpenTelemetryBackend"})),
                                  field("labels", mapOf(string()))})),
      field("refreshInterval", duration()),
  });
  SchemaPtr backend = object({
      required("type", enumOf({"Prometheus", "OpenTelemetry"})),
      field("prometheus", prometheus),
      field("openTelemetry", openTelemetry),
  });
  return object({
      field("sidecar", sidecar),
      field("applications", arrayOf(application)),
      field("backends", arrayOf(backend)),
  });
}

SchemaPtr specSchema() {
  return object({field("targetRef", targetRefSchema()), field("default", confSchema())});
}

std::string stringMember(const nlohmann::json& obj, std::string_view key) {
  const nlohmann::json* v = member(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

int64_t intMember(const nlohmann::json& obj, std::string_view key) {
  const nlohmann::json* v = member(obj, key);
  return v != nullptr && v->is_number_integer() ? v->get<int64_t>() : 0;
}

// validators.ValidatePort.
void validatePort(const PathBuilder& path, int64_t port, ValidationError& errors) {
  if (port <= 0 || port > 65535) {
    errors.addViolationAt(path, "port must be a valid (1-65535)");
  }
}

bool compiles(const std::string& pattern) {
  if (pattern.size() > kMaxRegexBytes) {
    return false;
  }
  try {
    std::regex re(pattern);
    return true;
  } catch (const std::regex_error&) {
    return false;
  }
}

void validateSelectors(const PathBuilder& path, const nlohmann::json& profiles,
                       std::string_view key, ValidationError& errors) {
  for (size_t i = 0; i < arraySize(profiles, key); ++i) {
    const nlohmann::json& selector = profiles[std::string(key)][i];
    const PathBuilder at = path.field(key).index(i);
    const std::string type = stringMember(selector, "type");
    if (type == "Regex") {
      if (!compiles(stringMember(selector, "match"))) {
        errors.addViolationAt(at.field("match"), "invalid regex");
      }
    } else if (type != "Prefix" && type != "Exact" && type != "Contains") {
      errors.addViolationAt(at.field("type"), "unrecognized type '" + type +
                                                  "' - 'Regex', 'Prefix', 'Exact' are supported");
    }
  }
}

void validateSidecar(const PathBuilder& path, const nlohmann::json& sidecar,
                     ValidationError& errors) {
  const nlohmann::json* profiles = member(sidecar, "profiles");
  if (profiles == nullptr) {
    return;
  }
  const PathBuilder pp = path.field("profiles");
  validateSelectors(pp, *profiles, "exclude", errors);
  validateSelectors(pp, *profiles, "include", errors);
  for (size_t i = 0; i < arraySize(*profiles, "appendProfiles"); ++i) {
    const std::string name = stringMember((*profiles)["appendProfiles"][i], "name");
    if (name != "All" && name != "None" && name != "Basic") {
      errors.addViolationAt(
          pp.field("appendProfiles").index(i).field("name"),
          "unrecognized profile name '" + name + "' - 'All', 'None', 'Basic' are supported");
    }
  }
}

void validateDefault(const nlohmann::json* conf, ValidationError& errors) {
  if (conf == nullptr) {
    return;
  }
  const PathBuilder path = PathBuilder("spec").field("default");
  if (const nlohmann::json* sidecar = member(*conf, "sidecar")) {
    validateSidecar(path.field("sidecar"), *sidecar, errors);
  }
  for (size_t i = 0; i < arraySize(*conf, "applications"); ++i) {
    validatePort(path.field("applications").field("application").index(i),
                 intMember((*conf)["applications"][i], "port"), errors);
  }
  for (size_t i = 0; i < arraySize(*conf, "backends"); ++i) {
    const nlohmann::json& backend = (*conf)["backends"][i];
    const PathBuilder bp = path.field("backends").field("backend").index(i);
    const std::string type = stringMember(backend, "type");
    if (type == "Prometheus") {
      const nlohmann::json* prometheus = member(backend, "prometheus");
      if (prometheus == nullptr) {
        errors.addViolationAt(bp.field("prometheus"), "must be defined");
      } else {
        validatePort(bp.field("port"), intMember(*prometheus, "port"), errors);
      }
    } else if (type == "OpenTelemetry") {
      const nlohmann::json* otel = member(backend, "openTelemetry");
      if (otel == nullptr) {
        errors.addViolationAt(bp.field("openTelemetry"), "must be defined");
      } else {
        validateOtelBackendRefOrEndpoint(bp.field("openTelemetry"), *otel, /*hostPort=*/true,
                                         errors);
      }
    } else {
      errors.addViolationAt(bp, "unrecognized type");
    }
  }
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  // Kuma's system policy role (no kuma.io/policy-role label, as on Universal): MeshGateway with
  // listener tags is accepted on top.
  validateTopTargetRef(
      spec,
      {{kMesh, kMeshSubset, kMeshService, kMeshServiceSubset, kMeshGateway, kDataplane},
       true,
       false,
       {},
       {}},
      errors);
  validateDefault(member(spec, "default"), errors);
}

}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshMetric", "meshmetrics", "mm", "Mesh Metric", "Mesh Metrics"},
      .topKinds = {kMesh, kMeshSubset, kMeshService, kMeshServiceSubset, kMeshGateway, kDataplane},
      .schema = specSchema(),
      .validate = validate,
      .deprecations = otelBackendPolicyDeprecations,
  });
}

}  // namespace kuma::policies::meshmetric
