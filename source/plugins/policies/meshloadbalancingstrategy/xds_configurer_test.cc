// MeshLoadBalancingStrategy's xDS plugin, through the generator with the registered plugin table:
// the Envoy fields Kuma 2.14.3 generates for each load balancer (compared with the oracle's config
// dumps of tools/conformance/cases/mlbs-*), hash policies on every route, locality priorities,
// and the plugin's output shared only between proxies with the same policies.

#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;

std::string policyYaml(const std::string& name, const std::string& target,
                       const std::string& conf) {
  return "type: MeshLoadBalancingStrategy\nmesh: default\nname: " + name +
         "\nspec:\n  targetRef: " + target +
         "\n  to:\n  - targetRef: {kind: MeshService, name: api}\n    default:\n" + conf;
}

// web-1, web-2 (same tags) sending to api (two endpoints, zones `default` and `east`) and redis.
MeshContextConstSharedPtr contextFor(const std::vector<std::string>& policies) {
  std::vector<std::string> yamls = {testing::dataplaneYaml("api-1", "10.0.0.3", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: api, kuma.io/protocol: http, kuma.io/zone: default}}
)"),
                                    testing::dataplaneYaml("api-2", "10.0.0.4", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: api, kuma.io/protocol: http, kuma.io/zone: east}}
)"),
                                    testing::dataplaneYaml("redis-1", "10.0.0.2", R"(  inbound:
  - {port: 6379, tags: {kuma.io/service: redis}}
)")};
  for (const char* name : {"web-1", "web-2"}) {
    std::string dp = testing::caseADataplane();
    dp.replace(dp.find("web-1"), 5, name);
    yamls.push_back(dp);
  }
  yamls.insert(yamls.end(), policies.begin(), policies.end());
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  return ctx.ok() ? *ctx : nullptr;
}

GeneratedResources generateIn(const MeshContext& context, const std::string& proxy) {
  return testing::generateProxy(context, proxy);
}

GeneratedResources generateFor(const std::vector<std::string>& policies) {
  MeshContextConstSharedPtr context = contextFor(policies);
  return context != nullptr ? generateIn(*context, "web-1") : GeneratedResources{};
}

// The fields of resource `name` named in `expected` (proto3 JSON, camelCase, as config dumps).
void expectFields(const GeneratedResources& out, const std::string& typeUrl,
                  const std::string& name, const nlohmann::json& expected) {
  ResourceConstSharedPtr resource = out.find(typeUrl, name);
  ASSERT_NE(resource, nullptr) << name;
  absl::StatusOr<std::string> text = resourceToJson(typeUrl, resource->serialized);
  ASSERT_TRUE(text.ok()) << text.status();
  const nlohmann::json actual = nlohmann::json::parse(*text);
  for (const auto& [key, value] : expected.items()) {
    EXPECT_EQ(actual.value(key, nlohmann::json()), value) << key << " in " << *text;
  }
}

HttpConnectionManager outboundHcm(const GeneratedResources& out, const std::string& name) {
  const Listener l = testing::decode<Listener>(out, kListenerType, name);
  HttpConnectionManager hcm;
  EXPECT_TRUE(l.filter_chains(0).filters(0).typed_config().UnpackTo(&hcm));
  return hcm;
}

// The values of tools/conformance/cases/mlbs-* as Kuma 2.14.3 renders them (oracle dumps).
TEST(MeshLoadBalancingStrategyXds, LoadBalancersAsKumaRendersThem) {
  struct Case {
    std::string conf;
    nlohmann::json cluster;
  };
  // Kuma's dumps use the proto field names; resourceToJson gives the JSON (camelCase) names.
  const std::vector<Case> cases = {
      {"      loadBalancer: {type: RingHash, ringHash: {hashFunction: MurmurHash2, minRingSize: "
       "64, maxRingSize: 1024}}\n",
       {{"lbPolicy", "RING_HASH"},
        {"ringHashLbConfig",
         {{"hashFunction", "MURMUR_HASH_2"},
          {"maximumRingSize", "1024"},
          {"minimumRingSize", "64"}}}}},
      {"      loadBalancer: {type: LeastRequest, leastRequest: {choiceCount: 3, "
       "activeRequestBias: \"1.5\"}}\n",
       {{"lbPolicy", "LEAST_REQUEST"},
        {"leastRequestLbConfig",
         {{"activeRequestBias", {{"defaultValue", 1.5}}}, {"choiceCount", 3}}}}},
      {"      loadBalancer: {type: Maglev, maglev: {tableSize: 1021}}\n",
       {{"lbPolicy", "MAGLEV"}, {"maglevLbConfig", {{"tableSize", "1021"}}}}},
      {"      loadBalancer: {type: Random}\n", {{"lbPolicy", "RANDOM"}}},
      {"      loadBalancer: {type: RoundRobin}\n", {{"lbPolicy", nullptr}}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.conf);
    const GeneratedResources out = generateFor({policyYaml("lb", "{kind: Mesh}", c.conf)});
    expectFields(out, kClusterType, "api", c.cluster);
    // Other destinations keep Envoy's default.
    EXPECT_EQ(testing::decode<Cluster>(out, kClusterType, "redis").lb_policy(),
              Cluster::ROUND_ROBIN);
  }
}

TEST(MeshLoadBalancingStrategyXds, HashPoliciesOnEveryRouteOfTheDestination) {
  const GeneratedResources out =
      generateFor({policyYaml("lb", "{kind: Mesh}", R"(      loadBalancer:
        type: RingHash
        ringHash:
          hashPolicies:
          - {type: Header, header: {name: x-user-id}, terminal: true}
          - {type: Connection, connection: {sourceIP: true}}
          - {type: QueryParameter, queryParameter: {name: user}}
          - {type: Cookie, cookie: {name: session, path: /, ttl: 1h}}
          - {type: FilterState, filterState: {key: io.kuma.key}}
)")});
  const HttpConnectionManager hcm = outboundHcm(out, "outbound:127.0.0.1:10002");
  const auto& route = hcm.route_config().virtual_hosts(0).routes(0);
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(route.route(), &text, options).ok());
  EXPECT_EQ(nlohmann::json::parse(text)["hash_policy"], nlohmann::json::parse(R"([
    {"header": {"header_name": "x-user-id"}, "terminal": true},
    {"connection_properties": {"source_ip": true}},
    {"query_parameter": {"name": "user"}},
    {"cookie": {"name": "session", "path": "/", "ttl": "3600s"}},
    {"filter_state": {"key": "io.kuma.key"}}
  ])"));
}

TEST(MeshLoadBalancingStrategyXds, EndpointsOutsideTheLocalZoneGetPriorityOne) {
  const auto priorities = [](const GeneratedResources& out) {
    std::map<std::string, uint32_t> byZone;
    const auto cla = testing::decode<ClusterLoadAssignment>(out, kEndpointType, "api");
    for (const auto& l : cla.endpoints()) {
      byZone[l.locality().zone()] = l.priority();
    }
    return byZone;
  };
  // Locality aware by default (zone `default` is the control plane's).
  EXPECT_EQ(priorities(generateFor(
                {policyYaml("lb", "{kind: Mesh}", "      loadBalancer: {type: RoundRobin}\n")})),
            (std::map<std::string, uint32_t>{{"default", 0}, {"east", 1}}));
  EXPECT_EQ(priorities(generateFor(
                {policyYaml("lb", "{kind: Mesh}", "      localityAwareness: {disabled: true}\n")})),
            (std::map<std::string, uint32_t>{{"default", 0}, {"east", 0}}));
  // Without a policy: the generator's endpoints, untouched.
  EXPECT_EQ(priorities(generateFor({})),
            (std::map<std::string, uint32_t>{{"default", 0}, {"east", 0}}));
  // Locality groups: Kuma's overprovisioning factor (100 / 70 % × 100 = 100).
  const GeneratedResources grouped = generateFor({policyYaml(
      "lb", "{kind: Mesh}",
      "      localityAwareness: {crossZone: {failoverThreshold: {percentage: 70}}}\n")});
  EXPECT_EQ(testing::decode<ClusterLoadAssignment>(grouped, kEndpointType, "api")
                .policy()
                .overprovisioning_factor()
                .value(),
            100u);
}

// The plugin's shared output (cluster, endpoints) is per policy signature: a proxy selected by a
// different MeshLoadBalancingStrategy never gets another proxy's objects.
TEST(MeshLoadBalancingStrategyXds, ProxiesWithDifferentPoliciesShareNothing) {
  const std::vector<std::string> policies = {policyYaml(
      "web-1-lb", "{kind: Dataplane, name: web-1}", "      loadBalancer: {type: Random}\n")};
  MeshContextConstSharedPtr context = contextFor(policies);
  ASSERT_NE(context, nullptr);
  const GeneratedResources one = generateIn(*context, "web-1");
  const GeneratedResources two = generateIn(*context, "web-2");
  EXPECT_EQ(testing::decode<Cluster>(one, kClusterType, "api").lb_policy(), Cluster::RANDOM);
  EXPECT_EQ(testing::decode<Cluster>(two, kClusterType, "api").lb_policy(), Cluster::ROUND_ROBIN);
  for (const char* type : {kClusterType, kEndpointType}) {
    EXPECT_NE(one.find(type, "api").get(), two.find(type, "api").get()) << type;
    EXPECT_NE(one.find(type, "redis").get(), two.find(type, "redis").get()) << type;
  }
  // Endpoints: with a policy the priorities change; without one they are the generator's.
  const auto priority = [](const GeneratedResources& out) {
    const auto cla = testing::decode<ClusterLoadAssignment>(out, kEndpointType, "api");
    for (const auto& l : cla.endpoints()) {
      if (l.locality().zone() == "east") {
        return l.priority();
      }
    }
    return 99u;
  };
  EXPECT_EQ(priority(one), 1u);
  EXPECT_EQ(priority(two), 0u);
}

}  // namespace
}  // namespace kuma::xds
