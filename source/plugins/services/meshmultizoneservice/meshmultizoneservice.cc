#include "source/plugins/services/meshmultizoneservice/meshmultizoneservice.h"

#include <string>

#include "source/plugins/services/common.h"

namespace kuma::services::meshmultizoneservice {
namespace {

using namespace policies;  // NOLINT: the schema builders
using validators::PathBuilder;
using validators::ValidationError;

// Kuma's SupportedProtocols, in its order.
constexpr const char* kSupportedProtocols[] = {"grpc", "http", "http2", "kafka", "tcp"};

SchemaPtr specSchema() {
  return object({
      required("selector", object({required("meshService", labelSelectorSchema())})),
      required("ports", arrayOf(object({
                                    field("name", string()),
                                    required("port", int32()),
                                    field("appProtocol", withDefault(string(), "tcp")),
                                }),
                                1)),
  });
}

// Every member is an omitempty slice: the zero status is `{}`.
SchemaPtr statusSchema() {
  return object({
      field("addresses", arrayOf(addressSchema())),
      field("vips", arrayOf(vipSchema())),
      field("meshServices", arrayOf(object({
                                required("name", string()),
                                required("namespace", string()),
                                required("zone", string()),
                                required("mesh", string()),
                            }))),
      field("hostnameGenerators", arrayOf(hostnameGeneratorStatusSchema())),
      field("conditions", arrayOf(conditionSchema())),
  });
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  const PathBuilder path("spec");
  const nlohmann::json* selector = member(spec, "selector");
  const nlohmann::json* meshService =
      selector == nullptr ? nullptr : member(*selector, "meshService");
  const nlohmann::json* labels =
      meshService == nullptr ? nullptr : member(*meshService, "matchLabels");
  if (labels == nullptr || !labels->is_object() || labels->empty()) {
    errors.addViolationAt(path.field("selector").field("meshService").field("matchLabels"),
                          "cannot be empty");
  }
  const nlohmann::json* ports = member(spec, "ports");
  if (ports == nullptr || !ports->is_array() || ports->empty()) {
    errors.addViolationAt(path.field("ports"), "cannot be empty");
    return;
  }
  for (size_t i = 0; i < ports->size(); ++i) {
    const nlohmann::json& port = (*ports)[i];
    if (const nlohmann::json* name = member(port, "name");
        name != nullptr && name->is_string() && name->get<std::string>().empty()) {
      errors.addViolationAt(path.field("ports").index(i).field("name"), "must not be empty");
    }
    const nlohmann::json* protocol = member(port, "appProtocol");
    const std::string p =
        protocol != nullptr && protocol->is_string() ? protocol->get<std::string>() : std::string();
    bool known = false;
    for (const char* s : kSupportedProtocols) {
      known = known || p == s;
    }
    if (!known) {
      errors.addViolationAt(path.field("ports").index(i).field("appProtocol"),
                            "appProtocol must be one of: grpc, http, http2, kafka, tcp");
    }
  }
}

}  // namespace

PolicyDefinition definition() {
  PolicyDefinition d;
  d.name = "MeshMultiZoneService";
  d.wsPath = "meshmultizoneservices";
  d.shortName = "mzsvc";
  d.singularDisplayName = "Mesh Multi Zone Service";
  d.pluralDisplayName = "Mesh Multi Zone Services";
  d.isPolicy = false;
  d.providedByZone = false;  // created on the global control plane only: no origin/zone labels
  d.schema = specSchema();
  d.statusSchema = statusSchema();
  d.validate = validate;
  d.resourceDeprecations = [](const model::Resource& resource) {
    return destinationDeprecations(resource, "MeshMultiZoneService", "mzsvc",
                                   portSectionNames(resource));
  };
  return d;
}

}  // namespace kuma::services::meshmultizoneservice
