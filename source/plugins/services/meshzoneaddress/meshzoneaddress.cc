#include "source/plugins/services/meshzoneaddress/meshzoneaddress.h"

namespace kuma::services::meshzoneaddress {
namespace {

using namespace policies;  // NOLINT: the schema builders

// Kuma validates a MeshZoneAddress with its schema only.
SchemaPtr specSchema() {
  return object({
      required("address", withLength(string(), 1, std::nullopt)),
      required("port", int32(1, 65535)),
  });
}

}  // namespace

PolicyDefinition definition() {
  PolicyDefinition d;
  d.name = "MeshZoneAddress";
  d.wsPath = "meshzoneaddresses";
  d.shortName = "mza";
  d.singularDisplayName = "Mesh Zone Address";
  d.pluralDisplayName = "Mesh Zone Addresses";
  d.isPolicy = false;
  d.includeInFederation = false;
  d.schema = specSchema();
  return d;
}

}  // namespace kuma::services::meshzoneaddress
