#pragma once

// File: xds_configurer.h
// MeshLoadBalancingStrategy's xDS plugin (Kuma's meshloadbalancingstrategy plugin, order 400):
// the load balancer of a destination's clusters (round robin, least request, ring hash, random,
// maglev and their settings), the hash policies of its routes, and locality awareness on its
// endpoints (endpoints outside the control plane's zone get priority 1 unless disabled; Kuma's
// overprovisioning factor from `crossZone.failoverThreshold`). Applies to the destination's main
// cluster and to every cluster a route plugin split it into.

#include "kuma/xds/policy_plugin.h"

namespace kuma::policies::meshloadbalancingstrategy {

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
  /** The endpoints' priorities depend on the control plane's zone. */
  std::string signatureOf(const xds::ProxyContext& proxy) const override;
};

}  // namespace kuma::policies::meshloadbalancingstrategy
