// MeshLoadBalancingStrategy's locality awareness as Kuma 2.14.3 renders it
// (pkg/plugins/policies/meshloadbalancingstrategy/plugin/v1alpha1/{locality_aware,priority}.go):
// the local zone's endpoints regrouped by the proxy's affinity tags, other zones by the
// crossZone failover rules, through the generator with the registered plugin table (goldens in
// testdata/xds/<case>.golden.json, regenerate with KUMA_UPDATE_GOLDEN=1), and the pure functions
// on hand-built inputs. The regrouped endpoints depend on the proxy: proxies with different
// affinity values never share them.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "gtest/gtest.h"
#include "source/plugins/policies/meshloadbalancingstrategy/xds_configurer.h"
#include "source/xds/envoy/envoy_util.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using nlohmann::json;
namespace mlbs = policies::meshloadbalancingstrategy;

constexpr char kLocalityConf[] = R"(      localityAwareness:
        localZone:
          affinityTags:
          - key: rack
          - key: az
        crossZone:
          failover:
          - from: {zones: [default]}
            to: {type: Only, zones: [east]}
          - from: {zones: [other]}
            to: {type: Any}
          - to: {type: AnyExcept, zones: [east, north]}
          failoverThreshold: {percentage: 70}
)";

std::string policyYaml(const std::string& conf) {
  return "type: MeshLoadBalancingStrategy\nmesh: default\nname: locality\nspec:\n  targetRef: "
         "{kind: Mesh}\n  to:\n  - targetRef: {kind: MeshService, name: api}\n    default:\n" +
         conf;
}

std::string apiDataplane(const std::string& name, const std::string& address,
                         const std::string& tags) {
  return testing::dataplaneYaml(
      name, address,
      "  inbound:\n  - {port: 8080, tags: {kuma.io/service: api, kuma.io/protocol: http, " + tags +
          "}}\n");
}

std::string webDataplane(const std::string& name, const std::string& tags) {
  return testing::dataplaneYaml(name, "10.0.0.1",
                                "  inbound:\n  - {port: 8080, servicePort: 18080, tags: "
                                "{kuma.io/service: web, kuma.io/protocol: http, " +
                                    tags +
                                    "}}\n  outbound:\n  - {port: 10001, tags: {kuma.io/service: "
                                    "redis}}\n  - {port: 10002, tags: {kuma.io/service: api}}\n");
}

// api endpoints in the local zone (`default`) with rack/az tags, and in east, west and north.
// Proxies: web-r1a (rack r1, az a), web-r1a-2 (the same), web-r2 (rack r2 only), web-none and
// web-none-2 (no affinity tag).
MeshContextConstSharedPtr context(const std::string& conf) {
  std::vector<std::string> yamls = {
      apiDataplane("api-1", "10.0.1.1", "kuma.io/zone: default, rack: r1, az: b"),
      apiDataplane("api-2", "10.0.1.2", "kuma.io/zone: default, rack: r2, az: a"),
      apiDataplane("api-3", "10.0.1.3", "kuma.io/zone: default, rack: r3, az: c"),
      apiDataplane("api-4", "10.0.1.4", "kuma.io/zone: default, rack: r1, az: a"),
      apiDataplane("api-5", "10.0.1.5", "kuma.io/zone: default"),
      apiDataplane("api-east", "10.0.2.1", "kuma.io/zone: east, rack: r1"),
      apiDataplane("api-west", "10.0.3.1", "kuma.io/zone: west"),
      apiDataplane("api-north", "10.0.4.1", "kuma.io/zone: north"),
      testing::dataplaneYaml("redis-1", "10.0.0.2", R"(  inbound:
  - {port: 6379, tags: {kuma.io/service: redis, kuma.io/zone: default}}
)"),
      webDataplane("web-r1a", "kuma.io/zone: default, rack: r1, az: a"),
      webDataplane("web-r1a-2", "kuma.io/zone: default, rack: r1, az: a"),
      webDataplane("web-r2", "kuma.io/zone: default, rack: r2"),
      webDataplane("web-none", "kuma.io/zone: default"),
      webDataplane("web-none-2", "kuma.io/zone: default"),
      policyYaml(conf)};
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  return ctx.ok() ? *ctx : nullptr;
}

GeneratedResources generateIn(const MeshContext& ctx, const std::string& proxy) {
  auto out = generate(ctx, *testing::dataplaneOf(ctx, proxy), testing::withPlugins(ProxyOptions{}));
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *std::move(out) : GeneratedResources{};
}

void expectGolden(const std::string& name, const json& actualJson) {
  test::expectGoldenText(
      test::sourcePath("source/plugins/policies/meshloadbalancingstrategy/testdata/xds") /
          (name + ".golden.json"),
      actualJson.dump(2) + "\n");
}

// (sub-zone or zone, priority, locality weight, endpoint addresses) per locality, in order.
std::vector<std::string> localities(const ClusterLoadAssignment& cla) {
  std::vector<std::string> out;
  for (const auto& l : cla.endpoints()) {
    std::string s = l.locality().zone() + "/" + l.locality().sub_zone() + " p" +
                    std::to_string(l.priority()) + " w" +
                    std::to_string(l.load_balancing_weight().value()) + ":";
    for (const auto& e : l.lb_endpoints()) {
      s += " " + e.endpoint().address().socket_address().address();
    }
    out.push_back(s);
  }
  return out;
}

TEST(MeshLoadBalancingStrategyLocality, AffinityGroupsAndFailoverAsKumaRendersThem) {
  MeshContextConstSharedPtr ctx = context(kLocalityConf);
  ASSERT_NE(ctx, nullptr);
  const GeneratedResources r1a = generateIn(*ctx, "web-r1a");
  const GeneratedResources r2 = generateIn(*ctx, "web-r2");
  const GeneratedResources none = generateIn(*ctx, "web-none");
  // rack (first of two tags): 9 × 10 = 90, az: 9; the rest of the local zone: weight 1. Other
  // zones: east by rule 1 (priority 1), west by rule 3 (AnyExcept east, north: priority 3; rule 2
  // does not apply from zone `default` but keeps its position), north by no rule: dropped.
  EXPECT_EQ(localities(testing::decode<ClusterLoadAssignment>(r1a, kEndpointType, "api")),
            (std::vector<std::string>{
                "default/ p0 w1: 10.0.1.3 10.0.1.5",
                "default/az=a p0 w9: 10.0.1.2",
                "default/rack=r1 p0 w90: 10.0.1.1 10.0.1.4",
                "east/ p1 w0: 10.0.2.1",
                "west/ p3 w0: 10.0.3.1",
            }));
  EXPECT_EQ(localities(testing::decode<ClusterLoadAssignment>(r2, kEndpointType, "api")),
            (std::vector<std::string>{
                "default/ p0 w1: 10.0.1.1 10.0.1.3 10.0.1.4 10.0.1.5",
                "default/rack=r2 p0 w90: 10.0.1.2",
                "east/ p1 w0: 10.0.2.1",
                "west/ p3 w0: 10.0.3.1",
            }));
  EXPECT_EQ(localities(testing::decode<ClusterLoadAssignment>(none, kEndpointType, "api")),
            (std::vector<std::string>{
                "default/ p0 w1: 10.0.1.1 10.0.1.2 10.0.1.3 10.0.1.4 10.0.1.5",
                "east/ p1 w0: 10.0.2.1",
                "west/ p3 w0: 10.0.3.1",
            }));
  // The cluster: locality weighted load balancing; the CLA: 100 / 70 % → factor 100.
  EXPECT_TRUE(testing::decode<Cluster>(r1a, kClusterType, "api")
                  .common_lb_config()
                  .has_locality_weighted_lb_config());
  expectGolden("affinity-rack-r1-az-a", testing::resourceJson(r1a, kEndpointType, "api"));
  expectGolden("affinity-rack-r2", testing::resourceJson(r2, kEndpointType, "api"));
  expectGolden("affinity-none", testing::resourceJson(none, kEndpointType, "api"));
  // Destinations without the policy keep the generator's endpoints.
  EXPECT_FALSE(testing::decode<ClusterLoadAssignment>(r1a, kEndpointType, "redis").has_policy());
}

// The regrouped endpoints depend on the proxy's affinity values: two proxies with different
// values get different ClusterLoadAssignments, and the one shared for the policy signature is
// never edited in place (proxies without any affinity value keep sharing it).
TEST(MeshLoadBalancingStrategyLocality, ProxiesWithDifferentAffinityValuesNeverShare) {
  MeshContextConstSharedPtr ctx = context(kLocalityConf);
  ASSERT_NE(ctx, nullptr);
  const GeneratedResources none1 = generateIn(*ctx, "web-none");
  const std::string sharedBefore = none1.find(kEndpointType, "api")->serialized;
  const GeneratedResources r1a = generateIn(*ctx, "web-r1a");
  const GeneratedResources r1a2 = generateIn(*ctx, "web-r1a-2");
  const GeneratedResources r2 = generateIn(*ctx, "web-r2");
  const GeneratedResources none2 = generateIn(*ctx, "web-none-2");
  const auto bytes = [](const GeneratedResources& out) {
    return out.find(kEndpointType, "api")->serialized;
  };
  EXPECT_NE(bytes(r1a), bytes(r2));
  EXPECT_NE(bytes(r1a), bytes(none1));
  EXPECT_NE(bytes(r2), bytes(none1));
  EXPECT_EQ(bytes(r1a), bytes(r1a2));  // same values, same content
  EXPECT_NE(r1a.find(kEndpointType, "api").get(), r2.find(kEndpointType, "api").get());
  EXPECT_NE(r1a.find(kEndpointType, "api").get(), none1.find(kEndpointType, "api").get());
  // The shared object is untouched and still shared by the proxies without affinity values.
  EXPECT_EQ(none1.find(kEndpointType, "api").get(), none2.find(kEndpointType, "api").get());
  EXPECT_EQ(bytes(none1), sharedBefore);
  // The cluster does not depend on the proxy: still one object.
  EXPECT_EQ(r1a.find(kClusterType, "api").get(), r2.find(kClusterType, "api").get());
}

// localZone only (no crossZone): Kuma keeps no endpoint of another zone.
TEST(MeshLoadBalancingStrategyLocality, WithoutCrossZoneOtherZonesAreDropped) {
  MeshContextConstSharedPtr ctx = context(
      "      localityAwareness:\n        localZone:\n          affinityTags:\n"
      "          - {key: rack, weight: 7}\n");
  ASSERT_NE(ctx, nullptr);
  const GeneratedResources r1a = generateIn(*ctx, "web-r1a");
  const auto cla = testing::decode<ClusterLoadAssignment>(r1a, kEndpointType, "api");
  EXPECT_EQ(localities(cla), (std::vector<std::string>{
                                 "default/ p0 w1: 10.0.1.2 10.0.1.3 10.0.1.5",
                                 "default/rack=r1 p0 w7: 10.0.1.1 10.0.1.4",
                             }));
  EXPECT_EQ(cla.policy().overprovisioning_factor().value(), 200u);  // no threshold: Kuma's 200
}

// ---- the pure functions ----

TEST(MeshLoadBalancingStrategyLocality, LocalGroupsWeightsAndValues) {
  const json conf = json::parse(R"({"localityAwareness": {"localZone": {"affinityTags": [
      {"key": "a"}, {"key": "b"}, {"key": "c"}, {"key": "missing"}]}}})");
  mlbs::AffinitySource source;
  source.tags["a"] = {"z", "x"};  // several values: the smallest
  source.tags["b"] = {"1"};
  source.labels["b"] = "from-label";  // tags win
  source.labels["c"] = "from-label";  // labels when no tag
  const std::vector<mlbs::LocalGroup> groups = mlbs::localGroups(conf, source);
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].key, "a");
  EXPECT_EQ(groups[0].value, "x");
  EXPECT_EQ(groups[0].weight, 9000u);  // 9 × 10^(4 − 0 − 1): positions count unmatched tags
  EXPECT_EQ(groups[1].value, "1");
  EXPECT_EQ(groups[1].weight, 900u);
  EXPECT_EQ(groups[2].value, "from-label");
  EXPECT_EQ(groups[2].weight, 90u);
  const json weighted = json::parse(
      R"({"localityAwareness": {"localZone": {"affinityTags": [{"key": "a", "weight": 3}]}}})");
  ASSERT_EQ(mlbs::localGroups(weighted, source).size(), 1u);
  EXPECT_EQ(mlbs::localGroups(weighted, source)[0].weight, 3u);
  EXPECT_TRUE(mlbs::localGroups(json::object(), source).empty());
}

TEST(MeshLoadBalancingStrategyLocality, RegroupRebuildsEndpointsAsKuma) {
  ClusterLoadAssignment cla;
  cla.set_cluster_name("api");
  auto* locality = cla.add_endpoints();
  locality->mutable_locality()->set_zone("default");
  const auto addEndpoint = [&](const std::string& address, uint32_t port,
                               const std::map<std::string, std::string>& tags,
                               const std::map<std::string, std::string>& labels) {
    auto* lb = locality->add_lb_endpoints();
    auto* sa = lb->mutable_endpoint()->mutable_address()->mutable_socket_address();
    sa->set_address(address);
    sa->set_port_value(port);
    lb->mutable_load_balancing_weight()->set_value(1);
    lb->set_health_status(envoy::config::core::v3::HEALTHY);
    for (const auto& [k, v] : tags) {
      (*(*lb->mutable_metadata()->mutable_filter_metadata())["envoy.lb"].mutable_fields())[k]
          .set_string_value(v);
    }
    for (const auto& [k, v] : labels) {
      (*(*lb->mutable_metadata()->mutable_filter_metadata())["io.kuma.labels"].mutable_fields())[k]
          .set_string_value(v);
    }
  };
  addEndpoint("10.0.0.9", 80, {{"kuma.io/zone", "default"}}, {{"kuma.io/env", "universal"}});
  // Affinity by label when the tag is absent; labels other than affinity keys are dropped.
  addEndpoint("10.0.0.2", 81, {{"kuma.io/zone", "default"}},
              {{"rack", "r1"}, {"kuma.io/env", "universal"}});
  addEndpoint("10.0.0.2", 80, {{"kuma.io/zone", "default"}, {"rack", "r1"}}, {});
  const json conf =
      json::parse(R"({"localityAwareness": {"localZone": {"affinityTags": [{"key": "rack"}]}}})");
  mlbs::regroupEndpoints(conf, {{"rack", "r1", 9}}, "default", cla);
  ASSERT_EQ(cla.endpoints_size(), 2);
  EXPECT_EQ(cla.endpoints(0).locality().sub_zone(), "");
  EXPECT_EQ(cla.endpoints(0).load_balancing_weight().value(), 1u);
  const auto& group = cla.endpoints(1);
  EXPECT_EQ(group.locality().sub_zone(), "rack=r1");
  EXPECT_EQ(group.load_balancing_weight().value(), 9u);
  ASSERT_EQ(group.lb_endpoints_size(), 2);
  // Sorted by address, then port; rebuilt without health status; only affinity labels kept.
  EXPECT_EQ(group.lb_endpoints(0).endpoint().address().socket_address().port_value(), 80u);
  EXPECT_EQ(group.lb_endpoints(1).endpoint().address().socket_address().port_value(), 81u);
  EXPECT_EQ(group.lb_endpoints(0).health_status(), envoy::config::core::v3::UNKNOWN);
  const auto& meta = group.lb_endpoints(1).metadata().filter_metadata();
  ASSERT_TRUE(meta.contains("io.kuma.labels"));
  EXPECT_EQ(meta.at("io.kuma.labels").fields().size(), 1u);
  EXPECT_TRUE(meta.contains("envoy.transport_socket_match"));
  EXPECT_FALSE(
      cla.endpoints(0).lb_endpoints(0).metadata().filter_metadata().contains("io.kuma.labels"));
  // Regrouping again with the same groups changes nothing (apply() redoes the shared result).
  const std::string once = makeResource("api", cla)->serialized;
  mlbs::regroupEndpoints(conf, {{"rack", "r1", 9}}, "default", cla);
  EXPECT_EQ(makeResource("api", cla)->serialized, once);
}

}  // namespace
}  // namespace kuma::xds
