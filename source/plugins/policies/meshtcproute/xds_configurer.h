#pragma once

// File: xds_configurer.h
// MeshTCPRoute's xDS plugin (Kuma's meshtcproute plugin, order 200) for sidecars with legacy
// `kuma.io/service` outbounds: the first rule of each `to[]` item covering a destination (or, with
// no rules, the item's own targetRef, weight 1), merged in precedence order, gives the backends of
// the outbound's tcp_proxy: one cluster or weighted clusters, a backend with tags getting its own
// EDS cluster and ClusterLoadAssignment as MeshHTTPRoute's do. On an HTTP destination a
// MeshTCPRoute applies only when no MeshHTTPRoute covers it: the outbound listener then becomes a
// bare tcp_proxy next to the destination's own cluster (apply(), as Kuma 2.14.3 leaves it).

#include <optional>
#include <string>
#include <vector>

#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"

namespace kuma::policies::meshtcproute {

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  std::optional<nlohmann::json> destinationConf(const std::vector<const nlohmann::json*>& specs,
                                                const std::string& service) const override;
  absl::Status configureOutboundResources(const nlohmann::json& conf,
                                          const xds::OutboundTarget& target,
                                          xds::OutboundResources& res) const override;
  absl::Status configureOutboundTcpProxy(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
};

}  // namespace kuma::policies::meshtcproute
