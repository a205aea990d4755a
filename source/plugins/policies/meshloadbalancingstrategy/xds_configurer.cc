#include "source/plugins/policies/meshloadbalancingstrategy/xds_configurer.h"

#include <cmath>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "google/protobuf/util/time_util.h"
#include "source/plugins/policies/core/policy.h"
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

bool hasAffinityTags(const json& conf) {
  const json* la = member(conf, "localityAwareness");
  const json* local = la != nullptr ? member(*la, "localZone") : nullptr;
  const json* tags = local != nullptr ? member(*local, "affinityTags") : nullptr;
  return tags != nullptr && tags->is_array() && !tags->empty();
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

void configureEndpoints(const json& conf, const std::string& localZone,
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
  const bool groups =
      la != nullptr && (member(*la, "localZone") != nullptr || member(*la, "crossZone") != nullptr);
  if (groups) {
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
    configureEndpoints(conf, target.localZone, *cla);
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
