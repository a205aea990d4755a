#include "source/plugins/services/meshservice/meshservice.h"

#include <string>
#include <vector>

#include "source/plugins/services/common.h"

namespace kuma::services::meshservice {
namespace {

using namespace policies;  // NOLINT: the schema builders
using validators::PathBuilder;
using validators::ValidationError;

// Field order is Kuma's Go struct order (the order of the stored and returned spec).
SchemaPtr specSchema() {
  return object({
      field("state", withDefault(enumOf({"Available", "Unavailable"}), "Unavailable")),
      field("selector", withDefault(object({
                                        field("dataplaneTags", mapOf(string())),
                                        field("dataplaneRef", object({field("name", string())})),
                                        field("dataplaneLabels", labelSelectorSchema()),
                                    }),
                                    nlohmann::json::object())),
      field("ports", arrayOf(object({
                         field("name", string()),
                         required("port", int32()),
                         field("targetPort", intOrString()),
                         field("appProtocol", withDefault(string(), "tcp")),
                     }))),
      field("identities", arrayOf(object({
                              required("type", enumOf({"ServiceTag", "SpiffeID"})),
                              required("value", string()),
                          }))),
  });
}

// Go marshals the non-pointer structs `tls` and `dataplaneProxies` even when empty (their
// `default`s here; docs/kubernetes.md: not in the CRD). The counters are Go `int`s.
SchemaPtr statusSchema() {
  return object({
      field("addresses", arrayOf(addressSchema())),
      field("vips", arrayOf(vipSchema())),
      field("tls", withDefault(object({field("status", enumOf({"Ready", "NotReady"}))}),
                               nlohmann::json::object())),
      field("hostnameGenerators", arrayOf(hostnameGeneratorStatusSchema())),
      field("dataplaneProxies",
            withDefault(object({field("connected", int64()), field("healthy", int64()),
                                field("total", int64())}),
                        nlohmann::json::object())),
  });
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  const nlohmann::json* selector = member(spec, "selector");
  if (selector == nullptr) {
    return;
  }
  int set = 0;
  for (const char* key : {"dataplaneTags", "dataplaneRef", "dataplaneLabels"}) {
    set += member(*selector, key) != nullptr ? 1 : 0;
  }
  if (set > 1) {
    errors.addViolationAt(PathBuilder("spec").field("selector"),
                          "must specify only one of: dataplaneTags, dataplaneRef, or "
                          "dataplaneLabels");
  }
}

}  // namespace

PolicyDefinition definition() {
  PolicyDefinition d;
  d.name = "MeshService";
  d.wsPath = "meshservices";
  d.shortName = "msvc";
  d.singularDisplayName = "Mesh Service";
  d.pluralDisplayName = "Mesh Services";
  d.isPolicy = false;
  d.includeInFederation = false;
  d.schema = specSchema();
  d.statusSchema = statusSchema();
  d.validate = validate;
  d.validateResource = validateNameLength;
  d.resourceDeprecations = [](const model::Resource& resource) {
    return destinationDeprecations(resource, "MeshService", "msvc", portSectionNames(resource));
  };
  return d;
}

}  // namespace kuma::services::meshservice
