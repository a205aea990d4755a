#include "source/plugins/policies/meshtcproute/xds_configurer.h"

#include <map>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/rules.h"
#include "source/plugins/policies/core/target_ref.h"
#include "source/plugins/policies/meshhttproute/xds_configurer.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/destination.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::meshtcproute {
namespace {

using meshhttproute::Backend;
using nlohmann::json;
namespace cluster_v3 = envoy::config::cluster::v3;
namespace endpoint_v3 = envoy::config::endpoint::v3;
namespace listener_v3 = envoy::config::listener::v3;
namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;

constexpr std::string_view kMeshTCPRoute = "MeshTCPRoute";
constexpr char kTcpProxyName[] = "envoy.filters.network.tcp_proxy";
constexpr char kTagsMetadataKey[] = "io.kuma.tags";

// Kuma's MakeTCPSplit accepts backends of these protocols (not tls, not mysql).
bool tcpSplitProtocol(xds::Protocol p) {
  return p != xds::Protocol::Tls && p != xds::Protocol::Mysql;
}

// The backends of a merged conf for the destination (Kuma's getBackendRefs: how many references
// resolve, weight 0 and real resources included) and its split (MakeTCPSplit: without weight 0 and
// without tls/mysql services).
struct Split {
  size_t resolved = 0;
  std::vector<Backend> backends;
};

Split splitOf(const json& conf, const xds::OutboundTarget& target) {
  Split out;
  const json* def = conf.is_object() ? member(conf, "default") : nullptr;
  const json* refs = def != nullptr ? member(*def, "backendRefs") : nullptr;
  if (refs == nullptr || !refs->is_array()) {
    return out;
  }
  for (const json& ref : *refs) {
    out.resolved += meshhttproute::resolvesAsBackend(ref) ? 1 : 0;
    auto b = meshhttproute::legacyBackend(ref, target.service, target.clusterName);
    if (!b) {
      continue;
    }
    const xds::Protocol p = b->service == target.service || target.mesh == nullptr
                                ? target.protocol
                                : target.mesh->protocol(b->service);
    if (b->weight != 0 && tcpSplitProtocol(p)) {
      out.backends.push_back(*std::move(b));
    }
  }
  return out;
}

void setSplit(tcp_v3::TcpProxy& proxy, const std::vector<Backend>& split) {
  proxy.clear_cluster_specifier();
  if (split.size() == 1) {
    proxy.set_cluster(split.front().clusterName);
    return;
  }
  auto* weighted = proxy.mutable_weighted_clusters();
  for (const Backend& b : split) {
    auto* c = weighted->add_clusters();
    c->set_name(b.clusterName);
    c->set_weight(b.weight);
  }
}

// The destination of an outbound listener: its `kuma.io/service` and tags (io.kuma.tags).
std::map<std::string, std::string> listenerTags(const listener_v3::Listener& l) {
  std::map<std::string, std::string> tags;
  auto it = l.metadata().filter_metadata().find(kTagsMetadataKey);
  if (it == l.metadata().filter_metadata().end()) {
    return tags;
  }
  for (const auto& [k, v] : it->second.fields()) {
    tags[k] = v.string_value();
  }
  return tags;
}

}  // namespace

std::string_view XdsConfigurer::policyType() const {
  return kMeshTCPRoute;
}

int XdsConfigurer::order() const {
  return 200;  // Kuma's MeshTCPRoute order
}

std::optional<json> XdsConfigurer::destinationConf(const std::vector<const json*>& specs,
                                                   const std::string& service) const {
  // Kuma's To.GetDefault: the first rule, or without rules a rule to the item's own targetRef
  // (weight 1); merged (RFC 7396) in precedence order.
  json merged;
  for (const json* spec : specs) {
    const json* to = spec != nullptr ? member(*spec, "to") : nullptr;
    if (to == nullptr || !to->is_array()) {
      continue;
    }
    for (const json& item : *to) {
      const json* ref = member(item, "targetRef");
      if (!coversDestination(parseTargetRef(ref != nullptr ? *ref : json()), service)) {
        continue;
      }
      json rule;
      if (const json* rules = member(item, "rules");
          rules != nullptr && rules->is_array() && !rules->empty()) {
        rule = (*rules)[0];
      } else {
        json backend = ref != nullptr && ref->is_object() ? *ref : json::object();
        backend["weight"] = 1;
        rule = json{{"default", {{"backendRefs", json::array({backend})}}}};
      }
      if (merged.is_null()) {
        merged = json::object();
      }
      merged.merge_patch(rule);
    }
  }
  return merged;
}

absl::Status XdsConfigurer::configureOutboundResources(const json& conf,
                                                       const xds::OutboundTarget& target,
                                                       xds::OutboundResources& res) const {
  // HTTP destinations: only without a MeshHTTPRoute, which the shared hook cannot see (apply()).
  if (conf.is_null() || xds::isHttpProtocol(target.protocol)) {
    return absl::OkStatus();
  }
  return meshhttproute::provideBackendClusters(target, splitOf(conf, target).backends, res);
}

absl::Status XdsConfigurer::configureOutboundTcpProxy(const json& conf,
                                                      const xds::OutboundTarget& target,
                                                      tcp_v3::TcpProxy& proxy) const {
  if (conf.is_null()) {
    return absl::OkStatus();
  }
  const std::vector<Backend> split = splitOf(conf, target).backends;
  if (!split.empty()) {
    setSplit(proxy, split);
  }
  return absl::OkStatus();
}

// An HTTP destination covered by a MeshTCPRoute and by no MeshHTTPRoute: Kuma replaces its
// outbound listener with a tcp_proxy one and adds the split's clusters. A non-HTTP destination
// whose rule has no usable backend: Kuma generates no listener for it.
absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const json*>& specs,
                                  xds::ResourceSet& resources) const {
  if (specs.empty() || proxy.mesh == nullptr) {
    return absl::OkStatus();
  }
  const std::string listenerType = xds::ResourceSet::typeUrlOf<listener_v3::Listener>();
  std::vector<const json*> httpSpecs;
  bool httpSpecsRead = false;
  for (const std::string& name : resources.names(listenerType)) {
    if (!absl::StartsWith(name, "outbound:") || absl::StartsWith(name, "outbound:passthrough")) {
      continue;
    }
    auto* l = resources.find<listener_v3::Listener>(name);
    const std::map<std::string, std::string> tags = listenerTags(*l);
    auto svc = tags.find(xds::kServiceTag);
    if (svc == tags.end()) {
      continue;
    }
    const std::string service = svc->second;
    xds::OutboundTarget target;
    target.proxy = &proxy;
    target.mesh = proxy.mesh;
    target.service = service;
    target.protocol = proxy.mesh->protocol(service);
    target.clusterName = xds::destinationClusterName(tags);
    target.listenerName = name;
    std::optional<json> conf = destinationConf(specs, service);
    if (!conf || conf->is_null()) {
      continue;
    }
    if (!xds::isHttpProtocol(target.protocol)) {
      // Kuma generates no outbound listener when none of the rule's backends resolves, and a
      // listener without a tcp_proxy when they resolve to an empty split (its clusters are gone
      // already: the shared hook kept only the split's).
      const Split split = splitOf(*conf, target);
      if (split.resolved == 0) {
        resources.remove(listenerType, name);
      } else if (split.backends.empty()) {
        l->clear_filter_chains();
        l->add_filter_chains();
      }
      continue;
    }
    if (!httpSpecsRead) {
      httpSpecs = meshhttproute::selectedSpecs(proxy, kMeshHTTPRoute);
      httpSpecsRead = true;
    }
    if (!meshhttproute::combineRules(httpSpecs, service).is_null()) {
      continue;  // MeshHTTPRoute takes precedence on HTTP destinations
    }
    const Split resolved = splitOf(*conf, target);
    if (resolved.resolved == 0) {
      continue;  // Kuma's MeshTCPRoute plugin then leaves the HTTP listener alone
    }
    const std::vector<Backend>& split = resolved.backends;

    // The split's clusters, copies of the destination's own as in the shared hook. Kuma's
    // MeshHTTPRoute plugin (order 100) has made the destination's own cluster already; it stays.
    auto* main = resources.find<cluster_v3::Cluster>(target.clusterName);
    auto* mainCla = resources.find<endpoint_v3::ClusterLoadAssignment>(target.clusterName);
    if (main == nullptr || mainCla == nullptr) {
      continue;
    }
    xds::OutboundResources res;
    res.clusters.push_back(std::make_unique<cluster_v3::Cluster>(*main));
    res.endpoints.push_back(std::make_unique<endpoint_v3::ClusterLoadAssignment>(*mainCla));
    if (absl::Status s = meshhttproute::provideBackendClusters(target, split, res); !s.ok()) {
      return s;
    }
    for (auto& c : res.clusters) {
      if (c->name() != target.clusterName) {
        resources.add(std::move(*c));
      }
    }
    for (auto& e : res.endpoints) {
      if (e->cluster_name() != target.clusterName) {
        resources.add(std::move(*e));
      }
    }
    for (const std::string& other : res.services) {
      resources.dependOn(other);
    }

    // The listener: one chain with a tcp_proxy. The later plugins do not configure it: for Kuma
    // the listener is still an HTTP destination's, and they look for its HTTP connection manager.
    tcp_v3::TcpProxy tcp;
    tcp.set_stat_prefix(xds::sanitizeMetric(service));
    l->clear_filter_chains();
    auto* chain = l->add_filter_chains();
    if (!split.empty()) {  // else Kuma's listener has a chain without filters
      setSplit(tcp, split);
      auto* filter = chain->add_filters();
      filter->set_name(kTcpProxyName);
      *filter->mutable_typed_config() = xds::packAny(tcp);
    }
  }
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshtcproute
