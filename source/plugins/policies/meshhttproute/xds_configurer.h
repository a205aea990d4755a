#pragma once

// File: xds_configurer.h
// MeshHTTPRoute's xDS plugin (Kuma's meshhttproute plugin, order 100) for sidecars with legacy
// `kuma.io/service` outbounds: the rules of every MeshHTTPRoute selecting the proxy whose `to[]`
// covers a destination are combined (Kuma's merge by matches, not a merge of `default`s), sorted
// by Kuma's match precedence and become the routes of the destination's outbound route config,
// each named by Kuma's hash of its matches, with path / method / header / query matches, the
// five filters and the weighted backends. A backend with tags gets its own EDS cluster and
// ClusterLoadAssignment (`<service>-<16 hex>`, only the endpoints carrying the tags); the plain
// destination cluster stays only when some route still sends traffic to it.
//
// The helpers below are shared with MeshTCPRoute (source/plugins/policies/meshtcproute), whose
// splits make clusters the same way.
//
//   conf = plugin.destinationConf(selectedSpecs, "backend");      // {"rules": [...]} or null
//   plugin.configureOutboundResources(conf, target, resources);    // split clusters + endpoints
//   plugin.configureOutboundHcm(conf, target, hcm);                // the routes

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"

namespace kuma::policies::meshhttproute {

using Tags = std::map<std::string, std::string>;

/** One backend of a split: a legacy service, optionally narrowed to endpoints with `tags`. */
struct Backend {
  std::string service;
  /** Subset tags, without `kuma.io/service`. */
  Tags tags;
  /** Kuma's cluster name for it (splitClusterName()). */
  std::string clusterName;
  uint32_t weight = 1;
};

/**
 * Kuma's DestinationClusterName: `service` when there are no subset tags, else
 * `<service>-<first 8 bytes of sha256 over the sorted key,value pairs incl. kuma.io/service, hex>`.
 */
std::string splitClusterName(const std::string& service, const Tags& tags);

/**
 * Kuma's HashMatches: base64(sha256(JSON of the matches as Kuma's Go structs marshal them)), the
 * name of every Envoy route made from a rule.
 */
std::string hashMatches(const nlohmann::json& matches);

/**
 * A legacy backendRef (MeshService without sectionName/port, MeshServiceSubset) as a Backend (also
 * with weight 0: it counts as a backend, but a split leaves it out); nullopt for references to
 * real resources (not generated with meshServices disabled). `destination`/`destinationCluster`:
 * the outbound being configured, whose own cluster a tag-less reference to it names.
 */
std::optional<Backend> legacyBackend(const nlohmann::json& backendRef,
                                     const std::string& destination,
                                     const std::string& destinationCluster);

/**
 * Does Kuma's resolve.BackendRef accept `backendRef`? Legacy references always; references to
 * real resources (MeshService with sectionName/port, MeshExternalService, MeshMultiZoneService)
 * when they name the resource (label selectors are taken as resolving to nothing: with
 * meshServices disabled there are no such resources here). An accepted reference that
 * legacyBackend() does not turn into a Backend still counts as a backend of its rule.
 */
bool resolvesAsBackend(const nlohmann::json& backendRef);

/**
 * Makes `res` hold exactly the clusters Kuma generates for `backends` of the destination
 * `target`: every backend other than the destination's own cluster gets a copy of that cluster
 * (so every plugin's cluster settings carry over) renamed, with the mTLS SNI and SAN Kuma sets for
 * it, and a ClusterLoadAssignment of the backend service's endpoints carrying its tags; the
 * destination's own cluster and endpoints are removed when no backend uses them.
 */
absl::Status provideBackendClusters(const xds::OutboundTarget& target,
                                    const std::vector<Backend>& backends,
                                    xds::OutboundResources& res);

/**
 * The combined MeshHTTPRoute conf of `specs` (selected policies in precedence order) for traffic
 * to `service`: `{"rules": [...]}`, Kuma's merge of the rules by matches (a later rule with the
 * same matches merges over the earlier one and takes its place), or null when no `to[]` item
 * covers the service.
 */
nlohmann::json combineRules(const std::vector<const nlohmann::json*>& specs,
                            const std::string& service);

/**
 * Kuma's merge of MeshHTTPRoute `to[]` items (in precedence order, the last one winning):
 * `{"rules": [...]}`, their rules merged by matches as combineRules() does.
 */
nlohmann::json mergeToItems(const std::vector<const nlohmann::json*>& items);

/** The MeshHTTPRoute specs selecting the proxy, in precedence order. */
std::vector<const nlohmann::json*> selectedSpecs(const xds::ProxyContext& proxy,
                                                 std::string_view policyType);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  std::optional<nlohmann::json> destinationConf(const std::vector<const nlohmann::json*>& specs,
                                                const std::string& service) const override;
  absl::Status configureOutboundResources(const nlohmann::json& conf,
                                          const xds::OutboundTarget& target,
                                          xds::OutboundResources& res) const override;
  absl::Status configureOutboundHcm(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
};

}  // namespace kuma::policies::meshhttproute
