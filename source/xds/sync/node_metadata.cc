#include "source/xds/sync/node_metadata.h"

#include <cmath>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "source/common/json_yaml.h"
#include "source/core/model/rest_codec.h"

namespace kuma::xds::sync {
namespace {

const google::protobuf::Value* metadataField(const envoy::config::core::v3::Node& node,
                                             const std::string& key) {
  const auto& fields = node.metadata().fields();
  auto it = fields.find(key);
  return it == fields.end() ? nullptr : &it->second;
}

std::optional<uint32_t> metadataPort(const envoy::config::core::v3::Node& node,
                                     const std::string& key) {
  const google::protobuf::Value* v = metadataField(node, key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->has_number_value()) {
    // Only a whole number the string form would accept: converting anything else (negative,
    // fractional, too large, NaN) to uint32_t is undefined.
    const double n = v->number_value();
    if (n >= 0 && n <= std::numeric_limits<uint32_t>::max() && n == std::floor(n)) {
      return static_cast<uint32_t>(n);
    }
    return std::nullopt;
  }
  if (v->has_string_value()) {
    uint32_t port = 0;
    if (absl::SimpleAtoi(v->string_value(), &port)) {
      return port;
    }
  }
  return std::nullopt;
}

bool hasFeature(const envoy::config::core::v3::Node& node, const std::string& feature) {
  const google::protobuf::Value* v = metadataField(node, "features");
  if (v == nullptr || !v->has_list_value()) {
    return false;
  }
  for (const auto& item : v->list_value().values()) {
    if (item.string_value() == feature) {
      return true;
    }
  }
  return false;
}

}  // namespace

absl::StatusOr<std::pair<std::string, std::string>> parseNodeId(const std::string& nodeId) {
  const auto dot = nodeId.find('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == nodeId.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid node id \"", nodeId, "\": expected <mesh>.<name>"));
  }
  return std::make_pair(nodeId.substr(0, dot), nodeId.substr(dot + 1));
}

absl::StatusOr<NodeDataplane> parseNodeDataplane(
    const envoy::config::core::v3::Node& node, const model::ResourceTypeDescriptor* dataplaneType) {
  if (!node.has_metadata()) {
    return absl::InvalidArgumentError("metadata in xDS Node cannot be nil");
  }
  auto key = parseNodeId(node.id());
  if (!key.ok()) {
    return key.status();
  }
  NodeDataplane out;
  out.mesh = std::move(key->first);
  out.name = std::move(key->second);
  const google::protobuf::Value* resource = metadataField(node, "dataplane.resource");
  if (resource == nullptr || dataplaneType == nullptr) {
    return out;
  }
  auto json = common::parseJsonOrYaml(resource->string_value());
  if (!json.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid dataplane.resource in node metadata: ", json.status().message()));
  }
  auto body = model::fromRestJson(*dataplaneType, *json);
  if (!body.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid dataplane.resource in node metadata: ", body.status().message()));
  }
  if (body->mesh != out.mesh || body->name != out.name) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dataplane.resource ", body->mesh, ".", body->name, " does not match node id ", node.id()));
  }
  body->resource.meta.mesh = out.mesh;
  body->resource.meta.name = out.name;
  out.dataplane = std::move(body->resource);
  return out;
}

NodeProxyMetadata parseNodeProxyMetadata(const envoy::config::core::v3::Node& node) {
  NodeProxyMetadata out;
  out.adminPort = metadataPort(node, "dataplane.admin.port");
  if (const auto* address = metadataField(node, "dataplane.admin.address")) {
    out.adminAddress = address->string_value();
  }
  if (const auto* path = metadataField(node, "dataplane.admin.socketPath")) {
    out.adminSocketPath = path->string_value();
  }
  if (const auto* workdir = metadataField(node, "workdir")) {
    out.workdir = workdir->string_value();
  }
  out.readinessPort = metadataPort(node, "dataplane.readinessReporter.port");
  out.reusePort = hasFeature(node, "feature-reuse-port");
  out.strictInboundPorts = hasFeature(node, "feature-strict-inbound-ports");
  out.dnsPort = metadataPort(node, "dataplane.dns.port").value_or(0);
  if (out.dnsPort > 65535) {
    out.dnsPort = 0;  // not a port: Envoy would reject the listener
  }
  out.embeddedDns = hasFeature(node, "feature-embedded-dns");
  out.bindOutbounds = hasFeature(node, "feature-bind-outbounds");
  if (const auto* workDir = metadataField(node, "workdir")) {
    out.workDir = workDir->string_value();
  }
  if (const auto* ipv6 = metadataField(node, "ipv6Enabled");
      ipv6 != nullptr && ipv6->has_bool_value()) {
    out.ipv6Enabled = ipv6->bool_value();
  }
  return out;
}

}  // namespace kuma::xds::sync
