#pragma once

// File: xds_configurer.h
// MeshRetry's xDS plugin: the merged `to[]` conf becomes the retry policy of the destination's
// outbound route (`http`, or `grpc` for gRPC services) and the tcp_proxy's max connect attempts
// (`tcp`).

#include "kuma/xds/policy_plugin.h"

namespace kuma::policies::meshretry {

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status configureOutboundRoute(const nlohmann::json& conf, const xds::OutboundTarget& target,
                                      envoy::config::route::v3::Route& route) const override;
  absl::Status configureOutboundTcpProxy(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const override;
};

}  // namespace kuma::policies::meshretry
