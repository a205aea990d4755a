#pragma once

// File: policy_plugin.h
// The contract between the xDS generator and the policy plugins (Kuma's PolicyPlugin:
// `Apply(ResourceSet, MeshContext, Proxy)`), docs/adr/0008-policy-seam.md.
//
// The generator builds the proxy's resources (listeners, clusters, endpoints, secrets) into a
// ResourceSet; every plugin of the table, in order() (Kuma's order), may then add, remove and
// edit any of them in apply(). For the common cases the generator also calls typed hooks while a
// resource is still being built (before its HCM or tcp_proxy is packed), so that simple plugins
// stay simple and cheap:
//
//   per inbound:     configureInboundCluster, configureInboundRoute, configureInboundHcm,
//                    configureInboundTcpProxy, configureInboundListener
//   per destination: configureOutboundCluster, configureOutboundResources  (shared, see below)
//                    configureOutboundRoute, configureOutboundHcm, configureOutboundTcpProxy
//   per proxy:       apply
//
// Every hook receives `conf`, the plugin's conf for that inbound or destination:
// inboundConf()/destinationConf() of the policies of the plugin's type that select the proxy (in
// precedence order); by default the RFC 7396 merge of their `default`s (null when nothing
// applies, for destinations). Hooks run whether or not a policy applies, so a plugin can apply
// built-in defaults.
//
// Sharing. configureOutboundCluster and configureOutboundResources build the destination's
// clusters and ClusterLoadAssignments once per (mesh context, destination, selected-policy
// signature) and every proxy with that signature gets the same serialized objects; they must be
// pure functions of (conf, target's destination fields, resources). The signature names every
// plugin type and every policy each plugin selected for the proxy (plus signatureOf()), so a
// shared resource never crosses a policy boundary.
//
//   class MyPlugin : public PolicyPlugin {
//    public:
//     std::string_view policyType() const override { return "MeshTimeout"; }
//     int order() const override { return 1000; }
//     absl::Status configureOutboundCluster(const nlohmann::json& conf,
//                                           const OutboundTarget& target,
//                                           envoy::config::cluster::v3::Cluster& c) const override;
//   };
//
// Thread-safety: plugins are immutable and called concurrently from many generations; every
// method is const. Default implementations leave everything untouched.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "kuma/model/resource.h"
#include "kuma/xds/protocol.h"
#include "nlohmann/json.hpp"

namespace envoy::config::cluster::v3 {
class Cluster;
}  // namespace envoy::config::cluster::v3
namespace envoy::config::endpoint::v3 {
class ClusterLoadAssignment;
}  // namespace envoy::config::endpoint::v3
namespace envoy::config::listener::v3 {
class Listener;
}  // namespace envoy::config::listener::v3
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

class MeshContext;    // source/xds/context/mesh_context.h
class ResourceSet;    // source/xds/envoy/resource_set.h
struct ProxyOptions;  // source/xds/generator/generator.h
struct InboundTarget;

/** The proxy being generated, as every hook may read it. */
struct ProxyContext {
  /** Its mesh's context (endpoints, VIPs, policies, per-context memos). */
  const MeshContext* mesh = nullptr;
  /** The Dataplane resource (its spec is a mesh::v1alpha1::Dataplane). */
  const model::Resource* dataplane = nullptr;
  const ProxyOptions* options = nullptr;
  /** Transparent proxying is on (redirect ports set). */
  bool transparentProxy = false;
  /** Every generated inbound (not the Ignored ones), in Dataplane order; set before apply(). */
  const std::vector<InboundTarget>* inbounds = nullptr;
  /**
   * The names of the generated outbound listeners (`outbound:<ip>:<port>`), in the proxy's
   * outbound order (Kuma's proxy.Outbounds); set before apply().
   */
  const std::vector<std::string>* outboundListeners = nullptr;
};

/** The inbound a hook is configuring. */
struct InboundTarget {
  const ProxyContext* proxy = nullptr;
  /** Index of the inbound in the Dataplane's `networking.inbound`. */
  int index = 0;
  /** The inbound (listener) port. */
  uint32_t port = 0;
  /** The inbound's protocol (its `protocol` field or `kuma.io/protocol` tag). */
  Protocol protocol = Protocol::Unknown;
  /** `inbound:<ip>:<port>`. */
  std::string listenerName;
  /** `localhost:<servicePort>`. */
  std::string clusterName;
};

/** The destination a hook is configuring. */
struct OutboundTarget {
  /**
   * The proxy being generated: null inside the shared hooks (configureOutboundCluster,
   * configureOutboundResources), which must not depend on the proxy.
   */
  const ProxyContext* proxy = nullptr;
  /** The mesh context (also in the shared hooks). */
  const MeshContext* mesh = nullptr;
  /** The legacy `kuma.io/service` of the destination. */
  std::string service;
  /** The service's protocol, inferred from its endpoints. */
  Protocol protocol = Protocol::Unknown;
  /** The destination's main cluster (and ClusterLoadAssignment) name. */
  std::string clusterName;
  /** `outbound:<ip>:<port>` (empty in the shared hooks). */
  std::string listenerName;
  /**
   * The control plane's zone (ProxyOptions::zone, Kuma's proxy.Zone; valid while the hook runs).
   * A shared hook that reads it must put it into its signatureOf().
   */
  std::string_view localZone;
};

/**
 * The shared resources of one destination while configureOutboundResources runs: its main
 * cluster and ClusterLoadAssignment (named target.clusterName) plus any a plugin adds (subset
 * clusters of a split, say). The generator adds them all to every proxy that sends traffic to the
 * destination with the same signature.
 */
struct OutboundResources {
  std::vector<std::unique_ptr<envoy::config::cluster::v3::Cluster>> clusters;
  std::vector<std::unique_ptr<envoy::config::endpoint::v3::ClusterLoadAssignment>> endpoints;
  /**
   * Other services whose endpoints went into these resources (a route's backends): the proxy
   * is regenerated when they change, as for its own destinations.
   */
  std::set<std::string> services;
};

/**
 * Where a legacy (selector-based) policy applies to a proxy, as Kuma's inspect API shows it
 * (its MatchedPolicies, `kumactl inspect dataplane --type=policies` and
 * `kumactl inspect <policy> NAME`).
 */
struct PolicyAttachment {
  /** Kuma's AttachmentType, in its order. */
  enum class Kind { Inbound, Outbound, Service, Dataplane };
  Kind kind = Kind::Dataplane;
  /** Inbound `<ip>:<port>:<servicePort>`, outbound `<ip>:<port>`, a service's name, or empty. */
  std::string name;
  /** The inbound's or outbound's `kuma.io/service`, or the service; empty for the Dataplane. */
  std::string service;
  /** The policy (owned by the proxy's mesh context). */
  const model::Resource* policy = nullptr;
};

/** One policy type's effect on Envoy resources. */
class PolicyPlugin {
 public:
  virtual ~PolicyPlugin() = default;

  /** The policy type whose policies feed this plugin ("MeshTimeout"). */
  virtual std::string_view policyType() const = 0;

  /** Position among the plugins, Kuma's order (MeshHTTPRoute 100 … MeshRetry 1400): lower first. */
  virtual int order() const = 0;

  // ---- confs ----

  /**
   * This plugin's conf for traffic to `service` from its selected policies `specs` (normalized
   * spec JSON, precedence order). nullopt: the default merge (the `to[]` items covering the
   * service, RFC 7396-merged; null when none). Route plugins override it (their rules are
   * concatenated, not merged).
   */
  virtual std::optional<nlohmann::json> destinationConf(
      const std::vector<const nlohmann::json*>& /*specs*/, const std::string& /*service*/) const {
    return std::nullopt;
  }
  /** As destinationConf() for the inbounds; nullopt: the catch-all `from[]`/`rules[]` merge. */
  virtual std::optional<nlohmann::json> inboundConf(
      const std::vector<const nlohmann::json*>& /*specs*/) const {
    return std::nullopt;
  }

  // ---- inbound (one per Dataplane inbound) ----

  /** The inbound cluster `localhost:<servicePort>` (STATIC, to the workload). */
  virtual absl::Status configureInboundCluster(const nlohmann::json&, const InboundTarget&,
                                               envoy::config::cluster::v3::Cluster&) const {
    return absl::OkStatus();
  }
  /** The HTTP connection manager of an HTTP inbound listener (route config included). */
  virtual absl::Status configureInboundHcm(
      const nlohmann::json&, const InboundTarget&,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager&)
      const {
    return absl::OkStatus();
  }
  /** The catch-all route of an HTTP inbound (called before configureInboundHcm). */
  virtual absl::Status configureInboundRoute(const nlohmann::json&, const InboundTarget&,
                                             envoy::config::route::v3::Route&) const {
    return absl::OkStatus();
  }
  /** The tcp_proxy of a non-HTTP inbound listener. */
  virtual absl::Status configureInboundTcpProxy(
      const nlohmann::json&, const InboundTarget&,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy&) const {
    return absl::OkStatus();
  }
  /**
   * The whole inbound listener once its filter chains (one per mTLS mode variant, HCM/tcp_proxy
   * packed, transport sockets set) are built.
   */
  virtual absl::Status configureInboundListener(const nlohmann::json&, const InboundTarget&,
                                                envoy::config::listener::v3::Listener&) const {
    return absl::OkStatus();
  }

  // ---- outbound (one per destination service) ----

  /** The EDS cluster of a destination (shared, see the file comment). */
  virtual absl::Status configureOutboundCluster(const nlohmann::json&, const OutboundTarget&,
                                                envoy::config::cluster::v3::Cluster&) const {
    return absl::OkStatus();
  }
  /**
   * Every shared resource of a destination, after every plugin's configureOutboundCluster: edit
   * its endpoints, add clusters and ClusterLoadAssignments (shared, see the file comment).
   */
  virtual absl::Status configureOutboundResources(const nlohmann::json&, const OutboundTarget&,
                                                  OutboundResources&) const {
    return absl::OkStatus();
  }
  /** The HTTP connection manager of an HTTP outbound listener (route config included). */
  virtual absl::Status configureOutboundHcm(
      const nlohmann::json&, const OutboundTarget&,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager&)
      const {
    return absl::OkStatus();
  }
  /** The catch-all route of an HTTP outbound (called before configureOutboundHcm). */
  virtual absl::Status configureOutboundRoute(const nlohmann::json&, const OutboundTarget&,
                                              envoy::config::route::v3::Route&) const {
    return absl::OkStatus();
  }
  /** The tcp_proxy of a non-HTTP outbound listener. */
  virtual absl::Status configureOutboundTcpProxy(
      const nlohmann::json&, const OutboundTarget&,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy&) const {
    return absl::OkStatus();
  }

  // ---- the whole proxy ----

  /**
   * Runs after every typed hook of every plugin, in plugin order: may add, remove and edit any
   * resource of `resources` (shared entries are copied on first mutable access).
   * `specs`: the plugin's selected policies, in precedence order.
   */
  virtual absl::Status apply(const ProxyContext&, const std::vector<const nlohmann::json*>&,
                             ResourceSet&) const {
    return absl::OkStatus();
  }

  /**
   * Extra input of the proxy's shared-resource signature beyond the selected policies' names
   * (for plugins whose shared output depends on more than that). Default: none.
   */
  virtual std::string signatureOf(const ProxyContext&) const { return {}; }

  // ---- inspection ----
  /**
   * The legacy policies this plugin applies to the proxy, where Kuma's MatchedPolicies attaches
   * them (appended to `out`). Only `proxy.mesh` and `proxy.dataplane` are set. Default: none
   * (the targetRef policies are matched by the inspect module itself).
   */
  virtual void attachments(const ProxyContext&, std::vector<PolicyAttachment>&) const {}
};

using PolicyPluginPtr = std::unique_ptr<const PolicyPlugin>;
/** An explicit plugin table, sorted by order() (see source/plugins/policies/xds_plugins.h). */
using PolicyPluginList = std::vector<PolicyPluginPtr>;
using PolicyPluginListConstSharedPtr = std::shared_ptr<const PolicyPluginList>;

}  // namespace kuma::xds
