#pragma once

// File: xds_configurer.h
// MeshPassthrough's xDS plugin (Kuma 2.14's meshpassthrough plugin, order 500). For a
// transparent-proxy sidecar (not a builtin gateway, not `feature-bind-outbounds`) that
// MeshPassthrough policies select, from their merged `default` (`passthroughMode` of the most
// specific, `appendMatch` of all, in precedence order):
//
// * `None` on a mesh with `networking.outbound.passthrough` on: the `outbound:passthrough:ipv4`
//   and `:ipv6` clusters are removed (the listener's chains then lead nowhere);
// * `All` on a mesh with passthrough off: those two clusters are added back; `All` otherwise
//   changes nothing;
// * `Matched` (the default): the two clusters are removed and, when `appendMatch` has items, the
//   outbound passthrough listeners get one filter chain per ordered (protocol, port, match)
//   (Kuma's GetOrderedMatchers: TLS, TCP, HTTP, HTTP2, gRPC; then IPv6, IP, CIDRv6, CIDR, domain,
//   wildcard domain; then higher port first; a match without port is repeated on every port
//   another match names), `meshpassthrough_*` ORIGINAL_DST clusters, and the original_dst,
//   TLS- and HTTP-inspector listener filters (both disabled on MySQL ports). HTTP domains of a
//   port share one chain whose route configuration answers 503 for any other host.
//
// Not (yet): Kuma's unified resource naming of the two default clusters; the policy's warnings
// (builtin gateway, no transparent proxy) in the inspect API.

#include "kuma/xds/policy_plugin.h"

namespace kuma::policies::meshpassthrough {

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
};

}  // namespace kuma::policies::meshpassthrough
