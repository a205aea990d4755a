#pragma once

// File: xds_configurer.h
// The legacy Retry's xDS plugin: Kuma 2.14's envoy_listeners.Retry and MaxConnectAttempts
// (pkg/xds/envoy/listeners/filter_chain_configurers.go, routes/v3/retry_configurer.go) on the
// outbound listeners of the legacy outbound path (outbound_proxy_generator.go generateLDS), only
// where that path runs (the mesh has a TrafficRoute), as in Kuma.
//
// Per outbound, the Retry that best matches its service (trafficroute's selectConnectionPolicy):
// - HTTP outbounds: every virtual host of the route configuration gets Kuma's RetryConfig —
//   `http` for http outbounds (retry_on `gateway-error,connect-failure,refused-stream` unless
//   `retryOn` is given, `retriable-status-codes` added with status codes, methods as `:method`
//   header matchers, back-off, per-try timeout), `grpc` for gRPC outbounds (Kuma's gRPC default
//   retry_on), none for http2 ones;
// - TCP outbounds: `max_connect_attempts` on the tcp_proxy when the Retry has a `tcp` section.
// MeshRetry (order 1400) configures the routes themselves and runs after this plugin (order 3).

#include <string>

#include "api/mesh/v1alpha1/retry.pb.h"
#include "kuma/xds/policy_plugin.h"

namespace envoy::config::route::v3 {
class RetryPolicy;
}  // namespace envoy::config::route::v3

namespace kuma::policies::retry {

/**
 * Kuma's RetryConfig: the virtual host retry policy of `conf` for an outbound of `protocol`;
 * false when there is none (http2 and TCP outbounds, or no section for the protocol).
 */
bool retryPolicy(const mesh::v1alpha1::Retry_Conf& conf, xds::Protocol protocol,
                 envoy::config::route::v3::RetryPolicy& out);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  std::string_view policyType() const override;
  int order() const override;
  absl::Status configureOutboundHcm(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  absl::Status configureOutboundTcpProxy(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const override;
  /** Kuma's MatchedPolicies of this legacy type (inspect API). */
  void attachments(const xds::ProxyContext& proxy,
                   std::vector<xds::PolicyAttachment>& out) const override;
};

}  // namespace kuma::policies::retry
