// MeshPassthrough's xDS plugin, through the generator with the registered plugin table, on a
// transparent-proxy sidecar: the outbound passthrough listeners and clusters of the matches of
// Kuma's own "basic listener" plugin case as golden files (checked against Kuma 2.14.3's goldens
// of that case and, for tools/conformance/cases/meshpassthrough, against its config dump), the
// three modes against the Mesh's `networking.outbound.passthrough`, MySQL ports left out of the
// inspectors, matches of several policies appended, and nothing without transparent proxying.

#include <algorithm>
#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "gtest/gtest.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::listener::v3::Listener;

constexpr char kIpv4[] = "outbound:passthrough:ipv4";
constexpr char kIpv6[] = "outbound:passthrough:ipv6";

// The matches of Kuma's plugin test "basic listener".
const char kBasic[] = R"(type: MeshPassthrough
mesh: default
name: basic
spec:
  targetRef: {kind: Mesh}
  default:
    passthroughMode: Matched
    appendMatch:
    - {type: Domain, value: api.example.com, port: 443, protocol: tls}
    - {type: Domain, value: example.com, port: 443, protocol: tls}
    - {type: Domain, value: "*.example.com", port: 443, protocol: tls}
    - {type: Domain, value: example.com, port: 8080, protocol: http}
    - {type: Domain, value: other.com, port: 8080, protocol: http}
    - {type: CIDR, value: 192.168.0.0/16, protocol: http, port: 8126}
    - {type: CIDR, value: 240.0.0.0/4, protocol: http, port: 8126}
    - {type: Domain, value: www.google.com, protocol: http, port: 80}
    - {type: IP, value: 10.42.0.8, protocol: http}
    - {type: IP, value: "b6e5:a45e:70ae:e77f:d24e:5023:375d:20a6", protocol: tls}
    - {type: IP, value: "9942:9abf:d0e0:f2da:2290:333b:e590:f497", port: 9091, protocol: tcp}
)";

std::string policy(const std::string& name, const std::string& targetRef, const std::string& conf) {
  return "type: MeshPassthrough\nmesh: default\nname: " + name +
         "\nspec:\n  targetRef: " + targetRef + "\n  default: " + conf + "\n";
}

std::string webDataplane(bool transparent) {
  std::string extra = R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http}}
)";
  extra += transparent ? R"(  transparentProxying:
    redirectPortInbound: 15006
    redirectPortOutbound: 15001
    reachableServices: [backend]
)"
                       : R"(  outbound:
  - {port: 10001, tags: {kuma.io/service: backend}}
)";
  return testing::dataplaneYaml("web", "127.0.0.1", extra);
}

std::string meshWithPassthrough(bool passthrough) {
  return testing::meshYaml() +
         "networking:\n  outbound:\n    passthrough: " + (passthrough ? "true" : "false") + "\n";
}

GeneratedResources generateFor(const std::vector<std::string>& policies, bool transparent = true,
                               const std::string& meshYaml = testing::meshYaml()) {
  std::vector<std::string> yamls = {meshYaml, webDataplane(transparent),
                                    testing::dataplaneYaml("backend-1", "127.0.0.2", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http}}
)")};
  yamls.insert(yamls.end(), policies.begin(), policies.end());
  ProxyOptions options;
  // Kuma's plugin tests run with only this internal address.
  options.internalCidrs = {"127.0.0.1/32"};
  return testing::generateFromYamls(yamls, "web", options);
}

void expectGolden(const GeneratedResources& out, const std::string& type, const std::string& name,
                  const std::string& golden) {
  testing::expectResourceGolden(
      out, type, name,
      test::sourcePath("source/plugins/policies/meshpassthrough/testdata") /
          (golden + ".golden.json"));
}

std::vector<std::string> chainNames(const Listener& l) {
  std::vector<std::string> out;
  for (const auto& c : l.filter_chains()) {
    out.push_back(c.name());
  }
  return out;
}

std::vector<std::string> passthroughClusters(const GeneratedResources& out) {
  std::vector<std::string> names;
  for (const auto& name : testing::namesOf(out, kClusterType)) {
    if (name.rfind("meshpassthrough_", 0) == 0 || name.rfind("outbound:passthrough:", 0) == 0) {
      names.push_back(name);
    }
  }
  return names;
}

TEST(MeshPassthroughPlugin, BasicMatchesGiveKumasListenersAndClusters) {
  const GeneratedResources out = generateFor({kBasic});
  expectGolden(out, kListenerType, kIpv4, "basic-ipv4");
  expectGolden(out, kListenerType, kIpv6, "basic-ipv6");
  // Kuma's order: TLS, TCP, HTTP; within one: IPv6, IP, CIDR, domain, wildcard; higher port first.
  EXPECT_EQ(chainNames(testing::decode<Listener>(out, kListenerType, kIpv4)),
            (std::vector<std::string>{
                "meshpassthrough_tls_api.example.com_443", "meshpassthrough_tls_example.com_443",
                "meshpassthrough_tls_*.example.com_443", "meshpassthrough_http_10.42.0.8_9091",
                "meshpassthrough_http_10.42.0.8_8126", "meshpassthrough_http_10.42.0.8_8080",
                "meshpassthrough_http_10.42.0.8_443", "meshpassthrough_http_10.42.0.8_80",
                "meshpassthrough_http_10.42.0.8_*", "meshpassthrough_http_192.168.0.0/16_8126",
                "meshpassthrough_http_240.0.0.0/4_8126", "meshpassthrough_http_8080",
                "meshpassthrough_http_80"}));
  EXPECT_EQ(
      passthroughClusters(out),
      (std::vector<std::string>{"meshpassthrough_http_10.42.0.8_*",
                                "meshpassthrough_http_10.42.0.8_443",
                                "meshpassthrough_http_10.42.0.8_80",
                                "meshpassthrough_http_10.42.0.8_8080",
                                "meshpassthrough_http_10.42.0.8_8126",
                                "meshpassthrough_http_10.42.0.8_9091",
                                "meshpassthrough_http_192.168.0.0/16_8126",
                                "meshpassthrough_http_240.0.0.0/4_8126",
                                "meshpassthrough_http_example.com_8080",
                                "meshpassthrough_http_other.com_8080",
                                "meshpassthrough_http_www.google.com_80",
                                "meshpassthrough_tcp_9942:9abf:d0e0:f2da:2290:333b:e590:f497_9091",
                                "meshpassthrough_tls_*.example.com_443",
                                "meshpassthrough_tls_api.example.com_443",
                                "meshpassthrough_tls_b6e5:a45e:70ae:e77f:d24e:5023:375d:20a6_*",
                                "meshpassthrough_tls_b6e5:a45e:70ae:e77f:d24e:5023:375d:20a6_443",
                                "meshpassthrough_tls_b6e5:a45e:70ae:e77f:d24e:5023:375d:20a6_80",
                                "meshpassthrough_tls_b6e5:a45e:70ae:e77f:d24e:5023:375d:20a6_8080",
                                "meshpassthrough_tls_b6e5:a45e:70ae:e77f:d24e:5023:375d:20a6_8126",
                                "meshpassthrough_tls_b6e5:a45e:70ae:e77f:d24e:5023:375d:20a6_9091",
                                "meshpassthrough_tls_example.com_443"}));
  expectGolden(out, kClusterType, "meshpassthrough_http_www.google.com_80", "cluster-http");
}

TEST(MeshPassthroughPlugin, MatchedWithoutMatchesOnlyRemovesTheDefaultClusters) {
  const GeneratedResources plain = generateFor({});
  EXPECT_EQ(passthroughClusters(plain),
            (std::vector<std::string>{"outbound:passthrough:ipv4", "outbound:passthrough:ipv6"}));
  const GeneratedResources out = generateFor({policy("m", "{kind: Mesh}", "{}")});
  EXPECT_TRUE(passthroughClusters(out).empty());
  // The listener keeps its catch-all chain (to a cluster that is gone): nothing passes.
  EXPECT_EQ(out.find(kListenerType, kIpv4)->serialized,
            plain.find(kListenerType, kIpv4)->serialized);
}

TEST(MeshPassthroughPlugin, ModesAgainstTheMeshsPassthrough) {
  const std::string none = policy("none", "{kind: Mesh}", "{passthroughMode: None}");
  const std::string all = policy("all", "{kind: Mesh}", "{passthroughMode: All}");
  const std::vector<std::string> defaults = {"outbound:passthrough:ipv4",
                                             "outbound:passthrough:ipv6"};
  // None on a passthrough mesh removes the clusters; on a closed mesh there is nothing to remove.
  EXPECT_TRUE(passthroughClusters(generateFor({none})).empty());
  EXPECT_TRUE(passthroughClusters(generateFor({none}, true, meshWithPassthrough(false))).empty());
  // All on a closed mesh adds them back (Kuma's CreateCluster), on an open mesh keeps them.
  const GeneratedResources opened = generateFor({all}, true, meshWithPassthrough(false));
  EXPECT_EQ(passthroughClusters(opened), defaults);
  EXPECT_EQ(passthroughClusters(generateFor({all})), defaults);
  EXPECT_EQ(opened.find(kClusterType, kIpv4)->serialized,
            generateFor({}).find(kClusterType, kIpv4)->serialized);
  // Matches under All or None change nothing.
  const std::string allWithMatches =
      policy("all", "{kind: Mesh}",
             "{passthroughMode: All, appendMatch: [{type: IP, value: 1.1.1.1, protocol: tcp}]}");
  EXPECT_EQ(passthroughClusters(generateFor({allWithMatches})), defaults);
}

TEST(MeshPassthroughPlugin, MatchesOfEveryPolicyAreAppendedTheMostSpecificModeWins) {
  const std::string mesh =
      policy("mesh", "{kind: Mesh}",
             "{passthroughMode: None, appendMatch: [{type: IP, value: 10.0.0.1, port: 80, "
             "protocol: tcp}]}");
  const std::string dp =
      policy("dp", "{kind: Dataplane, name: web}",
             "{passthroughMode: Matched, appendMatch: [{type: CIDR, value: 10.1.0.0/16, protocol: "
             "tcp}]}");
  const GeneratedResources out = generateFor({mesh, dp});
  EXPECT_EQ(chainNames(testing::decode<Listener>(out, kListenerType, kIpv4)),
            (std::vector<std::string>{"meshpassthrough_tcp_10.0.0.1_80",
                                      "meshpassthrough_tcp_10.1.0.0/16_80",
                                      "meshpassthrough_tcp_10.1.0.0/16_*"}));
  // No IPv6 match: the IPv6 listener keeps its default chain.
  EXPECT_EQ(chainNames(testing::decode<Listener>(out, kListenerType, kIpv6)),
            chainNames(testing::decode<Listener>(generateFor({}), kListenerType, kIpv6)));
}

TEST(MeshPassthroughPlugin, MysqlPortsAreLeftOutOfTheInspectors) {
  const GeneratedResources out = generateFor({policy(
      "db", "{kind: Mesh}",
      "{appendMatch: [{type: IP, value: 10.0.0.5, port: 3306, protocol: mysql}, {type: CIDR, "
      "value: 10.0.1.0/24, port: 3307, protocol: mysql}]}")});
  expectGolden(out, kListenerType, kIpv4, "mysql-ipv4");
}

TEST(MeshPassthroughPlugin, NothingWithoutTransparentProxying) {
  const GeneratedResources out = generateFor({kBasic}, false);
  EXPECT_EQ(out.find(kListenerType, kIpv4), nullptr);
  EXPECT_TRUE(passthroughClusters(out).empty());
  EXPECT_EQ(testing::toJson(out), testing::toJson(generateFor({}, false)));
}

TEST(MeshPassthroughPlugin, Http2AndGrpcClustersAreHttp2Upstreams) {
  const GeneratedResources out = generateFor({policy(
      "grpc", "{kind: Mesh}",
      "{appendMatch: [{type: Domain, value: grpc.example.com, port: 9000, protocol: grpc}]}")});
  const Cluster c =
      testing::decode<Cluster>(out, kClusterType, "meshpassthrough_grpc_grpc.example.com_9000");
  EXPECT_EQ(c.typed_extension_protocol_options().count(kHttpProtocolOptionsKey), 1u);
  expectGolden(out, kClusterType, "meshpassthrough_grpc_grpc.example.com_9000", "cluster-grpc");
}

}  // namespace
}  // namespace kuma::xds
