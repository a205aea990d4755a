#include "source/plugins/policies/meshpassthrough/meshpassthrough.h"

#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "source/core/resources/validation_helpers.h"

namespace kuma::policies::meshpassthrough {
namespace {

using validators::PathBuilder;
using validators::ValidationError;

const std::vector<std::string>& allProtocols() {
  static const std::vector<std::string> protocols = {"tcp",  "tls",   "grpc",
                                                     "http", "http2", "mysql"};
  return protocols;
}

// Protocols that may not share a port with another protocol (Kuma's
// notAllowedProtocolsOnTheSamePort).
bool isL7(std::string_view protocol) {
  return protocol == "grpc" || protocol == "http" || protocol == "http2";
}

// Field order is Kuma's Go struct order (the order of the stored spec). The schema's enums are
// checked before the validator runs, as Kuma's REST API does with its OpenAPI schema.
SchemaPtr specSchema() {
  SchemaPtr match = object({
      required("type", enumOf({"Domain", "IP", "CIDR"})),
      required("value", string()),
      field("port", int64()),
      field("protocol", withDefault(enumOf(allProtocols()), "tcp")),
  });
  SchemaPtr conf = object({
      field("passthroughMode", enumOf({"All", "Matched", "None"})),
      field("appendMatch", arrayOf(match)),
  });
  return object({
      field("targetRef", targetRefSchema()),
      // Go's `Default Conf` (a struct, never omitted): `{}` when absent.
      field("default", withDefault(conf, nlohmann::json::object())),
  });
}

// Go's net.ParseCIDR: an IP literal, a slash and a prefix length within the family's bits.
bool isCidr(std::string_view value) {
  const size_t slash = value.find('/');
  if (slash == std::string_view::npos) {
    return false;
  }
  const std::string_view ip = value.substr(0, slash);
  const std::string_view bits = value.substr(slash + 1);
  uint32_t len = 0;
  if (bits.empty() || bits.size() > 3 || !absl::SimpleAtoi(std::string(bits), &len) ||
      !resources::isIp(ip)) {
    return false;
  }
  for (char c : bits) {
    if (c < '0' || c > '9') {
      return false;
    }
  }
  return len <= (ip.find(':') != std::string_view::npos ? 128u : 32u);
}

// Kuma's wildcardPartialPrefixPattern `^\*[^.]+`.
bool isPartialWildcard(std::string_view value) {
  return value.size() >= 2 && value[0] == '*' && value[1] != '.';
}

// Kuma's validateDefault, in its order of checks per match.
void validateDefault(const PathBuilder& path, const nlohmann::json& conf, ValidationError& errors) {
  const nlohmann::json* matches = member(conf, "appendMatch");
  if (matches == nullptr || !matches->is_array()) {
    return;
  }
  std::map<int64_t, std::string> portProtocol;
  std::map<std::pair<int64_t, std::string>, std::set<std::string>> uniqueValues;
  for (size_t i = 0; i < matches->size(); ++i) {
    const nlohmann::json& m = (*matches)[i];
    const PathBuilder at = path.field("appendMatch").index(i);
    const std::string type = m.value("type", "");
    const std::string value = m.value("value", "");
    const std::string protocol = m.value("protocol", "");
    const nlohmann::json* portJson = member(m, "port");
    const bool hasPort = portJson != nullptr && portJson->is_number_integer();
    const int64_t port = hasPort ? portJson->get<int64_t>() : 0;
    if (protocol == "mysql" && !hasPort) {
      errors.addViolationAt(at.field("port"), "port must be defined for Mysql protocol");
    }
    if ((hasPort && port <= 0) || port > 65535) {
      errors.addViolationAt(at.field("port"), "port must be a valid (1-65535)");
    }
    if (hasPort) {
      auto found = portProtocol.find(port);
      if (found != portProtocol.end() && found->second != protocol && isL7(protocol)) {
        errors.addViolationAt(at.field("port"),
                              "using the same port in multiple matches requires the same protocol "
                              "for the following protocols: [grpc http http2]");
      } else {
        portProtocol[port] = protocol;
      }
      auto& values = uniqueValues[{port, protocol}];
      if (!values.insert(value).second) {
        errors.addViolationAt(
            at.field("value"),
            absl::StrCat("value ", value, " is already defiend for this port and protocol"));
      }
    }
    if (type == "CIDR") {
      if (!isCidr(value)) {
        errors.addViolationAt(at.field("value"), "provided CIDR has incorrect value");
      }
    } else if (type == "IP") {
      if (!resources::isIp(value)) {
        errors.addViolationAt(at.field("value"), "provided IP has incorrect value");
      }
    } else if (type == "Domain") {
      if (protocol == "tcp" || protocol == "mysql") {
        errors.addViolationAt(at.field("protocol"), absl::StrCat("protocol ", protocol,
                                                                 " is not supported for a domain"));
      }
      if (isPartialWildcard(value)) {
        errors.addViolationAt(
            at.field("value"),
            "provided DNS has incorrect value, partial wildcard is currently not supported");
      }
      if (!hasPort && absl::StartsWith(value, "*") && isL7(protocol)) {
        errors.addViolationAt(at.field("port"),
                              "wildcard domains doesn't work for all ports and layer 7 protocol");
      }
      std::string toValidate = value;
      if (absl::StartsWith(toValidate, "*.")) {
        toValidate = toValidate.substr(2);
      }
      if (!absl::StartsWith(toValidate, "*") && !resources::isDnsName(toValidate)) {
        errors.addViolationAt(at.field("value"), "provided DNS has incorrect value");
      }
    }
  }
}

void validate(const nlohmann::json& spec, ValidationError& errors) {
  validateTopTargetRef(spec, {{kMesh, kMeshSubset, kDataplane}, false, false, {}, {}}, errors);
  if (const nlohmann::json* conf = member(spec, "default")) {
    validateDefault(PathBuilder("spec").field("default"), *conf, errors);
  }
}

}  // namespace

PolicyDefinition definition() {
  return targetedPolicy({
      .names = {"MeshPassthrough", "meshpassthroughs", "mp", "Mesh Passthrough",
                "Mesh Passthroughs"},
      .topKinds = {kMesh, kMeshSubset, kDataplane},
      .schema = specSchema(),
      .validate = validate,
  });
}

}  // namespace kuma::policies::meshpassthrough
