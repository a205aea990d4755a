#pragma once

// File: xds_configurer.h
// MeshCircuitBreaker's xDS plugin (Kuma's meshcircuitbreaker plugin and its xds Configurer):
//
// * Every cluster of the proxy gets a circuit-breaker threshold of priority DEFAULT with
//   `track_remaining: true`, also without any MeshCircuitBreaker (Kuma's applyTrackRemaining runs
//   over every cluster of the resource set before it looks at policies). The destinations' shared
//   clusters get it in configureOutboundResources, every per-proxy cluster (inbound, admin,
//   passthrough, clusters other plugins added) in apply().
// * `connectionLimits` of the merged conf fill that threshold; `outlierDetection` (unless
//   `disabled`) becomes the cluster's outlier_detection with Kuma's mapping of the detectors
//   (each detector absent: its enforcement 0; present: 100) and `healthyPanicThreshold` the
//   cluster's common_lb_config.healthy_panic_threshold.
// * `to[]` confs apply to every cluster of a destination (split clusters included), the
//   catch-all `from[]`/`rules[]` conf to the inbound clusters.

#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"

namespace kuma::policies::meshcircuitbreaker {

/** Kuma's Configurer.ConfigureCluster: `conf` (null or an object) onto `cluster`. */
absl::Status configureCluster(const nlohmann::json& conf,
                              envoy::config::cluster::v3::Cluster& cluster);

/** The threshold of priority DEFAULT gets `track_remaining: true` (added when there is none). */
void ensureTrackRemaining(envoy::config::cluster::v3::Cluster& cluster);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status configureInboundCluster(const nlohmann::json& conf, const xds::InboundTarget& target,
                                       envoy::config::cluster::v3::Cluster& cluster) const override;
  absl::Status configureOutboundResources(const nlohmann::json& conf,
                                          const xds::OutboundTarget& target,
                                          xds::OutboundResources& resources) const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
};

}  // namespace kuma::policies::meshcircuitbreaker
