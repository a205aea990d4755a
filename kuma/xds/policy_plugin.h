#pragma once

// File: policy_plugin.h
// The contract between the xDS generators and the Mesh* policy plugins (Kuma's PolicyPlugin +
// plugin/xds configurer). The generators build every Envoy resource of a proxy; while a resource
// is still a message (before it is packed or serialized) they hand it to each registered plugin,
// in plugin order, together with that plugin's merged conf: the RFC 7396 merge, in precedence
// order, of the `default` of every policy of the plugin's type that selects the proxy and covers
// the inbound (`from[]` / match-less `rules[]`) or the destination service (`to[]`).
//
//   class MyConfigurer : public PolicyPlugin {
//    public:
//     std::string_view policyType() const override { return "MeshTimeout"; }
//     int order() const override { return 60; }
//     absl::Status configureOutboundCluster(const nlohmann::json& conf,
//                                           const OutboundTarget& target,
//                                           envoy::config::cluster::v3::Cluster& c) const override;
//   };

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "kuma/xds/protocol.h"
#include "nlohmann/json_fwd.hpp"

namespace envoy::config::cluster::v3 {
class Cluster;
}  // namespace envoy::config::cluster::v3
namespace envoy::config::route::v3 {
class Route;
}  // namespace envoy::config::route::v3
namespace envoy::extensions::filters::network::http_connection_manager::v3 {
class HttpConnectionManager;
}  // namespace envoy::extensions::filters::network::http_connection_manager::v3
namespace envoy::extensions::filters::network::tcp_proxy::v3 {
class TcpProxy;
}  // namespace envoy::extensions::filters::network::tcp_proxy::v3

namespace kuma::xds {

/** The inbound a hook is configuring. */
struct InboundTarget {
  /** The inbound (listener) port. */
  uint32_t port = 0;
  /** The inbound's protocol (its `protocol` field or `kuma.io/protocol` tag). */
  Protocol protocol = Protocol::Unknown;
};

/** The destination a hook is configuring. */
struct OutboundTarget {
  /** The legacy `kuma.io/service` of the destination. */
  std::string service;
  /** The service's protocol, inferred from its endpoints. */
  Protocol protocol = Protocol::Unknown;
};

/**
 * One Mesh* policy type's effect on Envoy resources.
 *
 * Every hook receives `conf`, the plugin's merged conf for that inbound or destination: a JSON
 * object, or null when no policy of the type applies (hooks are called either way, so a plugin
 * can apply built-in defaults). A hook mutates only the resource it is given and must be a pure
 * function of (conf, target, resource): outbound clusters are built once and shared by every
 * proxy selected by the same policies. Confs were validated on write, so a hook ignores values
 * it cannot use rather than failing on them.
 *
 * Thread-safety: plugins are immutable and called concurrently from many generations; every
 * method is const. Default hook implementations leave the resource untouched.
 */
class PolicyPlugin {
 public:
  virtual ~PolicyPlugin() = default;

  /** The policy type whose policies feed this plugin ("MeshTimeout"). */
  virtual std::string_view policyType() const = 0;

  /** Position among the plugins: lower runs first on each resource (ties: table order). */
  virtual int order() const = 0;

  // ---- inbound (one per Dataplane inbound) ----

  /** The inbound cluster `localhost:<servicePort>` (STATIC, to the workload). */
  virtual absl::Status configureInboundCluster(const nlohmann::json& conf,
                                               const InboundTarget& target,
                                               envoy::config::cluster::v3::Cluster& cluster) const;
  /** The HTTP connection manager of an HTTP inbound listener (route config included). */
  virtual absl::Status configureInboundHcm(
      const nlohmann::json& conf, const InboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const;
  /** The catch-all route of an HTTP inbound (called before configureInboundHcm). */
  virtual absl::Status configureInboundRoute(const nlohmann::json& conf,
                                             const InboundTarget& target,
                                             envoy::config::route::v3::Route& route) const;
  /** The tcp_proxy of a non-HTTP inbound listener. */
  virtual absl::Status configureInboundTcpProxy(
      const nlohmann::json& conf, const InboundTarget& target,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const;

  // ---- outbound (one per destination service) ----

  /** The EDS cluster of a destination (shared by every proxy with the same policies). */
  virtual absl::Status configureOutboundCluster(const nlohmann::json& conf,
                                                const OutboundTarget& target,
                                                envoy::config::cluster::v3::Cluster& cluster) const;
  /** The HTTP connection manager of an HTTP outbound listener (route config included). */
  virtual absl::Status configureOutboundHcm(
      const nlohmann::json& conf, const OutboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const;
  /** The catch-all route of an HTTP outbound (called before configureOutboundHcm). */
  virtual absl::Status configureOutboundRoute(const nlohmann::json& conf,
                                              const OutboundTarget& target,
                                              envoy::config::route::v3::Route& route) const;
  /** The tcp_proxy of a non-HTTP outbound listener. */
  virtual absl::Status configureOutboundTcpProxy(
      const nlohmann::json& conf, const OutboundTarget& target,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const;
};

using PolicyPluginPtr = std::unique_ptr<const PolicyPlugin>;
/** An explicit plugin table (see source/plugins/policies/xds_plugins.h). */
using PolicyPluginList = std::vector<PolicyPluginPtr>;

// No-op defaults, inline so that kuma/ stays header-only.
inline absl::Status PolicyPlugin::configureInboundCluster(
    const nlohmann::json&, const InboundTarget&, envoy::config::cluster::v3::Cluster&) const {
  return absl::OkStatus();
}
inline absl::Status PolicyPlugin::configureInboundHcm(
    const nlohmann::json&, const InboundTarget&,
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager&)
    const {
  return absl::OkStatus();
}
inline absl::Status PolicyPlugin::configureInboundRoute(const nlohmann::json&, const InboundTarget&,
                                                        envoy::config::route::v3::Route&) const {
  return absl::OkStatus();
}
inline absl::Status PolicyPlugin::configureInboundTcpProxy(
    const nlohmann::json&, const InboundTarget&,
    envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy&) const {
  return absl::OkStatus();
}
inline absl::Status PolicyPlugin::configureOutboundCluster(
    const nlohmann::json&, const OutboundTarget&, envoy::config::cluster::v3::Cluster&) const {
  return absl::OkStatus();
}
inline absl::Status PolicyPlugin::configureOutboundHcm(
    const nlohmann::json&, const OutboundTarget&,
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager&)
    const {
  return absl::OkStatus();
}
inline absl::Status PolicyPlugin::configureOutboundRoute(const nlohmann::json&,
                                                         const OutboundTarget&,
                                                         envoy::config::route::v3::Route&) const {
  return absl::OkStatus();
}
inline absl::Status PolicyPlugin::configureOutboundTcpProxy(
    const nlohmann::json&, const OutboundTarget&,
    envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy&) const {
  return absl::OkStatus();
}

}  // namespace kuma::xds
