#pragma once

// File: xds_configurer.h
// The legacy TrafficRoute's xDS plugin: Kuma 2.14's legacy outbound path
// (pkg/xds/generator/outbound_proxy_generator.go) for Universal sidecars.
//
// When MeshContext::usesLegacyRouting() holds for a proxy (the mesh has a TrafficRoute and no
// MeshHTTPRoute/MeshTCPRoute selects the proxy), every outbound takes the TrafficRoute that
// best matches it (Kuma's SelectOutboundConnectionPolicies: sources by the proxy's inbound tags,
// destinations by the outbound's service, most specific aggregate selector rank, ties to the
// later created): its `conf.http[]` become routes (in order, before the default route of
// `conf.split` / `conf.destination`), every split destination a cluster named by Kuma's
// DestinationClusterName (`backend-154693772bc47249`) with a ClusterLoadAssignment of the
// endpoints carrying its tags, and `conf.loadBalancer` the clusters' LB. The outbound listeners'
// timeouts come from the legacy `Timeout` policy that best matches the outbound (none: every
// listener value 0s, i.e. disabled). MeshTimeout still runs afterwards (see
// meshtimeout/xds_configurer.h) and is what decides the clusters' timeouts, as in Kuma.
//
// How the pieces run (docs/adr/0008-policy-seam.md): the typed hooks turn the generator's
// catch-all route / tcp_proxy into the legacy ones (order 0, before every Mesh* plugin, like
// Kuma's generator); apply() then replaces each outbound's main cluster by the route's clusters
// (copies of the main cluster, so every plugin's cluster settings carry over) and their
// ClusterLoadAssignments (the main one filtered by tags). Outbounds without a matching
// TrafficRoute route nothing: their listener keeps an empty filter chain, as in Kuma.
//
// Not covered: destinations in another mesh (`kuma.io/mesh` tag), ExternalServices, outbounds
// with tags beyond `kuma.io/service`, gateways, legacy RateLimit. Legacy HealthCheck,
// CircuitBreaker and Retry have their own folders (healthcheck/, circuitbreaker/, retry/) and
// reuse this folder's selection (selectConnectionPolicy).

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "api/mesh/v1alpha1/timeout.pb.h"
#include "api/mesh/v1alpha1/traffic_route.pb.h"
#include "kuma/model/resource.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/tag_selector.h"
#include "kuma/xds/policy_plugin.h"

namespace kuma::xds {
class MeshContext;
}  // namespace kuma::xds

namespace kuma::policies::trafficroute {

using Tags = std::map<std::string, std::string>;

using resources::rankOf;
using resources::selectorMatches;
using resources::SelectorRank;
using resources::toTags;

/** Kuma's Dataplane.Matches: some inbound carries the selector's tags (or it is empty). */
bool dataplaneMatches(const Tags& selector, const std::vector<Tags>& inboundTags);
/** The tags of every inbound of `dataplane` (empty when it holds no Dataplane spec). */
std::vector<Tags> inboundTagsOf(const model::Resource& dataplane);
/** Whether `proxy` takes Kuma's legacy outbound path (MeshContext::usesLegacyRouting()). */
bool legacyPath(const xds::ProxyContext* proxy);

/** The policies holding a `Spec`, by name (Kuma sorts them so, to avoid flakiness). */
template <class Spec>
std::vector<const model::Resource*> byNameOf(
    const std::vector<model::ResourceConstSharedPtr>& policies) {
  std::vector<const model::Resource*> byName;
  for (const auto& p : policies) {
    if (p != nullptr && model::protoSpecOf<Spec>(*p) != nullptr) {
      byName.push_back(p.get());
    }
  }
  std::stable_sort(byName.begin(), byName.end(),
                   [](const auto* a, const auto* b) { return a->meta.name < b->meta.name; });
  return byName;
}

/**
 * Kuma's SelectDataplanePolicy (pkg/core/policy) for the policy types with `selectors` that
 * apply to a whole proxy (TrafficTrace, ProxyTemplate): the policy with a selector that some
 * inbound's tags match and the highest rank; no selectors, or an empty one, match with rank 0.
 * Ties go to the later created one, then to the name sorting first. nullptr when none.
 */
template <class Spec>
const model::Resource* selectDataplanePolicy(
    const std::vector<model::ResourceConstSharedPtr>& policies,
    const std::vector<Tags>& inboundTags) {
  const model::Resource* best = nullptr;
  SelectorRank bestRank;
  const auto sameRankCreatedLater = [&](const model::Resource* p, const SelectorRank& rank) {
    return best != nullptr && rank.compare(bestRank) == 0 &&
           p->meta.creationTime > best->meta.creationTime;
  };
  for (const model::Resource* p : byNameOf<Spec>(policies)) {
    const Spec& spec = *model::protoSpecOf<Spec>(*p);
    if (spec.selectors().empty()) {  // matches everything, rank 0
      if (best == nullptr || sameRankCreatedLater(p, {})) {
        best = p;
      }
      continue;
    }
    for (const auto& selector : spec.selectors()) {
      const Tags tags = toTags(selector.match());
      if (tags.empty()) {
        if (best == nullptr || sameRankCreatedLater(p, {})) {
          best = p;
        }
        continue;
      }
      const bool matches = std::any_of(inboundTags.begin(), inboundTags.end(),
                                       [&](const Tags& t) { return selectorMatches(tags, t); });
      if (!matches) {
        continue;
      }
      const SelectorRank rank = rankOf(tags);
      if (rank.compare(bestRank) > 0 || sameRankCreatedLater(p, rank)) {
        bestRank = rank;
        best = p;
      }
    }
  }
  return best;
}

/**
 * Kuma's SelectConnectionPolicies (pkg/core/policy) for one destination service, for every legacy
 * connection policy type `Spec` (sources/destinations selectors: TrafficRoute, Timeout,
 * HealthCheck, CircuitBreaker, Retry): the policy whose best source selector matches some
 * inbound of the proxy and whose destination selector matches `{kuma.io/service: service}` with
 * the highest combined rank (sources plus destination); ties go to the later created one, then
 * to the name sorting first. nullptr when none (resources without a `Spec` are skipped).
 */
template <class Spec>
const model::Resource* selectConnectionPolicy(
    const std::vector<model::ResourceConstSharedPtr>& policies,
    const std::vector<Tags>& inboundTags, const std::string& service) {
  const std::vector<const model::Resource*> byName = byNameOf<Spec>(policies);
  const Tags outboundTags{{"kuma.io/service", service}};
  const model::Resource* best = nullptr;
  SelectorRank bestRank;
  for (const model::Resource* p : byName) {
    const Spec& spec = *model::protoSpecOf<Spec>(*p);
    // The most specific source selector matching the proxy.
    bool matches = false;
    SelectorRank sourceRank;
    for (const auto& source : spec.sources()) {
      const Tags selector = toTags(source.match());
      if (dataplaneMatches(selector, inboundTags)) {
        const SelectorRank rank = rankOf(selector);
        if (!matches || rank.compare(sourceRank) > 0) {
          sourceRank = rank;
        }
        matches = true;
      }
    }
    if (!matches) {
      continue;
    }
    for (const auto& destination : spec.destinations()) {
      const Tags selector = toTags(destination.match());
      if (!selectorMatches(selector, outboundTags)) {
        continue;
      }
      const SelectorRank rank = rankOf(selector).combinedWith(sourceRank);
      if (best == nullptr || rank.compare(bestRank) > 0 ||
          (rank.compare(bestRank) == 0 && p->meta.creationTime > best->meta.creationTime)) {
        best = p;
        bestRank = rank;
      }
    }
  }
  return best;
}

/**
 * Kuma's SelectInboundConnectionAllPolicies (pkg/core/policy) for one inbound, for the legacy
 * policies an inbound applies for the callers its sources select (FaultInjection, RateLimit):
 * every policy (visited by name) once per destination selector matching `inboundTags`, then
 * ordered by the rank of its first source selector, most specific first (ties: the later
 * created first). Resources without a `Spec` are skipped.
 */
template <class Spec>
std::vector<const model::Resource*> inboundConnectionPolicies(
    const std::vector<model::ResourceConstSharedPtr>& policies, const Tags& inboundTags) {
  const std::vector<const model::Resource*> byName = byNameOf<Spec>(policies);
  std::vector<const model::Resource*> out;
  for (const model::Resource* p : byName) {
    for (const auto& destination : model::protoSpecOf<Spec>(*p)->destinations()) {
      if (selectorMatches(toTags(destination.match()), inboundTags)) {
        out.push_back(p);  // once per matching selector, as Kuma
      }
    }
  }
  // Kuma's ConnectionPolicyBySourceRank: the rank of the first source selector.
  const auto firstSourceRank = [](const model::Resource& r) {
    const Spec& spec = *model::protoSpecOf<Spec>(r);
    return spec.sources().empty() ? SelectorRank{} : rankOf(toTags(spec.sources(0).match()));
  };
  std::stable_sort(out.begin(), out.end(), [&](const auto* a, const auto* b) {
    const int c = firstSourceRank(*a).compare(firstSourceRank(*b));
    return c == 0 ? a->meta.creationTime > b->meta.creationTime : c > 0;
  });
  return out;
}

/**
 * Kuma's SelectInboundConnectionPolicy (pkg/core/policy) for one inbound, for the legacy
 * TrafficPermission: among the policies (visited by name) the one with the most specific
 * destination selector matching `inboundTags`; ties go to the later created one. nullptr when
 * none (resources without a `Spec` are skipped).
 */
template <class Spec>
const model::Resource* selectInboundConnectionPolicy(
    const std::vector<model::ResourceConstSharedPtr>& policies, const Tags& inboundTags) {
  const std::vector<const model::Resource*> byName = byNameOf<Spec>(policies);
  const model::Resource* best = nullptr;
  SelectorRank bestRank;
  for (const model::Resource* p : byName) {
    for (const auto& destination : model::protoSpecOf<Spec>(*p)->destinations()) {
      const Tags selector = toTags(destination.match());
      if (!selectorMatches(selector, inboundTags)) {
        continue;
      }
      const SelectorRank rank = rankOf(selector);
      const int c = rank.compare(bestRank);
      if (c > 0 || (c == 0 && best != nullptr && p->meta.creationTime > best->meta.creationTime)) {
        best = p;
        bestRank = rank;
      }
    }
  }
  return best;
}

/** An inbound being generated, as the legacy inbound policies see it. */
struct LegacyInbound {
  /** The mesh's legacy policies of the plugin's type (non-empty). */
  const std::vector<model::ResourceConstSharedPtr>* policies = nullptr;
  /** The inbound's tags. */
  Tags tags;
};
/**
 * The legacy policies of `type` of the target's mesh and the tags of its Dataplane inbound;
 * nullopt when the mesh has none of that type or the target has no such inbound.
 */
std::optional<LegacyInbound> legacyInbound(const xds::InboundTarget& target, std::string_view type);

/** inboundConnectionPolicies() of the target's inbound among the mesh's policies of `type`. */
template <class Spec>
std::vector<const model::Resource*> inboundConnectionPolicies(const xds::InboundTarget& target,
                                                              std::string_view type) {
  const std::optional<LegacyInbound> inbound = legacyInbound(target, type);
  return inbound ? inboundConnectionPolicies<Spec>(*inbound->policies, inbound->tags)
                 : std::vector<const model::Resource*>{};
}

/**
 * Kuma's SelectConnectionPolicies for one destination: the TrafficRoute of `routes` whose best
 * source selector matches some inbound of the proxy (`inboundTags`) and whose destination
 * selector matches `{kuma.io/service: service}` with the highest combined rank (sources plus
 * destination); ties go to the later created one, then to the name sorting first. nullptr when
 * none (or when no resource holds a TrafficRoute spec).
 */
const model::Resource* selectTrafficRoute(const std::vector<model::ResourceConstSharedPtr>& routes,
                                          const std::vector<Tags>& inboundTags,
                                          const std::string& service);
/** selectTrafficRoute() for legacy Timeout policies (Kuma's BuildTimeoutMap). */
const model::Resource* selectTimeout(const std::vector<model::ResourceConstSharedPtr>& timeouts,
                                     const std::vector<Tags>& inboundTags,
                                     const std::string& service);

// ---- inspection: where Kuma's MatchedPolicies attaches legacy policies ----

/** A Dataplane's inbound or declared outbound as Kuma's inspect API names it. */
struct InspectedInterface {
  /** Inbound `<ip>:<port>:<servicePort>` (InboundInterface), outbound `<ip>:<port>`. */
  std::string name;
  /** Its `kuma.io/service`. */
  std::string service;
  /** An inbound's tags (empty for outbounds). */
  Tags tags;
};
/** Kuma's ToInboundInterface of every inbound of the Dataplane, in order. */
std::vector<InspectedInterface> inspectedInbounds(const model::Resource& dataplane);
/** Kuma's ToOutboundInterface of every declared outbound without a `backendRef`, in order. */
std::vector<InspectedInterface> inspectedOutbounds(const model::Resource& dataplane);
/**
 * Kuma's BuildDestinationMap services: per declared outbound (no `backendRef`), the
 * `kuma.io/service`s of the split of the TrafficRoute that best matches it, else its own
 * service. Sorted, each once.
 */
std::vector<std::string> inspectedDestinations(const xds::MeshContext& mesh,
                                               const model::Resource& dataplane);

/**
 * Service attachments of connection policy type `Spec` (Kuma's SelectConnectionPolicies): for
 * each of `services`, the best-matching policy of `policies`.
 */
template <class Spec>
void attachPerService(const std::vector<model::ResourceConstSharedPtr>& policies,
                      const model::Resource& dataplane, const std::vector<std::string>& services,
                      std::vector<xds::PolicyAttachment>& out) {
  if (policies.empty()) {
    return;
  }
  const std::vector<Tags> inboundTags = inboundTagsOf(dataplane);
  for (const std::string& service : services) {
    if (const model::Resource* p = selectConnectionPolicy<Spec>(policies, inboundTags, service)) {
      out.push_back({xds::PolicyAttachment::Kind::Service, service, service, p});
    }
  }
}

/**
 * Outbound attachments of connection policy type `Spec` (Kuma's SelectOutboundConnectionPolicies
 * mapped onto the declared outbounds): each outbound gets the policy that best matches its
 * service.
 */
template <class Spec>
void attachPerOutbound(const std::vector<model::ResourceConstSharedPtr>& policies,
                       const model::Resource& dataplane, std::vector<xds::PolicyAttachment>& out) {
  if (policies.empty()) {
    return;
  }
  const std::vector<Tags> inboundTags = inboundTagsOf(dataplane);
  for (const InspectedInterface& outbound : inspectedOutbounds(dataplane)) {
    if (const model::Resource* p =
            selectConnectionPolicy<Spec>(policies, inboundTags, outbound.service)) {
      out.push_back({xds::PolicyAttachment::Kind::Outbound, outbound.name, outbound.service, p});
    }
  }
}

/**
 * Inbound attachments of Kuma's SelectInboundConnectionMatchingPolicies (FaultInjection,
 * RateLimit): every inboundConnectionPolicies() entry of each inbound, in that order.
 */
template <class Spec>
void attachAllPerInbound(const std::vector<model::ResourceConstSharedPtr>& policies,
                         const model::Resource& dataplane,
                         std::vector<xds::PolicyAttachment>& out) {
  if (policies.empty()) {
    return;
  }
  for (const InspectedInterface& inbound : inspectedInbounds(dataplane)) {
    for (const model::Resource* p : inboundConnectionPolicies<Spec>(policies, inbound.tags)) {
      out.push_back({xds::PolicyAttachment::Kind::Inbound, inbound.name, inbound.service, p});
    }
  }
}

/** Kuma's `x-kuma-tags` value of the proxy's inbound tags: `&k=v1,v2&` per key, sorted. */
std::string tagsHeader(const std::vector<Tags>& inboundTags);

/** One cluster of a legacy route. */
struct LegacyCluster {
  std::string name;
  std::string service;
  Tags tags;  // destination tags after wildcard resolution (kuma.io/service included)
  uint32_t weight = 1;
};

/** One route of a legacy outbound: an http[] entry or (http == nullptr) the default route. */
struct LegacyRoute {
  const mesh::v1alpha1::TrafficRoute::Http* http = nullptr;  // points into the policy's spec
  std::vector<LegacyCluster> clusters;
};

/** The legacy routing of one outbound of one proxy. */
struct OutboundRouting {
  /** The selected TrafficRoute (null: none matches, the outbound routes nothing). */
  const model::Resource* trafficRoute = nullptr;
  /** http[] routes in order, then the default one; routes without clusters are left out. */
  std::vector<LegacyRoute> routes;
  mesh::v1alpha1::TrafficRoute::LoadBalancer loadBalancer;
  /** The selected legacy Timeout's conf (empty: none, every value 0). */
  mesh::v1alpha1::Timeout::Conf timeout;

  /** Every cluster of every route, in route order, first occurrence of each name. */
  std::vector<LegacyCluster> clusters() const;
};

/** The routing of the outbound to `service` of `dataplane` (Kuma's determineRoutes). */
OutboundRouting outboundRouting(const xds::MeshContext& mesh, const model::Resource& dataplane,
                                const std::string& service);

/** One outbound listener of a proxy (Kuma's `io.kuma.tags` metadata, passthrough excluded). */
struct LegacyOutbound {
  std::string listenerName;
  Tags tags;
  std::string service;
};
std::vector<LegacyOutbound> legacyOutbounds(xds::ResourceSet& resources);

/**
 * Every cluster of the legacy routes of the proxy's outbounds, first occurrence by name (Kuma's
 * services accumulator: what generateCDS configures with the legacy HealthCheck/CircuitBreaker).
 */
std::vector<LegacyCluster> legacyClusters(const xds::ProxyContext& proxy,
                                          xds::ResourceSet& resources);

/**
 * Kuma's RoutesConfigurer for one route: match (http routes), cluster or weighted clusters,
 * `timeout` = the legacy http.requestTimeout (0s without), header modifications, rewrites; no
 * name. Resets what the route had of those.
 */
void configureRoute(const LegacyRoute& route, const mesh::v1alpha1::Timeout::Conf& timeout,
                    envoy::config::route::v3::Route& out);

/**
 * Kuma's LbConfigurer (envoy_clusters.LB): roundRobin/none → ROUND_ROBIN, leastRequest →
 * LEAST_REQUEST with choice_count (default 2), ringHash → RING_HASH with its hash function and
 * ring sizes, random → RANDOM, maglev → MAGLEV.
 * @return InvalidArgument for an unknown ring hash function (Kuma fails the same way).
 */
absl::Status setLoadBalancer(const mesh::v1alpha1::TrafficRoute::LoadBalancer& lb,
                             envoy::config::cluster::v3::Cluster& cluster);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  /** 0: Kuma's legacy generator runs before every policy plugin. */
  int order() const override;
  absl::Status configureOutboundRoute(const nlohmann::json& conf, const xds::OutboundTarget& target,
                                      envoy::config::route::v3::Route& route) const override;
  absl::Status configureOutboundHcm(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  absl::Status configureOutboundTcpProxy(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
  /** The legacy TrafficRoute and Timeout that best match each declared outbound (Kuma's
   *  BuildRouteMap and BuildTimeoutMap). */
  void attachments(const xds::ProxyContext& proxy,
                   std::vector<xds::PolicyAttachment>& out) const override;
};

}  // namespace kuma::policies::trafficroute
