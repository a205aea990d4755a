#pragma once

// File: xds_configurer.h
// MeshLoadBalancingStrategy's xDS plugin (Kuma's meshloadbalancingstrategy plugin, order 400):
// the load balancer of a destination's clusters (round robin, least request, ring hash, random,
// maglev and their settings), the hash policies of its routes, and locality awareness on its
// endpoints (endpoints outside the control plane's zone get priority 1 unless disabled; with
// `localZone`/`crossZone` Kuma's regrouping: local-zone endpoints by affinity group, other zones
// by failover rule, and the overprovisioning factor from `crossZone.failoverThreshold`). Applies
// to the destination's main cluster and to every cluster a route plugin split it into.
//
// Sharing: the destination's ClusterLoadAssignments are shared per policy signature, so the
// shared hook regroups without affinity groups (they depend on the proxy's tags). apply() redoes
// the regrouping with the proxy's groups on its private copy, only for proxies that have at least
// one group; the others keep the shared object.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kuma/xds/policy_plugin.h"

namespace envoy::config::endpoint::v3 {
class ClusterLoadAssignment;
}  // namespace envoy::config::endpoint::v3

namespace kuma::policies::meshloadbalancingstrategy {

/** Where a proxy's affinity values come from: its inbound tags (every value), then its labels. */
struct AffinitySource {
  std::map<std::string, std::set<std::string>> tags;
  std::map<std::string, std::string> labels;
};

/** One local-zone affinity group of a proxy: endpoints with `key` = `value` get `weight`. */
struct LocalGroup {
  std::string key;
  std::string value;
  uint32_t weight = 0;
};

/**
 * Kuma's getLocalLbGroups: one group per `localityAwareness.localZone.affinityTags` entry the
 * proxy has a value for (its smallest inbound tag value, else its label), weighted by the entry's
 * `weight` or 9 × 10^(entries − position − 1).
 */
std::vector<LocalGroup> localGroups(const nlohmann::json& conf, const AffinitySource& proxy);

/**
 * Kuma's NewEndpoints: rebuilds `cla`'s localities: local-zone endpoints by the first affinity
 * group they match (sub-zone `key=value`, the group's weight; else the zone with weight 1),
 * other zones' endpoints by the first `crossZone.failover` rule that takes them (priority = rule
 * position + 1; dropped when none does), grouped and sorted as Kuma does.
 */
void regroupEndpoints(const nlohmann::json& conf, const std::vector<LocalGroup>& local,
                      std::string_view localZone,
                      envoy::config::endpoint::v3::ClusterLoadAssignment& cla);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status configureOutboundResources(const nlohmann::json& conf,
                                          const xds::OutboundTarget& target,
                                          xds::OutboundResources& resources) const override;
  absl::Status configureOutboundHcm(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  /**
   * Regroups the local-zone endpoints by the proxy's affinity tags on the proxy's private copy of
   * each affected ClusterLoadAssignment (the shared one was built without a proxy).
   */
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
  /** The endpoints' priorities depend on the control plane's zone. */
  std::string signatureOf(const xds::ProxyContext& proxy) const override;
};

}  // namespace kuma::policies::meshloadbalancingstrategy
