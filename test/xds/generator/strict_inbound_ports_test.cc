// Strict inbound ports (Kuma 2.14 `pkg/xds/generator/transparent_proxy_generator.go`, goldens
// `testdata/transparent-proxy/{02,06,07,08,10}`): with `feature-strict-inbound-ports` on an mTLS
// STRICT mesh, the transparent proxy's inbound passthrough has one chain per distinct inbound
// port and nothing else; in every other case one catch-all chain. The endpoint-less cluster
// `self_transparentproxy_no_destination_inbound` exists whenever outbound traffic is redirected.

#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
using ::testing::ElementsAre;

constexpr char kNoDestination[] = "self_transparentproxy_no_destination_inbound";

// A transparent-proxy Dataplane with inbounds on 8080 (twice: two addresses), 9000 and Kuma's
// reserved port 49151.
std::string strictDataplane() {
  return testing::dataplaneYaml("web-1", "10.0.0.1", R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  - {port: 8080, address: 10.0.0.9, servicePort: 18081, tags: {kuma.io/service: web-alt}}
  - {port: 9000, tags: {kuma.io/service: metrics}}
  - {port: 49151, tags: {kuma.io/service: headless}}
  transparentProxying:
    redirectPortInbound: 15006
    redirectPortOutbound: 15001
    ipFamilyMode: DualStack
    reachableServices: [api]
)");
}

GeneratedResources generateWith(const std::string& mtlsMode, bool feature,
                                const std::string& dataplane = strictDataplane()) {
  auto resources = mtlsMode.empty() ? testing::caseResources(dataplane)
                                    : testing::caseMtlsResources(dataplane, mtlsMode);
  auto ctx = MeshContext::build(std::move(resources));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  ProxyOptions options;
  options.strictInboundPorts = feature;
  options.tls = testing::fakeTlsSecrets();
  auto out = generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(options));
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *std::move(out) : GeneratedResources{};
}

TcpProxy tcpProxyOf(const envoy::config::listener::v3::FilterChain& chain) {
  TcpProxy proxy;
  EXPECT_EQ(chain.filters_size(), 1);
  if (chain.filters_size() == 1) {
    EXPECT_EQ(chain.filters(0).name(), "envoy.filters.network.tcp_proxy");
    EXPECT_TRUE(chain.filters(0).typed_config().UnpackTo(&proxy));
  }
  return proxy;
}

// The one catch-all chain of the pre-strict passthrough.
void expectCatchAll(const GeneratedResources& out, const std::string& name) {
  auto l = testing::decode<Listener>(out, kListenerType, name);
  ASSERT_EQ(l.filter_chains_size(), 1) << name;
  EXPECT_FALSE(l.filter_chains(0).has_filter_chain_match()) << name;
  EXPECT_EQ(tcpProxyOf(l.filter_chains(0)).cluster(), name);
}

TEST(XdsStrictInboundPorts, StrictMeshWithTheFeatureAcceptsOnlyDeclaredPorts) {
  const GeneratedResources out = generateWith("STRICT", true);
  for (const std::string family : {"ipv4", "ipv6"}) {
    const std::string name = "inbound:passthrough:" + family;
    auto l = testing::decode<Listener>(out, kListenerType, name);
    EXPECT_TRUE(l.use_original_dst().value());
    EXPECT_EQ(l.address().socket_address().port_value(), 15006u);
    // One chain per distinct port, in the order of the inbounds; no catch-all chain.
    ASSERT_EQ(l.filter_chains_size(), 3) << name;
    std::vector<uint32_t> ports;
    std::vector<std::string> clusters;
    for (const auto& chain : l.filter_chains()) {
      ports.push_back(chain.filter_chain_match().destination_port().value());
      const TcpProxy proxy = tcpProxyOf(chain);
      clusters.push_back(proxy.cluster());
      EXPECT_EQ(proxy.stat_prefix(), "inbound_passthrough_" + family);
      EXPECT_FALSE(chain.has_transport_socket());
    }
    EXPECT_THAT(ports, ElementsAre(8080u, 9000u, 49151u));
    EXPECT_THAT(clusters, ElementsAre(name, name, kNoDestination));
  }
  // The outbound passthrough is not affected.
  expectCatchAll(out, "outbound:passthrough:ipv4");
}

TEST(XdsStrictInboundPorts, NoDestinationClusterIsAStaticClusterWithoutEndpoints) {
  for (const bool feature : {true, false}) {
    const GeneratedResources out = generateWith("STRICT", feature);
    auto c = testing::decode<Cluster>(out, kClusterType, kNoDestination);
    EXPECT_EQ(c.type(), Cluster::STATIC);
    EXPECT_EQ(c.alt_stat_name(), kNoDestination);
    EXPECT_EQ(c.connect_timeout().seconds(), 5);
    EXPECT_FALSE(c.has_load_assignment());
  }
}

TEST(XdsStrictInboundPorts, WithoutTheFeatureTheInboundPassthroughTakesEveryPort) {
  const GeneratedResources out = generateWith("STRICT", false);
  expectCatchAll(out, "inbound:passthrough:ipv4");
  expectCatchAll(out, "inbound:passthrough:ipv6");
}

TEST(XdsStrictInboundPorts, PermissiveOrNoMtlsKeepsTheCatchAllChain) {
  for (const std::string mode : {"PERMISSIVE", ""}) {
    const GeneratedResources out = generateWith(mode, true);
    expectCatchAll(out, "inbound:passthrough:ipv4");
    expectCatchAll(out, "inbound:passthrough:ipv6");
    EXPECT_NE(out.find(kClusterType, kNoDestination), nullptr) << mode;
  }
}

TEST(XdsStrictInboundPorts, NoTransparentProxyNoPassthroughNorNoDestinationCluster) {
  const GeneratedResources out = generateWith("STRICT", true, testing::caseADataplane());
  EXPECT_EQ(out.find(kListenerType, "inbound:passthrough:ipv4"), nullptr);
  EXPECT_EQ(out.find(kClusterType, kNoDestination), nullptr);
}

TEST(XdsStrictInboundPorts, InboundRedirectOnlyHasNoNoDestinationCluster) {
  // Kuma creates the cluster with the outbound redirect (its transparent-proxy generator runs
  // only then).
  std::string dp = strictDataplane();
  dp.replace(dp.find("    redirectPortOutbound: 15001\n"), 31, "");
  const GeneratedResources out = generateWith("STRICT", true, dp);
  EXPECT_EQ(out.find(kClusterType, kNoDestination), nullptr);
  auto l = testing::decode<Listener>(out, kListenerType, "inbound:passthrough:ipv4");
  EXPECT_EQ(l.filter_chains_size(), 3);
}

}  // namespace
}  // namespace kuma::xds
