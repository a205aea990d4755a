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

void validateConf(const PathBuilder& path, const nlohmann::json* conf, const std::string& top,
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

void validate(const nlohmann::json& spec, ValidationError& errors) {
  PathBuilder root("spec");
  validateTopTargetRef(spec,
                       {{kMesh, kMeshSubset, kMeshGateway, kMeshService, kMeshServiceSubset,
                         kMeshHTTPRoute, kDataplane},
                        true,
                        true,
                        {}},
                       errors);
  const SectionSizes sections = validateSections(spec, errors);
  std::string top = topLevelKind(spec);
  auto conf = [&top](const PathBuilder& p, const nlohmann::json* c, ValidationError& e) {
    validateConf(p, c, top, e);
  };
  bool routeOrGateway = top == kMeshHTTPRoute || top == kMeshGateway;
  if (routeOrGateway && sections.from > 0) {
    errors.addViolationAt(root.field("from"), "must not be defined");
  } else {
    validateTargetedItems(spec, "from", {{kMesh}, false, true, {}}, conf, errors);
  }
  TargetRefOpts toOpts;
  toOpts.supportedKinds = destinationKinds(routeOrGateway);
  validateTargetedItems(spec, "to", toOpts, conf, errors);
  validateRuleItems(spec, conf, errors);
}

}  // namespace

namespace {
// Kuma's MeshTimeoutResource.Deprecations (api/v1alpha1/deprecated.go).
std::vector<std::string> deprecations(const nlohmann::json& spec) {
  std::vector<std::string> out;
  if (arraySize(spec, "from") > 0) {
    out.emplace_back("'from' field is deprecated, use 'rules' instead");
  }
  for (std::string& w : topLevelTargetRefDeprecations(spec)) {
    out.push_back(std::move(w));
  }
  return out;
}
}  // namespace

PolicyDefinition definition() {
  SchemaPtr conf = confSchema();
  PolicyDefinition d;
  d.name = "MeshTimeout";
  d.wsPath = "meshtimeouts";
  d.shortName = "mt";
  d.singularDisplayName = "Mesh Timeout";
  d.pluralDisplayName = "Mesh Timeouts";
  d.flags.hasToTargetRef = true;
  d.flags.hasFromTargetRef = true;
  d.flags.hasRulesTargetRef = true;
  d.flags.isFromAsRules = true;
  d.isInbound = true;
  d.isOutbound = true;
  d.schema = object({
      field("targetRef", targetRefSchema()),
      field("from", arrayOf(targetedItemSchema(conf, false))),
      field("to", arrayOf(targetedItemSchema(conf, false))),
      field("rules", arrayOf(ruleItemSchema(conf, false))),
  });
  d.validate = validate;
  d.deprecations = deprecations;
  return d;
}

}  // namespace kuma::policies::meshtimeout
