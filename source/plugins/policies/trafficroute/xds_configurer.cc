#include "source/plugins/policies/trafficroute/xds_configurer.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/base.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/destination.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/envoy/resource_set.h"

namespace kuma::policies::trafficroute {
namespace {

namespace cluster_v3 = envoy::config::cluster::v3;
namespace core_v3 = envoy::config::core::v3;
namespace endpoint_v3 = envoy::config::endpoint::v3;
namespace listener_v3 = envoy::config::listener::v3;
namespace route_v3 = envoy::config::route::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;
using mesh::v1alpha1::Timeout;
using mesh::v1alpha1::TrafficRoute;
using StringMatcher = TrafficRoute::Http::Match::StringMatcher;

constexpr char kServiceTag[] = "kuma.io/service";
constexpr char kMeshTag[] = "kuma.io/mesh";
constexpr char kMatchAll[] = "*";
constexpr char kTagsHeader[] = "x-kuma-tags";
constexpr char kTagsMetadataKey[] = "io.kuma.tags";
constexpr char kLbMetadataKey[] = "envoy.lb";

// handleWildcardTagsFor: the route's tags without `*` values, completed by the outbound's tags.
Tags resolveWildcards(const Tags& outboundTags,
                      const google::protobuf::Map<std::string, std::string>& routeTags) {
  Tags out;
  for (const auto& [k, v] : routeTags) {
    if (v != kMatchAll) {
      out[k] = v;
    }
  }
  for (const auto& [k, v] : outboundTags) {
    out.emplace(k, v);  // only where the route did not set it
  }
  return out;
}

// clustersFromSplit of determineRoutes: zero weights are skipped (Envoy has no weight 0).
std::vector<LegacyCluster> clustersOf(
    const google::protobuf::RepeatedPtrField<TrafficRoute::Split>& split,
    const google::protobuf::Map<std::string, std::string>& destination, const Tags& outboundTags) {
  std::vector<LegacyCluster> out;
  const auto add = [&](uint32_t weight,
                       const google::protobuf::Map<std::string, std::string>& tags) {
    if (weight == 0) {
      return;
    }
    LegacyCluster c;
    c.tags = resolveWildcards(outboundTags, tags);
    c.service = c.tags[kServiceTag];
    c.weight = weight;
    c.name = xds::destinationClusterName(c.tags);
    if (auto mesh = c.tags.find(kMeshTag); mesh != c.tags.end()) {
      c.name = absl::StrCat(c.name, "_", mesh->second);
      c.tags.erase(mesh);
    }
    out.push_back(std::move(c));
  };
  if (!destination.empty()) {  // GetSplitWithDestination: a destination is a split of weight 1
    add(1, destination);
  } else {
    for (const auto& s : split) {
      add(s.weight().value(), s.destination());
    }
  }
  return out;
}

// An unset Duration reads as 0s, as Kuma's `AsDuration()` of nil: the value is always set.
google::protobuf::Duration durationOr0(const google::protobuf::Duration& d) {
  return d;
}

// Kuma still sets HeaderMatcher's deprecated prefix_match and safe_regex_match fields.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
void setPrefixMatch(route_v3::HeaderMatcher& m, const std::string& prefix) {
  m.set_prefix_match(prefix);
}
void setSafeRegexMatch(route_v3::HeaderMatcher& m, const std::string& regex) {
  m.mutable_safe_regex_match()->set_regex(regex);
}
#pragma GCC diagnostic pop

route_v3::HeaderMatcher headerMatcher(const std::string& name, const StringMatcher& matcher) {
  route_v3::HeaderMatcher m;
  m.set_name(name);
  switch (matcher.matcher_type_case()) {
    case StringMatcher::kPrefix:
      setPrefixMatch(m, matcher.prefix());
      break;
    case StringMatcher::kExact:
      m.mutable_string_match()->set_exact(matcher.exact());
      break;
    case StringMatcher::kRegex:
      setSafeRegexMatch(m, matcher.regex());
      break;
    case StringMatcher::MATCHER_TYPE_NOT_SET:
      break;
  }
  return m;
}

void setRouteMatch(const TrafficRoute::Http::Match& match, route_v3::RouteMatch& out) {
  out.Clear();
  if (match.has_path()) {
    switch (match.path().matcher_type_case()) {
      case StringMatcher::kPrefix:
        out.set_prefix(match.path().prefix());
        break;
      case StringMatcher::kExact:
        out.set_path(match.path().exact());
        break;
      case StringMatcher::kRegex:
        out.mutable_safe_regex()->set_regex(match.path().regex());
        break;
      case StringMatcher::MATCHER_TYPE_NOT_SET:
        break;
    }
  } else {
    out.set_prefix("/");  // Envoy needs a path matcher even for header-only matches
  }
  std::vector<std::string> headers;
  for (const auto& [name, matcher] : match.headers()) {
    headers.push_back(name);
  }
  std::sort(headers.begin(), headers.end());
  for (const auto& name : headers) {
    *out.add_headers() = headerMatcher(name, match.headers().at(name));
  }
  if (match.has_method()) {
    *out.add_headers() = headerMatcher(":method", match.method());
  }
}

void addHeaders(const TrafficRoute::Http::Modify::Headers& headers,
                google::protobuf::RepeatedPtrField<core_v3::HeaderValueOption>& add,
                google::protobuf::RepeatedPtrField<std::string>& remove) {
  for (const auto& a : headers.add()) {
    auto* option = add.Add();
    option->mutable_header()->set_key(a.name());
    option->mutable_header()->set_value(a.value());
    option->set_append_action(a.append() ? core_v3::HeaderValueOption::APPEND_IF_EXISTS_OR_ADD
                                         : core_v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  }
  for (const auto& r : headers.remove()) {
    *remove.Add() = r.name();
  }
}

// The endpoints of `from` whose `envoy.lb` metadata carries every tag of `tags` but the service.
endpoint_v3::ClusterLoadAssignment subsetLoadAssignment(
    const endpoint_v3::ClusterLoadAssignment& from, const std::string& name, const Tags& tags) {
  endpoint_v3::ClusterLoadAssignment out = from;
  out.set_cluster_name(name);
  out.clear_endpoints();
  for (const auto& locality : from.endpoints()) {
    endpoint_v3::LocalityLbEndpoints kept = locality;
    kept.clear_lb_endpoints();
    for (const auto& lb : locality.lb_endpoints()) {
      const auto& md = lb.metadata().filter_metadata();
      auto it = md.find(kLbMetadataKey);
      bool match = true;
      for (const auto& [k, v] : tags) {
        if (k == kServiceTag) {
          continue;
        }
        if (it == md.end()) {
          match = false;
          break;
        }
        auto field = it->second.fields().find(k);
        match = match && field != it->second.fields().end() && field->second.string_value() == v;
      }
      if (match) {
        *kept.add_lb_endpoints() = lb;
      }
    }
    if (kept.lb_endpoints_size() > 0) {
      *out.add_endpoints() = std::move(kept);
    }
  }
  return out;
}

}  // namespace

// ---- selection ----

std::vector<Tags> inboundTagsOf(const model::Resource& dataplane) {
  std::vector<Tags> out;
  if (const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dataplane)) {
    for (const auto& inbound : spec->networking().inbound()) {
      out.push_back(toTags(inbound.tags()));
    }
  }
  return out;
}

bool dataplaneMatches(const Tags& selector, const std::vector<Tags>& inboundTags) {
  return std::any_of(inboundTags.begin(), inboundTags.end(),
                     [&](const Tags& t) { return selectorMatches(selector, t); }) ||
         selector.empty();
}

std::optional<LegacyInbound> legacyInbound(const xds::InboundTarget& target,
                                           std::string_view type) {
  if (target.proxy == nullptr || target.proxy->mesh == nullptr ||
      target.proxy->dataplane == nullptr) {
    return std::nullopt;
  }
  const auto& policies = target.proxy->mesh->legacyPolicies(type);
  const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*target.proxy->dataplane);
  if (policies.empty() || dp == nullptr || target.index < 0 ||
      target.index >= dp->networking().inbound_size()) {
    return std::nullopt;
  }
  return LegacyInbound{&policies, toTags(dp->networking().inbound(target.index).tags())};
}

bool legacyPath(const xds::ProxyContext* proxy) {
  return proxy != nullptr && proxy->mesh != nullptr && proxy->dataplane != nullptr &&
         proxy->mesh->usesLegacyRouting(*proxy->dataplane);
}

const model::Resource* selectTrafficRoute(const std::vector<model::ResourceConstSharedPtr>& routes,
                                          const std::vector<Tags>& inboundTags,
                                          const std::string& service) {
  return selectConnectionPolicy<TrafficRoute>(routes, inboundTags, service);
}

const model::Resource* selectTimeout(const std::vector<model::ResourceConstSharedPtr>& timeouts,
                                     const std::vector<Tags>& inboundTags,
                                     const std::string& service) {
  return selectConnectionPolicy<Timeout>(timeouts, inboundTags, service);
}

// ---- names ----

std::string tagsHeader(const std::vector<Tags>& inboundTags) {
  std::map<std::string, std::set<std::string>> set;
  for (const Tags& tags : inboundTags) {
    for (const auto& [k, v] : tags) {
      set[k].insert(v);
    }
  }
  std::string out;
  for (const auto& [k, values] : set) {
    absl::StrAppend(&out, "&", k, "=", absl::StrJoin(values, ","), "&");
  }
  return out;
}

// ---- routing ----

std::vector<LegacyCluster> OutboundRouting::clusters() const {
  std::vector<LegacyCluster> out;
  std::set<std::string> seen;
  for (const LegacyRoute& r : routes) {
    for (const LegacyCluster& c : r.clusters) {
      if (seen.insert(c.name).second) {
        out.push_back(c);
      }
    }
  }
  return out;
}

OutboundRouting outboundRouting(const xds::MeshContext& mesh, const model::Resource& dataplane,
                                const std::string& service) {
  OutboundRouting out;
  const std::vector<Tags> inboundTags = inboundTagsOf(dataplane);
  if (const model::Resource* t =
          selectConnectionPolicy<Timeout>(mesh.timeouts(), inboundTags, service)) {
    out.timeout = model::protoSpecOf<Timeout>(*t)->conf();
  }
  const model::Resource* tr =
      selectConnectionPolicy<TrafficRoute>(mesh.trafficRoutes(), inboundTags, service);
  if (tr == nullptr) {
    return out;
  }
  out.trafficRoute = tr;
  const TrafficRoute::Conf& conf = model::protoSpecOf<TrafficRoute>(*tr)->conf();
  out.loadBalancer = conf.load_balancer();
  const Tags outboundTags{{kServiceTag, service}};
  for (const auto& http : conf.http()) {
    auto clusters = clustersOf(http.split(), http.destination(), outboundTags);
    if (!clusters.empty()) {
      out.routes.push_back({&http, std::move(clusters)});
    }
  }
  auto clusters = clustersOf(conf.split(), conf.destination(), outboundTags);
  if (!clusters.empty()) {
    out.routes.push_back({nullptr, std::move(clusters)});
  }
  return out;
}

std::vector<LegacyOutbound> legacyOutbounds(xds::ResourceSet& resources) {
  std::vector<LegacyOutbound> out;
  for (const std::string& name :
       resources.names(xds::ResourceSet::typeUrlOf<listener_v3::Listener>())) {
    if (!absl::StartsWith(name, "outbound:") || absl::StartsWith(name, "outbound:passthrough:")) {
      continue;
    }
    const auto* listener = resources.find<listener_v3::Listener>(name);
    const auto& md = listener->metadata().filter_metadata();
    auto tags = md.find(kTagsMetadataKey);
    if (tags == md.end()) {
      continue;
    }
    LegacyOutbound o;
    o.listenerName = name;
    for (const auto& [k, v] : tags->second.fields()) {
      o.tags[k] = v.string_value();
    }
    auto service = o.tags.find(kServiceTag);
    if (service == o.tags.end()) {
      continue;
    }
    o.service = service->second;
    out.push_back(std::move(o));
  }
  return out;
}

std::vector<LegacyCluster> legacyClusters(const xds::ProxyContext& proxy,
                                          xds::ResourceSet& resources) {
  std::vector<LegacyCluster> out;
  std::set<std::string> seen;
  for (const LegacyOutbound& outbound : legacyOutbounds(resources)) {
    for (LegacyCluster& c :
         outboundRouting(*proxy.mesh, *proxy.dataplane, outbound.service).clusters()) {
      if (seen.insert(c.name).second) {
        out.push_back(std::move(c));
      }
    }
  }
  return out;
}

// ---- Envoy ----

void configureRoute(const LegacyRoute& route, const Timeout::Conf& timeout, route_v3::Route& out) {
  out.clear_name();
  if (route.http != nullptr) {
    setRouteMatch(route.http->match(), *out.mutable_match());
  }
  auto* action = out.mutable_route();
  action->clear_cluster_specifier();
  action->clear_host_rewrite_specifier();
  action->clear_prefix_rewrite();
  action->clear_regex_rewrite();
  *action->mutable_timeout() = durationOr0(timeout.http().request_timeout());
  if (route.clusters.size() == 1) {
    action->set_cluster(route.clusters.front().name);
  } else {
    auto* weighted = action->mutable_weighted_clusters();
    for (const LegacyCluster& c : route.clusters) {
      auto* cw = weighted->add_clusters();
      cw->set_name(c.name);
      cw->mutable_weight()->set_value(c.weight);
    }
  }
  out.clear_request_headers_to_add();
  out.clear_request_headers_to_remove();
  out.clear_response_headers_to_add();
  out.clear_response_headers_to_remove();
  if (route.http == nullptr || !route.http->has_modify()) {
    return;
  }
  const auto& modify = route.http->modify();
  if (modify.has_path()) {
    if (modify.path().has_rewrite_prefix()) {
      action->set_prefix_rewrite(modify.path().rewrite_prefix());
    } else if (modify.path().has_regex()) {
      auto* rewrite = action->mutable_regex_rewrite();
      rewrite->mutable_pattern()->set_regex(modify.path().regex().pattern());
      rewrite->set_substitution(modify.path().regex().substitution());
    }
  }
  if (modify.has_host()) {
    if (modify.host().has_value()) {
      action->set_host_rewrite_literal(modify.host().value());
    } else if (modify.host().has_from_path()) {
      auto* rewrite = action->mutable_host_rewrite_path_regex();
      rewrite->mutable_pattern()->set_regex(modify.host().from_path().pattern());
      rewrite->set_substitution(modify.host().from_path().substitution());
    }
  }
  addHeaders(modify.request_headers(), *out.mutable_request_headers_to_add(),
             *out.mutable_request_headers_to_remove());
  addHeaders(modify.response_headers(), *out.mutable_response_headers_to_add(),
             *out.mutable_response_headers_to_remove());
}

absl::Status setLoadBalancer(const TrafficRoute::LoadBalancer& lb, cluster_v3::Cluster& c) {
  switch (lb.lb_type_case()) {
    case TrafficRoute::LoadBalancer::LB_TYPE_NOT_SET:
    case TrafficRoute::LoadBalancer::kRoundRobin:
      c.set_lb_policy(cluster_v3::Cluster::ROUND_ROBIN);
      break;
    case TrafficRoute::LoadBalancer::kLeastRequest: {
      c.set_lb_policy(cluster_v3::Cluster::LEAST_REQUEST);
      const uint32_t choices = lb.least_request().choice_count();
      c.mutable_least_request_lb_config()->mutable_choice_count()->set_value(
          choices == 0 ? 2 : choices);
      break;
    }
    case TrafficRoute::LoadBalancer::kRingHash: {
      cluster_v3::Cluster::RingHashLbConfig::HashFunction fn;
      if (!cluster_v3::Cluster::RingHashLbConfig::HashFunction_Parse(lb.ring_hash().hash_function(),
                                                                     &fn)) {
        return absl::InvalidArgumentError(
            absl::StrCat("Invalid ring hash function ", lb.ring_hash().hash_function()));
      }
      c.set_lb_policy(cluster_v3::Cluster::RING_HASH);
      auto* config = c.mutable_ring_hash_lb_config();
      config->set_hash_function(fn);
      config->mutable_minimum_ring_size()->set_value(lb.ring_hash().min_ring_size());
      config->mutable_maximum_ring_size()->set_value(lb.ring_hash().max_ring_size());
      break;
    }
    case TrafficRoute::LoadBalancer::kRandom:
      c.set_lb_policy(cluster_v3::Cluster::RANDOM);
      break;
    case TrafficRoute::LoadBalancer::kMaglev:
      c.set_lb_policy(cluster_v3::Cluster::MAGLEV);
      break;
  }
  return absl::OkStatus();
}

// ---- the plugin ----

std::string_view XdsConfigurer::policyType() const {
  return "TrafficRoute";
}

namespace {
// The legacy routing of an outbound, when its proxy takes the legacy path.
std::optional<OutboundRouting> legacyRouting(const xds::OutboundTarget& target) {
  if (!legacyPath(target.proxy)) {
    return std::nullopt;
  }
  return outboundRouting(*target.proxy->mesh, *target.proxy->dataplane, target.service);
}
}  // namespace

int XdsConfigurer::order() const {
  return 0;
}

absl::Status XdsConfigurer::configureOutboundRoute(const nlohmann::json&,
                                                   const xds::OutboundTarget& target,
                                                   route_v3::Route& route) const {
  const std::optional<OutboundRouting> legacy = legacyRouting(target);
  if (!legacy.has_value()) {
    return absl::OkStatus();
  }
  const OutboundRouting& r = *legacy;
  if (!r.routes.empty()) {
    // The generator's catch-all route becomes the last legacy route (the default one); the
    // HCM hook adds the others in front of it.
    configureRoute(r.routes.back(), r.timeout, route);
  }
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureOutboundHcm(const nlohmann::json&,
                                                 const xds::OutboundTarget& target,
                                                 hcm_v3::HttpConnectionManager& hcm) const {
  const std::optional<OutboundRouting> legacy = legacyRouting(target);
  if (!legacy.has_value()) {
    return absl::OkStatus();
  }
  const OutboundRouting& r = *legacy;
  if (r.routes.empty()) {
    return absl::OkStatus();  // apply() empties the listener
  }
  // Kuma's legacy HTTP connection manager: no path normalization; the Timeout policy's idle
  // timeouts (0s, disabled, without one; gRPC falls back to the grpc section).
  hcm.clear_normalize_path();
  const Timeout::Conf& t = r.timeout;
  *hcm.mutable_common_http_protocol_options()->mutable_idle_timeout() =
      durationOr0(t.http().idle_timeout());
  if (target.protocol == xds::Protocol::Grpc && !t.http().has_stream_idle_timeout()) {
    *hcm.mutable_stream_idle_timeout() = durationOr0(t.grpc().stream_idle_timeout());
  } else {
    *hcm.mutable_stream_idle_timeout() = durationOr0(t.http().stream_idle_timeout());
  }
  auto* rc = hcm.mutable_route_config();
  // The source's tags for the destination (Kuma's TagsHeader); gRPC outbounds send them only
  // when the mesh uses them (never here: no MeshHTTPRoute on this path).
  const std::string tags = tagsHeader(inboundTagsOf(*target.proxy->dataplane));
  if (!tags.empty() && target.protocol != xds::Protocol::Grpc) {
    auto* header = rc->add_request_headers_to_add()->mutable_header();
    header->set_key(kTagsHeader);
    header->set_value(tags);
  }
  if (rc->virtual_hosts_size() == 0 || rc->virtual_hosts(0).routes_size() == 0) {
    return absl::OkStatus();
  }
  // The http[] routes, in order, in front of the (configured) catch-all: copies of it, so that
  // what the other plugins' route hooks set (retries …) holds for every route.
  auto* routes = rc->mutable_virtual_hosts(0)->mutable_routes();
  const route_v3::Route last = routes->Get(routes->size() - 1);
  routes->RemoveLast();
  for (size_t i = 0; i + 1 < r.routes.size(); ++i) {
    route_v3::Route copy = last;
    configureRoute(r.routes[i], t, copy);
    *routes->Add() = std::move(copy);
  }
  *routes->Add() = last;
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureOutboundTcpProxy(const nlohmann::json&,
                                                      const xds::OutboundTarget& target,
                                                      tcp_v3::TcpProxy& proxy) const {
  const std::optional<OutboundRouting> legacy = legacyRouting(target);
  if (!legacy.has_value()) {
    return absl::OkStatus();
  }
  const OutboundRouting& r = *legacy;
  if (r.routes.empty()) {
    return absl::OkStatus();  // apply() empties the listener
  }
  // TcpProxyDeprecated: every cluster of every route (as listed, not deduplicated).
  std::vector<const LegacyCluster*> clusters;
  for (const LegacyRoute& route : r.routes) {
    for (const LegacyCluster& c : route.clusters) {
      clusters.push_back(&c);
    }
  }
  proxy.clear_cluster_specifier();
  if (clusters.size() == 1) {
    proxy.set_cluster(clusters.front()->name);
  } else {
    auto* weighted = proxy.mutable_weighted_clusters();
    for (const LegacyCluster* c : clusters) {
      auto* cw = weighted->add_clusters();
      cw->set_name(c->name);
      cw->set_weight(c->weight);
    }
  }
  *proxy.mutable_idle_timeout() = durationOr0(r.timeout.tcp().idle_timeout());
  return absl::OkStatus();
}

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const nlohmann::json*>&,
                                  xds::ResourceSet& resources) const {
  if (!legacyPath(&proxy)) {
    return absl::OkStatus();
  }
  const std::string clusterType = xds::ResourceSet::typeUrlOf<cluster_v3::Cluster>();
  const std::string endpointType =
      xds::ResourceSet::typeUrlOf<endpoint_v3::ClusterLoadAssignment>();
  struct Wanted {
    LegacyCluster cluster;
    std::string outboundMain;  // the main cluster of the outbound that routes to it
    TrafficRoute::LoadBalancer lb;
  };
  std::map<std::string, Wanted> wanted;  // by cluster name; the first outbound wins
  std::set<std::string> mains;           // the generator's clusters of the legacy outbounds
  for (const LegacyOutbound& outbound : legacyOutbounds(resources)) {
    const std::string main = xds::destinationClusterName(outbound.tags);
    mains.insert(main);
    const OutboundRouting r = outboundRouting(*proxy.mesh, *proxy.dataplane, outbound.service);
    if (r.routes.empty()) {
      // No TrafficRoute for this outbound: Kuma routes nothing (a chain without filters).
      auto* listener = resources.find<listener_v3::Listener>(outbound.listenerName);
      for (auto& chain : *listener->mutable_filter_chains()) {
        chain.clear_filters();
      }
      continue;
    }
    for (const LegacyCluster& c : r.clusters()) {
      wanted.emplace(c.name, Wanted{c, main, r.loadBalancer});
    }
  }
  for (const auto& [name, w] : wanted) {
    if (!resources.contains(clusterType, name)) {
      // A copy of the destination service's main cluster (or the outbound's), so that every
      // plugin's cluster settings hold for the subset too, and its endpoints with the tags.
      const std::string serviceMain =
          xds::destinationClusterName({{kServiceTag, w.cluster.service}});
      const std::string from =
          resources.contains(clusterType, serviceMain) ? serviceMain : w.outboundMain;
      const auto* main = resources.find<cluster_v3::Cluster>(from);
      if (main == nullptr) {
        continue;
      }
      cluster_v3::Cluster subset = *main;
      subset.set_name(name);
      if (absl::Status s = xds::retargetUpstreamMtls(subset, proxy.mesh->meshName(),
                                                     w.cluster.service, w.cluster.tags);
          !s.ok()) {
        return s;
      }
      resources.add(std::move(subset));
      endpoint_v3::ClusterLoadAssignment cla;
      if (const auto* mainCla = resources.find<endpoint_v3::ClusterLoadAssignment>(from)) {
        cla = subsetLoadAssignment(*mainCla, name, w.cluster.tags);
      } else {
        cla.set_cluster_name(name);
      }
      resources.add(std::move(cla));
    }
    // Round robin is Envoy's default. A MeshLoadBalancingStrategy runs after Kuma's legacy
    // generator and wins: a cluster it configured keeps its LB.
    const auto type = w.lb.lb_type_case();
    if (type == TrafficRoute::LoadBalancer::LB_TYPE_NOT_SET ||
        type == TrafficRoute::LoadBalancer::kRoundRobin) {
      continue;
    }
    auto* c = resources.find<cluster_v3::Cluster>(name);
    if (c->lb_policy() == cluster_v3::Cluster::ROUND_ROBIN &&
        c->lb_config_case() == cluster_v3::Cluster::LB_CONFIG_NOT_SET) {
      if (absl::Status s = setLoadBalancer(w.lb, *c); !s.ok()) {
        return s;
      }
    }
  }
  for (const std::string& main : mains) {
    if (!wanted.contains(main)) {
      resources.remove(clusterType, main);
      resources.remove(endpointType, main);
    }
  }
  return absl::OkStatus();
}

std::vector<InspectedInterface> inspectedInbounds(const model::Resource& dataplane) {
  std::vector<InspectedInterface> out;
  const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dataplane);
  if (dp == nullptr) {
    return out;
  }
  for (const auto& inbound : dp->networking().inbound()) {
    const std::string& ip =
        inbound.address().empty() ? dp->networking().address() : inbound.address();
    const uint32_t workloadPort =
        inbound.service_port() != 0 ? inbound.service_port() : inbound.port();
    auto service = inbound.tags().find(kServiceTag);
    out.push_back({absl::StrCat(ip, ":", inbound.port(), ":", workloadPort),
                   service == inbound.tags().end() ? "" : service->second, toTags(inbound.tags())});
  }
  return out;
}

std::vector<InspectedInterface> inspectedOutbounds(const model::Resource& dataplane) {
  std::vector<InspectedInterface> out;
  const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dataplane);
  if (dp == nullptr) {
    return out;
  }
  for (const auto& outbound : dp->networking().outbound()) {
    if (outbound.has_backend_ref()) {
      continue;
    }
    const std::string ip = outbound.address().empty() ? "127.0.0.1" : outbound.address();
    // Go's net.JoinHostPort: an IPv6 address in brackets.
    const std::string host = ip.find(':') != std::string::npos ? absl::StrCat("[", ip, "]") : ip;
    auto service = outbound.tags().find(kServiceTag);
    out.push_back({absl::StrCat(host, ":", outbound.port()),
                   service == outbound.tags().end() ? "" : service->second, Tags{}});
  }
  return out;
}

std::vector<std::string> inspectedDestinations(const xds::MeshContext& mesh,
                                               const model::Resource& dataplane) {
  std::set<std::string> services;
  const std::vector<Tags> inboundTags = inboundTagsOf(dataplane);
  for (const InspectedInterface& outbound : inspectedOutbounds(dataplane)) {
    const model::Resource* route =
        selectConnectionPolicy<TrafficRoute>(mesh.trafficRoutes(), inboundTags, outbound.service);
    if (route == nullptr) {
      services.insert(outbound.service);
      continue;
    }
    // Kuma's GetSplitWithDestination: the destination alone, else the split.
    const TrafficRoute::Conf& conf = model::protoSpecOf<TrafficRoute>(*route)->conf();
    std::vector<const google::protobuf::Map<std::string, std::string>*> destinations;
    if (!conf.destination().empty()) {
      destinations.push_back(&conf.destination());
    } else {
      for (const auto& split : conf.split()) {
        destinations.push_back(&split.destination());
      }
    }
    for (const auto* destination : destinations) {
      if (auto it = destination->find(kServiceTag); it != destination->end()) {
        services.insert(it->second);  // destinations without a service are ignored, as Kuma
      }
    }
  }
  return {services.begin(), services.end()};
}

void XdsConfigurer::attachments(const xds::ProxyContext& proxy,
                                std::vector<xds::PolicyAttachment>& out) const {
  attachPerOutbound<TrafficRoute>(proxy.mesh->trafficRoutes(), *proxy.dataplane, out);
  attachPerOutbound<Timeout>(proxy.mesh->timeouts(), *proxy.dataplane, out);
}

}  // namespace kuma::policies::trafficroute
