#pragma once

// File: xds_configurer.h
// MeshCircuitBreaker's xDS plugin: `connectionLimits` of the merged `to[]` conf become a
// threshold of the destination's outbound cluster. Outlier detection and inbound (`from[]`)
// limits are not generated yet.

#include "kuma/xds/policy_plugin.h"

namespace kuma::policies::meshcircuitbreaker {

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status configureOutboundCluster(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::config::cluster::v3::Cluster& cluster) const override;
};

}  // namespace kuma::policies::meshcircuitbreaker
