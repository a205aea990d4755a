#pragma once

// File: xds_configurer.h
// MeshTimeout's xDS plugin (Kuma's meshtimeout plugin/xds configurer): connect/idle timeouts on
// clusters and tcp_proxy, upstream HTTP common options, HCM request-headers timeouts and route
// timeouts. Kuma's built-in defaults apply under every merged conf, also when no MeshTimeout
// selects the proxy, with two exceptions that follow Kuma 2.14:
//
// * The inbound HCM's stream_idle_timeout is Kuma's InboundProxyGenerator value
//   (DefaultInboundTimeout: 2 × 30 min = 1h); MeshTimeout never changes it (its `from`
//   streamIdleTimeout goes to the inbound route's idle_timeout).
// * On Kuma's legacy outbound path (MeshContext::usesLegacyRouting(): TrafficRoutes in the mesh,
//   no MeshHTTPRoute/MeshTCPRoute for the proxy) the outbound listeners carry the legacy
//   `Timeout` policy's values (trafficroute plugin) and MeshTimeout edits them like Kuma's
//   DeprecatedListenerConfigurer: without a MeshTimeout `to` conf for the destination it leaves
//   the routes, request_headers_timeout and tcp_proxy idle alone (only the HCM's
//   common_http_protocol_options.idle_timeout becomes 0s); with one it sets every route of the
//   outbound (request timeout, stream idle when given or unset), request_headers_timeout and the
//   tcp_proxy idle timeout from it and the defaults. Clusters get MeshTimeout's values on both
//   paths.

#include <chrono>

#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"

namespace kuma::policies::meshtimeout {

/** The effective timeouts of one inbound or destination. */
struct Timeouts {
  std::chrono::nanoseconds connectionTimeout = std::chrono::seconds(5);
  std::chrono::nanoseconds idleTimeout = std::chrono::hours(1);
  std::chrono::nanoseconds requestTimeout = std::chrono::seconds(15);
  std::chrono::nanoseconds streamIdleTimeout = std::chrono::minutes(30);
  std::chrono::nanoseconds maxStreamDuration{0};
  std::chrono::nanoseconds maxConnectionDuration{0};
  std::chrono::nanoseconds requestHeadersTimeout{0};
};

/** The built-in defaults overlaid by a merged MeshTimeout conf (null: the defaults). */
Timeouts timeoutsOf(const nlohmann::json& conf);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status configureInboundCluster(const nlohmann::json& conf, const xds::InboundTarget& target,
                                       envoy::config::cluster::v3::Cluster& cluster) const override;
  absl::Status configureInboundHcm(
      const nlohmann::json& conf, const xds::InboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  absl::Status configureInboundRoute(const nlohmann::json& conf, const xds::InboundTarget& target,
                                     envoy::config::route::v3::Route& route) const override;
  absl::Status configureInboundTcpProxy(
      const nlohmann::json& conf, const xds::InboundTarget& target,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const override;
  absl::Status configureOutboundCluster(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::config::cluster::v3::Cluster& cluster) const override;
  absl::Status configureOutboundHcm(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  absl::Status configureOutboundRoute(const nlohmann::json& conf, const xds::OutboundTarget& target,
                                      envoy::config::route::v3::Route& route) const override;
  absl::Status configureOutboundTcpProxy(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const override;
};

}  // namespace kuma::policies::meshtimeout
