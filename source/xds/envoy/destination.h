#pragma once

// File: destination.h
// Envoy pieces of a mesh destination that the generator and the routing plugins (TrafficRoute,
// MeshHTTPRoute, MeshTCPRoute) build alike: Kuma's SNI of a cluster, the upstream mTLS context
// pointed at another subset of a service, tags as endpoint metadata, and the
// ClusterLoadAssignment of a service's endpoints carrying given tags.
//
//   cla = loadAssignment(endpoints, "backend-7d9c", {{"kuma.io/service", "backend"}, {"v", "2"}});
//   KUMA_RETURN_IF_ERROR(retargetUpstreamMtls(subsetCluster, "default", "backend", tags));

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"

namespace kuma::xds {

/** One healthy, Ready inbound of some Dataplane, as other proxies dial it. */
struct Endpoint {
  std::string address;  // advertisedAddress || inbound.address || networking.address
  uint32_t port = 0;    // inbound port
  std::map<std::string, std::string> tags;    // inbound tags
  std::map<std::string, std::string> labels;  // Dataplane labels
  std::string zone;                           // kuma.io/zone tag (or label); may be empty
  std::string dataplane;                      // Dataplane name
  std::string inboundName;                    // inbound `name` (a MeshService targetPort)
};

/**
 * Kuma's `Tags.DestinationClusterName`: the service (`kuma.io/service`) alone when it is the only
 * tag, else `<service>-<16 hex digits: the first 8 bytes of sha256 over every key and value,
 * keys sorted>`.
 */
std::string destinationClusterName(const std::map<std::string, std::string>& tags);

/**
 * Kuma's SNI of a mesh cluster: `<service>{k=v,...}` of `tags` but kuma.io/service, plus
 * `mesh=<mesh>`, keys sorted.
 */
std::string meshSni(const std::string& mesh, const std::string& service,
                    const std::map<std::string, std::string>& tags);

/**
 * Points the upstream mTLS context of `cluster` (a copy of a service's main cluster) at the
 * subset `tags` of `service`: its SNI and the SPIFFE ID it verifies. No-op without TLS.
 */
absl::Status retargetUpstreamMtls(envoy::config::cluster::v3::Cluster& cluster,
                                  const std::string& mesh, const std::string& service,
                                  const std::map<std::string, std::string>& tags);

/** Writes `tags` as string fields of `metadata.filter_metadata[key]`. */
void setTagsMetadata(envoy::config::core::v3::Metadata& metadata, const std::string& key,
                     const std::map<std::string, std::string>& tags);

/**
 * Kuma's ClusterLoadAssignment `clusterName`: the `endpoints` carrying every tag of `tags`,
 * grouped by zone (one locality each), weight 1, their other tags as `envoy.lb` and
 * `envoy.transport_socket_match` metadata and their labels as `io.kuma.labels`.
 */
envoy::config::endpoint::v3::ClusterLoadAssignment loadAssignment(
    const std::vector<Endpoint>& endpoints, const std::string& clusterName,
    const std::map<std::string, std::string>& tags);

}  // namespace kuma::xds
