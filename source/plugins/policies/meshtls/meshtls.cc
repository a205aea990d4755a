#include "source/plugins/policies/meshtls/meshtls.h"

#include <map>

namespace kuma::policies::meshtls {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

const std::vector<std::string>& allVersions() {
  static const std::vector<std::string> versions = {"TLSAuto", "TLS10", "TLS11", "TLS12", "TLS13"};
  return versions;
}

SchemaPtr confSchema() {
  return object({
      field("tlsVersion", object({
                              field("min", enumOf(allVersions())),
                              field("max", enumOf(allVersions())),
                          })),
      field("tlsCiphers", arrayOf(enumOf(allCiphers()))),
      field("mode", enumOf({"Permissive", "Strict"})),
  });
}

SchemaPtr specSchema() {
  return object({
      field("targetRef", targetRefSchema()),
      field("from", arrayOf(targetedItemSchema(confSchema(), false))),
      // MeshTLS rules have no `matches` (Kuma: L7 matching is not implemented for them).
      field("rules", arrayOf(object({field("default", confSchema())}))),
  });
}

// Kuma's validateDefault: TLS versions and ciphers only under a top-level Mesh.
void validateConf(const PathBuilder& path, const nlohmann::json* conf, std::string_view top,
                  ValidationError& errors) {
  if (conf == nullptr) {
    return;
  }
  if (arraySize(*conf, "tlsCiphers") > 0 && top != kMesh) {
    errors.addViolationAt(path.field("tlsCiphers"),
                          "tlsCiphers can only be defined with top level targetRef kind: Mesh");
  }
  if (const nlohmann::json* version = member(*conf, "tlsVersion")) {
    if (top != kMesh) {
      errors.addViolationAt(path.field("tlsVersion"),
                            "tlsVersion can only be defined with top level targetRef kind: Mesh");
    } else {
      validateTlsVersionOrder(path.field("tlsVersion"), *version, errors);
    }
  }
}

// Kuma's MeshTLSResource.validate: neither `from` nor `rules` is required, but not both.
void validate(const nlohmann::json& spec, ValidationError& errors) {
  validateTopTargetRef(spec, {{kMesh, kMeshSubset, kDataplane}, false, true, {}, {}}, errors);
  if (arraySize(spec, "rules") > 0 && arraySize(spec, "from") > 0) {
    errors.addViolationAt(PathBuilder("spec"),
                          "field 'from' must be empty when 'rules' is defined");
  }
  const std::string top = topLevelKind(spec);
  const ConfValidator conf = [&top](const PathBuilder& path, const nlohmann::json* c,
                                    ValidationError& e) { validateConf(path, c, top, e); };
  validateRuleItems(spec, conf, errors);
  validateTargetedItems(spec, "from", {{kMesh}, false, false, {}, {}}, conf, errors);
}

std::vector<std::string> deprecations(const nlohmann::json& spec) {
  return fromAndTargetRefDeprecations(spec, kFromDeprecatedUseRules);
}

}  // namespace

const std::vector<std::string>& allCiphers() {
  static const std::vector<std::string> ciphers = {
      "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
      "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-AES128-GCM-SHA256",
      "ECDHE-RSA-AES256-GCM-SHA384",   "ECDHE-RSA-CHACHA20-POLY1305"};
  return ciphers;
}

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshTLS", "meshtlses", "mtls", "Mesh TLS", "Mesh TLSes"},
      .topKinds = {kMesh, kMeshSubset, kDataplane},
      .from = true,
      .rules = true,
      .fromAsRules = true,
      .schema = specSchema(),
      .validate = validate,
      .deprecations = deprecations,
  });
}

}  // namespace kuma::policies::meshtls
