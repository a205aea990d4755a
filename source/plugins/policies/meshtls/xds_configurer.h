#pragma once

// File: xds_configurer.h
// MeshTLS's xDS plugin (Kuma 2.14's meshtls plugin, order 300). Only on a mesh with mTLS, for a
// proxy that MeshTLS policies select, from the merged catch-all inbound conf (`from[]` as rules):
//
// * every inbound listener: the policies' `mode` (else the CA backend's) decides its chains,
//   STRICT (mTLS only) or PERMISSIVE (TLS inspector; plaintext, application-TLS and mesh-mTLS
//   chains); `tlsVersion` sets the mTLS chain's TLS parameters (minimum, maximum) and, only then,
//   `tlsCiphers` its cipher suites (as Kuma's ServerSideMTLS does);
// * the inbound passthrough listeners (transparent proxy): per-port chains when STRICT (strict
//   inbound ports, whatever the proxy's features), one catch-all chain when PERMISSIVE;
// * every cluster with Kuma's mTLS transport socket (the destinations' clusters, shared): its
//   upstream TLS parameters from `tlsVersion` and `tlsCiphers`.
//
// Not (yet): gateways, MeshIdentity workload identities (SPIFFE SAN matchers), the unified
// resource naming of the rebuilt listeners.

#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"

namespace envoy::extensions::transport_sockets::tls::v3 {
class CommonTlsContext;
}  // namespace envoy::extensions::transport_sockets::tls::v3

namespace kuma::policies::meshtls {

/**
 * Kuma's upstream TLS parameters of a MeshTLS conf: when it has ciphers or a version bound, new
 * TlsParameters with the cipher suites, minimum and maximum given. @return whether it changed.
 */
bool setUpstreamTlsParams(const nlohmann::json& conf,
                          envoy::extensions::transport_sockets::tls::v3::CommonTlsContext& tls);

/** Kuma's inbound (ServerSideMTLS) TLS parameters of a MeshTLS conf; whether it changed. */
bool setDownstreamTlsParams(const nlohmann::json& conf,
                            envoy::extensions::transport_sockets::tls::v3::CommonTlsContext& tls);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  /** The proxy's catch-all inbound conf for every destination; null without policies. */
  std::optional<nlohmann::json> destinationConf(const std::vector<const nlohmann::json*>& specs,
                                                const std::string& service) const override;
  absl::Status configureOutboundResources(const nlohmann::json& conf,
                                          const xds::OutboundTarget& target,
                                          xds::OutboundResources& resources) const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
};

}  // namespace kuma::policies::meshtls
