#pragma once

// File: xds_configurer.h
// The legacy CircuitBreaker's xDS plugin: Kuma 2.14's CircuitBreakerConfigurer and
// OutlierDetectionConfigurer (pkg/xds/envoy/clusters/v3/) on the clusters of the legacy outbound
// path (outbound_proxy_generator.go generateCDS), only where that path runs (the mesh has a
// TrafficRoute), as in Kuma.
//
// Per destination service, the CircuitBreaker that best matches (trafficroute's
// selectConnectionPolicy) configures every cluster of that service: `circuit_breakers` with one
// DEFAULT-priority threshold when any of the four thresholds is given, and always an
// `outlier_detection` (interval, base ejection time, max ejection percent, split of local
// errors) whose five detectors are enforced at 100 when configured and at 0 otherwise (the
// standard deviation factor ×1000; local-origin enforcement for success rate and failure
// percentage as Kuma).
//
// Order 2, after the legacy TrafficRoute's subset clusters. Kuma's MeshCircuitBreaker runs after
// the legacy generator: its connection limits merge over the legacy thresholds (a limit the
// MeshCircuitBreaker plugin already set on the DEFAULT threshold stays) and its outlier
// detection replaces the legacy one (a cluster that already has one keeps it).

#include "api/mesh/v1alpha1/circuit_breaker.pb.h"
#include "kuma/xds/policy_plugin.h"

namespace envoy::config::cluster::v3 {
class Cluster;
}  // namespace envoy::config::cluster::v3

namespace kuma::policies::circuitbreaker {

/**
 * Kuma's CircuitBreakerConfigurer (when the conf has thresholds): the limits into the DEFAULT
 * threshold, each where that threshold does not set it yet.
 */
void configureThresholds(const mesh::v1alpha1::CircuitBreaker_Conf& conf,
                         envoy::config::cluster::v3::Cluster& cluster);
/** Kuma's OutlierDetectionConfigurer. */
void configureOutlierDetection(const mesh::v1alpha1::CircuitBreaker_Conf& conf,
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

}  // namespace kuma::policies::circuitbreaker
