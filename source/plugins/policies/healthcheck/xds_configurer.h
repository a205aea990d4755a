#pragma once

// File: xds_configurer.h
// The legacy HealthCheck's xDS plugin: Kuma 2.14's HealthCheckConfigurer
// (pkg/xds/envoy/clusters/v3/health_check_configurer.go) on the clusters of the legacy outbound
// path (outbound_proxy_generator.go generateCDS). It takes effect only where that path does
// (MeshContext::usesLegacyRouting(): the mesh has a TrafficRoute), as in Kuma.
//
// Per destination service, the HealthCheck that best matches (trafficroute's
// selectConnectionPolicy: Kuma's SelectConnectionPolicies, most specific sources plus
// destination, ties to the later created) configures every cluster of that service: a TCP check
// (hex `send`/`receive` payloads) and/or an HTTP check (path, headers, expected statuses, HTTP/2
// codec for http2 services), an empty TCP check when neither is given, the common fields
// (interval, timeout, thresholds, jitters, event log, no-traffic interval, connection reuse),
// `healthy_panic_threshold` and `fail_traffic_on_panic` (zone-aware LB config).
//
// Order 1, after the legacy TrafficRoute (0), whose apply() creates the subset clusters. Kuma's
// MeshHealthCheck runs after the legacy generator and replaces the health checks: a cluster that
// already carries health checks here (from the MeshHealthCheck plugin's hooks, which run before
// every apply()) keeps them.

#include "api/mesh/v1alpha1/health_check.pb.h"
#include "kuma/xds/policy_plugin.h"

namespace envoy::config::cluster::v3 {
class Cluster;
}  // namespace envoy::config::cluster::v3

namespace kuma::policies::healthcheck {

/** Kuma's HealthCheckConfigurer for one cluster (`http2`: the service's protocol is http2). */
void configureCluster(const mesh::v1alpha1::HealthCheck_Conf& conf, bool http2,
                      envoy::config::cluster::v3::Cluster& cluster);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  std::string_view policyType() const override;
  int order() const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
  /** Kuma's MatchedPolicies of this legacy type (inspect API). */
  void attachments(const xds::ProxyContext& proxy,
                   std::vector<xds::PolicyAttachment>& out) const override;
};

}  // namespace kuma::policies::healthcheck
