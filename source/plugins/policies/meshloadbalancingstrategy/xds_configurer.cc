#include "source/plugins/policies/meshloadbalancingstrategy/xds_configurer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "google/protobuf/util/time_util.h"
#include "source/core/model/proto_spec.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/rules.h"
#include "source/xds/envoy/resource_set.h"
#include "source/xds/generator/generator.h"

namespace kuma::policies::meshloadbalancingstrategy {
namespace {

using nlohmann::json;
namespace cluster_v3 = envoy::config::cluster::v3;
namespace endpoint_v3 = envoy::config::endpoint::v3;
namespace route_v3 = envoy::config::route::v3;

// Kuma's overprovisioning factor when locality groups are configured without a threshold.
constexpr uint32_t kDefaultOverprovisioningFactor = 200;

std::string stringMember(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  return v != nullptr && v->is_string() ? v->get<std::string>() : std::string();
}

std::optional<uint64_t> uintMember(const json& obj, std::string_view key) {
  const json* v = member(obj, key);
  if (v == nullptr || !v->is_number_integer() || v->get<int64_t>() < 0) {
    return std::nullopt;
  }
  return v->get<uint64_t>();
}

// loadBalancer → the cluster's lb_policy and its per-policy config (Kuma's
// loadBalancerConfigurer: only the fields that are set).
void configureLoadBalancer(const json& lb, cluster_v3::Cluster& cluster) {
  const std::string type = stringMember(lb, "type");
  if (type == "RoundRobin") {
    cluster.set_lb_policy(cluster_v3::Cluster::ROUND_ROBIN);
  } else if (type == "LeastRequest") {
    cluster.set_lb_policy(cluster_v3::Cluster::LEAST_REQUEST);
    if (const json* lr = member(lb, "leastRequest")) {
      auto* config = cluster.mutable_least_request_lb_config();
      if (auto bias = member(*lr, "activeRequestBias")) {
        if (std::optional<double> value = decimalOf(*bias)) {
          config->mutable_active_request_bias()->set_default_value(*value);
        }
      }
      if (auto count = uintMember(*lr, "choiceCount")) {
        config->mutable_choice_count()->set_value(static_cast<uint32_t>(*count));
      }
    }
  } else if (type == "Random") {
    cluster.set_lb_policy(cluster_v3::Cluster::RANDOM);
  } else if (type == "RingHash") {
    cluster.set_lb_policy(cluster_v3::Cluster::RING_HASH);
    if (const json* rh = member(lb, "ringHash")) {
      auto* config = cluster.mutable_ring_hash_lb_config();
      if (auto min = uintMember(*rh, "minRingSize")) {
        config->mutable_minimum_ring_size()->set_value(*min);
      }
      if (auto max = uintMember(*rh, "maxRingSize")) {
        config->mutable_maximum_ring_size()->set_value(*max);
      }
      if (member(*rh, "hashFunction") != nullptr) {
        config->set_hash_function(stringMember(*rh, "hashFunction") == "MurmurHash2"
                                      ? cluster_v3::Cluster::RingHashLbConfig::MURMUR_HASH_2
                                      : cluster_v3::Cluster::RingHashLbConfig::XX_HASH);
      }
    }
  } else if (type == "Maglev") {
    cluster.set_lb_policy(cluster_v3::Cluster::MAGLEV);
    if (const json* m = member(lb, "maglev")) {
      auto* config = cluster.mutable_maglev_lb_config();
      if (auto size = uintMember(*m, "tableSize")) {
        config->mutable_table_size()->set_value(*size);
      }
    }
  }
}

const json* affinityTagsOf(const json& conf);

bool hasAffinityTags(const json& conf) {
  const json* tags = affinityTagsOf(conf);
  return tags != nullptr && !tags->empty();
}

void configureCluster(const json& conf, cluster_v3::Cluster& cluster) {
  if (hasAffinityTags(conf)) {
    cluster.mutable_common_lb_config()->mutable_locality_weighted_lb_config();
  }
  if (const json* lb = member(conf, "loadBalancer")) {
    configureLoadBalancer(*lb, cluster);
  }
}

// Kuma's overprovisioningFactor: 100 / threshold% × 100, or the default.
uint32_t overprovisioningFactor(const json& conf) {
  const json* la = member(conf, "localityAwareness");
  const json* cross = la != nullptr ? member(*la, "crossZone") : nullptr;
  const json* threshold = cross != nullptr ? member(*cross, "failoverThreshold") : nullptr;
  const json* percentage = threshold != nullptr ? member(*threshold, "percentage") : nullptr;
  std::optional<double> value = percentage != nullptr ? decimalOf(*percentage) : std::nullopt;
  if (!value.has_value() || *value == 0) {
    return kDefaultOverprovisioningFactor;
  }
  return static_cast<uint32_t>(100 / *value) * 100;
}

const json* affinityTagsOf(const json& conf) {
  const json* la = member(conf, "localityAwareness");
  const json* local = la != nullptr ? member(*la, "localZone") : nullptr;
  const json* tags = local != nullptr ? member(*local, "affinityTags") : nullptr;
  return tags != nullptr && tags->is_array() ? tags : nullptr;
}

}  // namespace

std::vector<LocalGroup> localGroups(const json& conf, const AffinitySource& proxy) {
  std::vector<LocalGroup> groups;
  const json* tags = affinityTagsOf(conf);
  if (tags == nullptr) {
    return groups;
  }
  const size_t n = tags->size();
  for (size_t i = 0; i < n; ++i) {
    const json& tag = (*tags)[i];
    const std::string key = stringMember(tag, "key");
    // Without a weight: 9 × 10^(n − i − 1), so the first group gets 90 % of the traffic.
    uint32_t weight = static_cast<uint32_t>(9 * std::pow(10.0, static_cast<double>(n - i - 1)));
    if (auto w = uintMember(tag, "weight")) {
      weight = static_cast<uint32_t>(*w);
    }
    // The proxy's inbound tag values first (the smallest of several), else its labels.
    std::string value;
    bool found = false;
    if (auto it = proxy.tags.find(key); it != proxy.tags.end() && !it->second.empty()) {
      value = *it->second.begin();
      found = true;
    } else if (auto l = proxy.labels.find(key); l != proxy.labels.end()) {
      value = l->second;
      found = true;
    }
    if (found) {
      groups.push_back({key, value, weight});
    }
  }
  return groups;
}

namespace {

struct CrossZoneGroup {
  std::string type;  // Any, AnyExcept, Only (anything else matches nothing)
  std::set<std::string> zones;
  uint32_t priority = 0;
};

// Kuma's getCrossZoneLbGroups: one group per failover rule that applies from the local zone,
// priority = the rule's position + 1 (rules that do not apply still count).
std::vector<CrossZoneGroup> crossZoneGroups(const json& conf, std::string_view localZone) {
  std::vector<CrossZoneGroup> groups;
  const json* la = member(conf, "localityAwareness");
  const json* cross = la != nullptr ? member(*la, "crossZone") : nullptr;
  const json* failover = cross != nullptr ? member(*cross, "failover") : nullptr;
  if (failover == nullptr || !failover->is_array()) {
    return groups;
  }
  for (size_t i = 0; i < failover->size(); ++i) {
    const json& rule = (*failover)[i];
    if (const json* from = member(rule, "from")) {
      const json* zones = member(*from, "zones");
      bool applies = false;
      if (zones != nullptr && zones->is_array()) {
        for (const json& z : *zones) {
          applies = applies || (z.is_string() && z.get<std::string>() == localZone);
        }
      }
      if (!applies) {
        continue;
      }
    }
    CrossZoneGroup group;
    const json* to = member(rule, "to");
    const std::string type = to != nullptr ? stringMember(*to, "type") : std::string();
    if (type == "Any" || type == "AnyExcept" || type == "Only") {
      group.type = type;
      group.priority = static_cast<uint32_t>(i + 1);
      if (type != "Any") {
        const json* zones = member(*to, "zones");
        if (zones != nullptr && zones->is_array()) {
          for (const json& z : *zones) {
            if (z.is_string()) {
              group.zones.insert(z.get<std::string>());
            }
          }
        }
      }
    } else {
      group.type = "None";
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

std::map<std::string, std::string> stringFields(const envoy::config::core::v3::Metadata& metadata,
                                                const std::string& key) {
  std::map<std::string, std::string> out;
  auto it = metadata.filter_metadata().find(key);
  if (it != metadata.filter_metadata().end()) {
    for (const auto& [k, v] : it->second.fields()) {
      out[k] = v.string_value();
    }
  }
  return out;
}

void setFields(envoy::config::core::v3::Metadata& metadata, const std::string& key,
               const std::map<std::string, std::string>& fields) {
  auto& out = *(*metadata.mutable_filter_metadata())[key].mutable_fields();
  for (const auto& [k, v] : fields) {
    out[k].set_string_value(v);
  }
}

struct Regrouped {
  std::string zone;
  std::string subZone;
  uint32_t priority = 0;
  uint32_t weight = 0;
  endpoint_v3::LbEndpoint endpoint;
};

}  // namespace

// Kuma's NewEndpoints + ToLocalityLbEndpoints (locality_aware.go, endpoints.go): every endpoint is
// rebuilt from its address, weight, `envoy.lb` tags and `io.kuma.labels`, placed in the locality
// of its zone (the local zone split by affinity group, other zones by the failover rules; those
// no rule takes are dropped), then grouped by (zone, sub-zone, priority) and sorted.
void regroupEndpoints(const json& conf, const std::vector<LocalGroup>& local,
                      std::string_view localZone, endpoint_v3::ClusterLoadAssignment& cla) {
  const std::vector<CrossZoneGroup> cross = crossZoneGroups(conf, localZone);
  std::set<std::string> affinityKeys;
  if (const json* tags = affinityTagsOf(conf)) {
    for (const json& tag : *tags) {
      affinityKeys.insert(stringMember(tag, "key"));
    }
  }
  std::vector<Regrouped> endpoints;
  for (const auto& locality : cla.endpoints()) {
    for (const auto& lb : locality.lb_endpoints()) {
      Regrouped ep;
      std::map<std::string, std::string> tags = stringFields(lb.metadata(), "envoy.lb");
      const std::map<std::string, std::string> allLabels =
          stringFields(lb.metadata(), "io.kuma.labels");
      ep.zone = std::string(localZone);
      ep.weight = 1;
      const auto zoneTag = tags.find("kuma.io/zone");
      const std::string zoneName = zoneTag != tags.end() ? zoneTag->second : std::string();
      if (zoneName == localZone) {
        for (const LocalGroup& g : local) {
          auto t = tags.find(g.key);
          auto l = allLabels.find(g.key);
          const std::string* value = t != tags.end()        ? &t->second
                                     : l != allLabels.end() ? &l->second
                                                            : nullptr;
          if (value != nullptr && *value == g.value) {
            ep.subZone = g.key + "=" + *value;
            ep.weight = g.weight;
            break;
          }
        }
      } else {
        bool taken = false;
        for (const CrossZoneGroup& g : cross) {
          if (g.type == "Any" || (g.type == "AnyExcept" && !g.zones.contains(zoneName)) ||
              (g.type == "Only" && g.zones.contains(zoneName))) {
            ep.zone = zoneName;
            ep.priority = g.priority;
            ep.weight = 0;
            taken = true;
            break;
          }
        }
        if (!taken) {
          continue;
        }
      }
      *ep.endpoint.mutable_endpoint()->mutable_address() = lb.endpoint().address();
      if (lb.has_load_balancing_weight() && lb.load_balancing_weight().value() > 0) {
        ep.endpoint.mutable_load_balancing_weight()->set_value(lb.load_balancing_weight().value());
      }
      tags.erase("kuma.io/service");
      if (!tags.empty()) {
        setFields(*ep.endpoint.mutable_metadata(), "envoy.lb", tags);
        setFields(*ep.endpoint.mutable_metadata(), "envoy.transport_socket_match", tags);
      }
      std::map<std::string, std::string> labels;
      for (const auto& [k, v] : allLabels) {
        if (affinityKeys.contains(k)) {
          labels[k] = v;
        }
      }
      if (!labels.empty()) {
        setFields(*ep.endpoint.mutable_metadata(), "io.kuma.labels", labels);
      }
      endpoints.push_back(std::move(ep));
    }
  }
  // Group by locality (the first endpoint of a locality gives its weight).
  std::vector<endpoint_v3::LocalityLbEndpoints> groups;
  std::map<std::string, size_t> index;
  for (Regrouped& ep : endpoints) {
    const std::string key = ep.zone + ":" + ep.subZone + ":" + std::to_string(ep.priority);
    auto [it, inserted] = index.emplace(key, groups.size());
    if (inserted) {
      endpoint_v3::LocalityLbEndpoints& g = groups.emplace_back();
      auto* l = g.mutable_locality();
      l->set_zone(ep.zone);
      l->set_sub_zone(ep.subZone);
      g.set_priority(ep.priority);
      if (ep.weight > 0) {
        g.mutable_load_balancing_weight()->set_value(ep.weight);
      }
    }
    *groups[it->second].add_lb_endpoints() = std::move(ep.endpoint);
  }
  const auto addressOf = [](const endpoint_v3::LbEndpoint& e) {
    return e.endpoint().address().socket_address();
  };
  for (auto& g : groups) {
    auto* lbs = g.mutable_lb_endpoints();
    std::stable_sort(lbs->begin(), lbs->end(), [&](const auto& a, const auto& b) {
      const auto& l = addressOf(a);
      const auto& r = addressOf(b);
      return l.address() != r.address() ? l.address() < r.address()
                                        : l.port_value() < r.port_value();
    });
  }
  std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    const std::string l = a.locality().region() + a.locality().zone() + a.locality().sub_zone();
    const std::string r = b.locality().region() + b.locality().zone() + b.locality().sub_zone();
    if (!l.empty() || !r.empty()) {
      return l < r;
    }
    return a.lb_endpoints_size() < b.lb_endpoints_size();
  });
  cla.clear_endpoints();
  for (auto& g : groups) {
    *cla.add_endpoints() = std::move(g);
  }
}

namespace {

bool hasLocalityGroups(const json& conf) {
  const json* la = member(conf, "localityAwareness");
  return la != nullptr &&
         (member(*la, "localZone") != nullptr || member(*la, "crossZone") != nullptr);
}

// Kuma's claConfigurer: non-local priorities, then (with locality groups) the endpoints regrouped
// and the overprovisioning factor. `local`: the proxy's affinity groups (none in the shared hook).
void configureEndpoints(const json& conf, std::string_view localZone,
                        const std::vector<LocalGroup>& local,
                        endpoint_v3::ClusterLoadAssignment& cla) {
  const json* la = member(conf, "localityAwareness");
  const json* disabled = la != nullptr ? member(*la, "disabled") : nullptr;
  const bool localityAware =
      disabled == nullptr || !disabled->is_boolean() || !disabled->get<bool>();
  for (auto& locality : *cla.mutable_endpoints()) {
    if (locality.has_locality() && locality.locality().zone() != localZone) {
      locality.set_priority(localityAware ? 1 : 0);
    }
  }
  if (hasLocalityGroups(conf)) {
    regroupEndpoints(conf, local, localZone, cla);
    cla.mutable_policy()->mutable_overprovisioning_factor()->set_value(
        overprovisioningFactor(conf));
  }
}

// The hash policies of a conf: top-level `hashPolicies`, else those of the ring hash or maglev
// load balancer (Kuma's getHashPolicies); null when none.
const json* hashPoliciesOf(const json& conf) {
  if (const json* top = member(conf, "hashPolicies")) {
    return top;
  }
  const json* lb = member(conf, "loadBalancer");
  if (lb == nullptr) {
    return nullptr;
  }
  const std::string type = stringMember(*lb, "type");
  const json* sub = type == "RingHash" ? member(*lb, "ringHash")
                    : type == "Maglev" ? member(*lb, "maglev")
                                       : nullptr;
  return sub != nullptr ? member(*sub, "hashPolicies") : nullptr;
}

// One MeshLoadBalancingStrategy hash policy as Envoy's; nullopt for a type Envoy has no
// specifier for (Kuma renders those without one, which Envoy rejects: SourceIP).
std::optional<route_v3::RouteAction::HashPolicy> hashPolicy(const json& policy) {
  route_v3::RouteAction::HashPolicy out;
  if (const json* terminal = member(policy, "terminal");
      terminal != nullptr && terminal->is_boolean()) {
    out.set_terminal(terminal->get<bool>());
  }
  const std::string type = stringMember(policy, "type");
  if (type == "Header") {
    const json* header = member(policy, "header");
    if (header == nullptr) {
      return std::nullopt;
    }
    out.mutable_header()->set_header_name(stringMember(*header, "name"));
  } else if (type == "Cookie") {
    const json* cookie = member(policy, "cookie");
    if (cookie == nullptr) {
      return std::nullopt;
    }
    auto* c = out.mutable_cookie();
    c->set_name(stringMember(*cookie, "name"));
    c->set_path(stringMember(*cookie, "path"));
    if (auto ttl = durationMember(*cookie, "ttl")) {
      *c->mutable_ttl() = google::protobuf::util::TimeUtil::NanosecondsToDuration(ttl->count());
    }
  } else if (type == "Connection") {
    const json* connection = member(policy, "connection");
    if (connection == nullptr) {
      return std::nullopt;
    }
    const json* sourceIp = member(*connection, "sourceIP");
    out.mutable_connection_properties()->set_source_ip(
        sourceIp != nullptr && sourceIp->is_boolean() && sourceIp->get<bool>());
  } else if (type == "QueryParameter") {
    const json* query = member(policy, "queryParameter");
    if (query == nullptr) {
      return std::nullopt;
    }
    out.mutable_query_parameter()->set_name(stringMember(*query, "name"));
  } else if (type == "FilterState") {
    const json* state = member(policy, "filterState");
    if (state == nullptr) {
      return std::nullopt;
    }
    out.mutable_filter_state()->set_key(stringMember(*state, "key"));
  } else {
    return std::nullopt;
  }
  return out;
}

}  // namespace

std::string_view XdsConfigurer::policyType() const {
  return "MeshLoadBalancingStrategy";
}

int XdsConfigurer::order() const {
  return 400;  // Kuma's MeshLoadBalancingStrategy order
}

std::string XdsConfigurer::signatureOf(const xds::ProxyContext& proxy) const {
  return proxy.options != nullptr ? "zone=" + proxy.options->zone : std::string();
}

absl::Status XdsConfigurer::configureOutboundResources(const json& conf,
                                                       const xds::OutboundTarget& target,
                                                       xds::OutboundResources& resources) const {
  if (!conf.is_object()) {
    return absl::OkStatus();  // no policy covers this destination
  }
  for (auto& cluster : resources.clusters) {
    configureCluster(conf, *cluster);
  }
  for (auto& cla : resources.endpoints) {
    configureEndpoints(conf, target.localZone, {}, *cla);
  }
  return absl::OkStatus();
}

namespace {

bool specHasAffinityTags(const json& spec) {
  const json* to = member(spec, "to");
  if (to == nullptr || !to->is_array()) {
    return false;
  }
  return std::any_of(to->begin(), to->end(), [](const json& item) {
    const json* conf = member(item, "default");
    return conf != nullptr && hasAffinityTags(*conf);
  });
}

bool isHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

absl::Status XdsConfigurer::apply(const xds::ProxyContext& proxy,
                                  const std::vector<const json*>& specs,
                                  xds::ResourceSet& resources) const {
  if (proxy.dataplane == nullptr || proxy.options == nullptr ||
      std::none_of(specs.begin(), specs.end(), [](const json* spec) {
        return spec != nullptr && specHasAffinityTags(*spec);
      })) {
    return absl::OkStatus();
  }
  AffinitySource source;
  source.labels = proxy.dataplane->meta.labels;
  if (const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*proxy.dataplane)) {
    for (const auto& inbound : spec->networking().inbound()) {
      for (const auto& [k, v] : inbound.tags()) {
        source.tags[k].insert(v);
      }
    }
  }
  const std::string_view localZone = proxy.options->zone;
  std::map<std::string, json> confs;
  const auto confOf = [&](const std::string& service) -> const json& {
    auto it = confs.find(service);
    if (it == confs.end()) {
      it = confs.emplace(service, policies::mergeDestinationConf(specs, service)).first;
    }
    return it->second;
  };
  const std::string claType = xds::ResourceSet::typeUrlOf<endpoint_v3::ClusterLoadAssignment>();
  for (const std::string& name : resources.names(claType)) {
    if (name.find(':') != std::string::npos) {
      continue;  // kuma:*, localhost:*, inbound:* — not a destination
    }
    // The destination's own CLA, or a split one `<service>-<16 hex>` (Kuma's cluster names).
    const json* conf = &confOf(name);
    if (!conf->is_object() && name.size() > 17 && name[name.size() - 17] == '-' &&
        isHex(std::string_view(name).substr(name.size() - 16))) {
      conf = &confOf(name.substr(0, name.size() - 17));
    }
    if (!conf->is_object() || !hasAffinityTags(*conf)) {
      continue;
    }
    const std::vector<LocalGroup> groups = localGroups(*conf, source);
    if (groups.empty()) {
      continue;  // the shared regrouping (no groups) is already this proxy's
    }
    if (auto* cla = resources.find<endpoint_v3::ClusterLoadAssignment>(name)) {
      regroupEndpoints(*conf, groups, localZone, *cla);
    }
  }
  return absl::OkStatus();
}

absl::Status XdsConfigurer::configureOutboundHcm(
    const json& conf, const xds::OutboundTarget& /*target*/,
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
    const {
  if (!conf.is_object()) {
    return absl::OkStatus();
  }
  const json* policies = hashPoliciesOf(conf);
  if (policies == nullptr || !policies->is_array()) {
    return absl::OkStatus();
  }
  std::vector<route_v3::RouteAction::HashPolicy> rendered;
  for (const json& policy : *policies) {
    if (auto p = hashPolicy(policy)) {
      rendered.push_back(*std::move(p));
    }
  }
  // Every route of the outbound (the catch-all one, or those of a route plugin).
  for (auto& vhost : *hcm.mutable_route_config()->mutable_virtual_hosts()) {
    for (auto& route : *vhost.mutable_routes()) {
      if (!route.has_route()) {
        continue;
      }
      auto* hashPolicies = route.mutable_route()->mutable_hash_policy();
      hashPolicies->Clear();
      for (const auto& p : rendered) {
        *hashPolicies->Add() = p;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace kuma::policies::meshloadbalancingstrategy
