#pragma once

// File: xds_configurer.h
// The legacy RateLimit's xDS plugin: Kuma 2.14's RateLimitConfigurer
// (pkg/xds/envoy/listeners/v3/rate_limit_configurer.go) and the inbound routes of
// GenerateRoutes (pkg/xds/generator/inbound_proxy_generator.go).
//
// HTTP inbounds (Kuma's inbound generator: on every mesh, with or without TrafficRoutes): the
// RateLimits whose destination selectors match the inbound's tags (Kuma's
// SelectInboundConnectionMatchingPolicies, see trafficroute::inboundConnectionPolicies: the most
// specific first source first) add
// - one `envoy.filters.http.local_ratelimit` HTTP filter (stat prefix `rate_limit`, no bucket)
//   before the router, after the legacy fault filters, when any RateLimit matches;
// - per RateLimit with an `http` conf, in that order, a route before the inbound's default route:
//   a copy of it that also matches the callers' `x-kuma-tags` header against the policy's
//   sources (faultinjection::sourcesHeaderMatcher) and carries the policy's local rate limit as
//   its typed_per_filter_config (meshratelimit::httpLocalRateLimit: requests per interval,
//   onRateLimit's status and response headers in order, `append` → APPEND_IF_EXISTS_OR_ADD).
// HTTP outbounds on Kuma's legacy outbound path, while the Mesh routes no traffic through zone
// egress: when a RateLimit selects the outbound (Kuma's SelectOutboundConnectionPolicies, see
// trafficroute::selectConnectionPolicy), the same filter without any route configuration (Kuma's
// "backwards compatibility" for ExternalServices; no limit takes effect).
//
// Order 6: after the legacy FaultInjection (4) and TrafficTrace (5), as in Kuma's filter chain
// builder, before every Mesh* plugin. Not covered: zone egress (Kuma's
// ExternalServiceRateLimits) and gateways, which kuma-cpp does not generate.

#include <map>
#include <string>
#include <vector>

#include "api/mesh/v1alpha1/rate_limit.pb.h"
#include "kuma/model/resource.h"
#include "kuma/xds/policy_plugin.h"
#include "source/plugins/policies/meshratelimit/xds_configurer.h"

namespace kuma::policies::ratelimit {

/** Kuma's RateLimitConfigurationFromProto (a conf without `http`: zero requests). */
meshratelimit::HttpRateLimit httpRateLimitOf(const mesh::v1alpha1::RateLimit& spec);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  std::string_view policyType() const override;
  int order() const override;
  absl::Status configureInboundHcm(
      const nlohmann::json& conf, const xds::InboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  absl::Status configureOutboundHcm(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  /** Kuma's MatchedPolicies of this legacy type (inspect API). */
  void attachments(const xds::ProxyContext& proxy,
                   std::vector<xds::PolicyAttachment>& out) const override;
};

}  // namespace kuma::policies::ratelimit
