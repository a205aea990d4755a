#include "source/plugins/services/meshexternalservice/meshexternalservice.h"

#include <string>
#include <vector>

#include "source/core/resources/validation_helpers.h"
#include "source/plugins/policies/core/schema_spec.h"
#include "source/plugins/services/common.h"

namespace kuma::services::meshexternalservice {
namespace {

using namespace policies;  // NOLINT: the schema builders
using validators::PathBuilder;
using validators::ValidationError;

constexpr const char* kPortMessage = "port must be a valid (1-65535)";

SchemaPtr dataSourceSchema() {
  return object(
      {field("secret", string()), field("inline", string()), field("inlineString", string())});
}

SchemaPtr tlsVersionEnum() {
  return withDefault(enumOf({"TLSAuto", "TLS10", "TLS11", "TLS12", "TLS13"}), "TLSAuto");
}

// Field order is Kuma's Go struct order (the order of the stored and returned spec).
SchemaPtr specSchema() {
  return object({
      required("match",
               object({
                   field("type", withDefault(enumOf({"HostnameGenerator"}), "HostnameGenerator")),
                   required("port", int32(1, 65535)),
                   field("protocol", withDefault(enumOf({"tcp", "grpc", "http", "http2"}), "tcp")),
               })),
      field("extension", extensionSchema()),
      field("endpoints", arrayOf(object({
                             required("address", withLength(string(), 1, std::nullopt)),
                             required("port", int32(1, 65535)),
                             field("priority", int32(0, 128)),
                         }))),
      field(
          "tls",
          object({
              field("enabled", withDefault(boolean(), false)),
              field("version",
                    object({field("min", tlsVersionEnum()), field("max", tlsVersionEnum())})),
              field("allowRenegotiation", withDefault(boolean(), false)),
              field(
                  "verification",
                  object({
                      field("mode", withDefault(enumOf({"SkipSAN", "SkipCA", "Secured", "SkipAll"}),
                                                "Secured")),
                      field("serverName", string()),
                      field("subjectAltNames",
                            arrayOf(object({
                                field("type", withDefault(enumOf({"Exact", "Prefix"}), "Exact")),
                                required("value", string()),
                            }))),
                      field("caCert", dataSourceSchema()),
                      field("clientCert", dataSourceSchema()),
                      field("clientKey", dataSourceSchema()),
                  })),
          })),
  });
}

// Go marshals the non-pointer struct `vip` even when empty.
SchemaPtr statusSchema() {
  return object({
      field("vip", withDefault(vipSchema(), nlohmann::json::object())),
      field("addresses", arrayOf(addressSchema())),
      field("hostnameGenerators", arrayOf(hostnameGeneratorStatusSchema())),
  });
}

bool validPort(const nlohmann::json* port) {
  if (port == nullptr || !port->is_number_integer()) {
    return false;
  }
  const int64_t p = port->get<int64_t>();
  return p > 0 && p <= 65535;
}

void validateEndpoints(const PathBuilder& path, const nlohmann::json& endpoints,
                       ValidationError& errors) {
  for (size_t i = 0; i < endpoints.size(); ++i) {
    const nlohmann::json& e = endpoints[i];
    const nlohmann::json* address = member(e, "address");
    const std::string a =
        address != nullptr && address->is_string() ? address->get<std::string>() : std::string();
    const bool ip = resources::isIp(a);
    const bool dns = resources::isDnsName(a);
    // Kuma checks the port once for an IP and once more for a DNS name.
    for (bool kind : {ip, dns}) {
      if (kind && !validPort(member(e, "port"))) {
        errors.addViolationAt(path.index(i).field("port"), kPortMessage);
      }
    }
    if (!ip && !dns) {
      errors.addViolationAt(path.index(i).field("address"),
                            "address has to be a valid IP or hostname");
    }
  }
}

void validateTls(const PathBuilder& path, const nlohmann::json& tls, ValidationError& errors) {
  if (const nlohmann::json* version = member(tls, "version")) {
    validateTlsVersionOrder(path.field("version"), *version, errors);
  }
  const nlohmann::json* verification = member(tls, "verification");
  if (verification == nullptr) {
    return;
  }
  const PathBuilder v = path.field("verification");
  if (const nlohmann::json* serverName = member(*verification, "serverName");
      serverName != nullptr && serverName->is_string() &&
      !resources::isDnsName(serverName->get<std::string>())) {
    errors.addViolationAt(v.field("serverName"), "must be a valid DNS name");
  }
  const bool cert = member(*verification, "clientCert") != nullptr;
  const bool key = member(*verification, "clientKey") != nullptr;
  if (cert && !key) {
    errors.addViolationAt(v.field("clientKey"), "must be defined when clientCert is defined");
  }
  if (!cert && key) {
    errors.addViolationAt(v.field("clientCert"), "must be defined when clientKey is defined");
  }
}

// Kuma's MeshExternalServiceResource.validate past the schema (enums, ranges, required).
void validate(const nlohmann::json& spec, ValidationError& errors) {
  const PathBuilder path("spec");
  if (const nlohmann::json* match = member(spec, "match")) {
    if (!validPort(member(*match, "port"))) {
      errors.addViolationAt(path.field("match").field("port"), kPortMessage);
    }
  }
  const nlohmann::json* extension = member(spec, "extension");
  if (extension == nullptr) {  // with an extension, the extension validates the rest
    if (const nlohmann::json* endpoints = member(spec, "endpoints");
        endpoints != nullptr && endpoints->is_array()) {
      validateEndpoints(path.field("endpoints"), *endpoints, errors);
    }
    if (const nlohmann::json* tls = member(spec, "tls")) {
      validateTls(path.field("tls"), *tls, errors);
    }
  } else if (const nlohmann::json* type = member(*extension, "type");
             type == nullptr || !type->is_string() || type->get<std::string>().empty()) {
    errors.addViolationAt(path.field("extension").field("type"), "must not be empty");
  }
}

}  // namespace

PolicyDefinition definition() {
  PolicyDefinition d;
  d.name = "MeshExternalService";
  d.wsPath = "meshexternalservices";
  d.shortName = "extsvc";
  d.singularDisplayName = "Mesh External Service";
  d.pluralDisplayName = "Mesh External Services";
  d.isPolicy = false;
  d.schema = specSchema();
  d.statusSchema = statusSchema();
  d.validate = validate;
  d.validateResource = validateNameLength;
  // Kuma's Match.GetName(): the match port's number is the SNI section.
  d.resourceDeprecations = [](const model::Resource& resource) {
    std::vector<std::string> sections;
    const SchemaSpec* spec = schemaSpecOf(resource);
    const nlohmann::json* match = spec == nullptr ? nullptr : member(spec->spec(), "match");
    const nlohmann::json* port = match == nullptr ? nullptr : member(*match, "port");
    sections.push_back(
        port != nullptr && port->is_number_integer() ? std::to_string(port->get<int64_t>()) : "0");
    return destinationDeprecations(resource, "MeshExternalService", "extsvc", sections);
  };
  return d;
}

}  // namespace kuma::services::meshexternalservice
