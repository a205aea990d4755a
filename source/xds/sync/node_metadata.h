#pragma once

// File: node_metadata.h
// What kuma-cp reads from the Node of an ADS stream (spec §6.1), as pure functions without side
// effects (DataplaneCallbacks::onStreamOpen calls them; test/fuzz/node_metadata_fuzz.cc fuzzes
// them):
//   - node.id `<mesh>.<name>`, split on the first '.';
//   - metadata `dataplane.resource`: the Dataplane in REST JSON or YAML (Universal
//     self-registration), which must name the same mesh and name as node.id;
//   - metadata `dataplane.admin.port`, `dataplane.admin.address`, `dataplane.admin.socketPath`,
//     `workdir`, `dataplane.readinessReporter.port` and the `features` list.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "envoy/config/core/v3/base.pb.h"
#include "kuma/model/resource.h"

namespace kuma::xds::sync {

/** Splits `<mesh>.<name>` on the first '.'. InvalidArgument when malformed. */
absl::StatusOr<std::pair<std::string, std::string>> parseNodeId(const std::string& nodeId);

/** The identity of a proxy and the Dataplane it carries in its node metadata, if any. */
struct NodeDataplane {
  std::string mesh;
  std::string name;
  /** From `dataplane.resource`, meta.mesh and meta.name set from node.id; not validated. */
  std::optional<model::Resource> dataplane;
};

/**
 * The node's identity and its `dataplane.resource` parsed for `dataplaneType` (nullptr: the
 * metadata is not read). @return InvalidArgument when the node has no metadata, a malformed id,
 * an unparsable resource or one whose mesh/name differ from the id.
 */
absl::StatusOr<NodeDataplane> parseNodeDataplane(
    const envoy::config::core::v3::Node& node, const model::ResourceTypeDescriptor* dataplaneType);

/** The proxy settings the node metadata overrides; nullopt/false when it does not say. */
struct NodeProxyMetadata {
  std::optional<uint32_t> adminPort;
  std::optional<std::string> adminAddress;
  std::optional<std::string> adminSocketPath;  // Envoy's admin Unix socket (envoyAdminUnixSocket)
  std::optional<std::string> workdir;          // kuma-dp's socket directory (`workdir`)
  std::optional<uint32_t> readinessPort;
  bool reusePort = false;
  bool strictInboundPorts = false;  // feature-strict-inbound-ports
  uint32_t dnsPort = 0;             // dataplane.dns.port (0: absent)
  bool embeddedDns = false;         // feature-embedded-dns
  bool bindOutbounds = false;       // feature-bind-outbounds
  std::string workDir;              // workdir
  std::optional<bool> ipv6Enabled;  // ipv6Enabled (kuma-dp: the host has non-loopback IPv6)
};

/** Reads NodeProxyMetadata; a port that is not a whole number in [0, 2^32) (JSON number or
 *  decimal string) is ignored. */
NodeProxyMetadata parseNodeProxyMetadata(const envoy::config::core::v3::Node& node);

}  // namespace kuma::xds::sync
