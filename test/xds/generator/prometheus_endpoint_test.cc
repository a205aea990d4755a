// The legacy Mesh `metrics` (Kuma 2.14 `pkg/xds/generator/prometheus_endpoint_generator.go`):
// the `kuma:metrics:prometheus` listener and the `kuma:metrics:hijacker` cluster from the Mesh's
// enabled prometheus backend with the Dataplane's `metrics` merged over it (Kuma's
// GetPrometheusConfig), Envoy's stats filter as the route's rewrite, the mTLS mesh's two chains,
// and the cases where Kuma generates nothing (no enabled backend, a port one of the Dataplane's
// interfaces uses).

#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "gtest/gtest.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::listener::v3::Listener;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;

constexpr char kListener[] = "kuma:metrics:prometheus";
constexpr char kCluster[] = "kuma:metrics:hijacker";

std::string meshYaml(const std::string& extra = "") {
  return R"(type: Mesh
name: default
)" + extra +
         R"(metrics:
  enabledBackend: prom-1
  backends:
  - {name: prom-0, type: prometheus, conf: {port: 1111}}
  - name: prom-1
    type: prometheus
    conf:
      port: 5670
      path: /metrics
      skipMTLS: false
      envoy: {filterRegex: "cluster\\..*", usedOnly: true}
      aggregate: [{name: a, port: 9000}]
)";
}

std::string webYaml(uint32_t inboundPort = 8080, const std::string& metrics = "") {
  return testing::dataplaneYaml(
             "web", "10.0.0.1",
             "  admin: {port: 9901}\n  inbound:\n  - {port: " + std::to_string(inboundPort) +
                 ", servicePort: 18080, tags: {kuma.io/service: web}}\n") +
         metrics;
}

GeneratedResources generateWeb(const std::vector<std::string>& yamls) {
  ProxyOptions options;
  options.workdir = "/w";
  return testing::generateFromYamls(yamls, "web", options);
}

hcm_v3::HttpConnectionManager hcmOf(const Listener& l, int chain) {
  hcm_v3::HttpConnectionManager hcm;
  EXPECT_TRUE(l.filter_chains(chain).filters(0).typed_config().UnpackTo(&hcm));
  return hcm;
}

TEST(PrometheusEndpoint, ListenerAndHijackerClusterFromTheMeshAndDataplaneConf) {
  const GeneratedResources out =
      generateWeb({meshYaml(), webYaml(8080,
                                       "metrics:\n  type: prometheus\n  conf:\n"
                                       "    path: /dp-metrics\n"
                                       "    envoy: {usedOnly: false}\n")});
  const Listener l = testing::decode<Listener>(out, kListenerType, kListener);
  EXPECT_EQ(l.address().socket_address().address(), "10.0.0.1");
  EXPECT_EQ(l.address().socket_address().port_value(), 5670u);
  ASSERT_EQ(l.filter_chains_size(), 1);  // no mTLS on the mesh
  EXPECT_FALSE(l.filter_chains(0).has_transport_socket());
  const hcm_v3::HttpConnectionManager hcm = hcmOf(l, 0);
  EXPECT_EQ(hcm.stat_prefix(), "kuma_metrics_prometheus");
  const auto& route = hcm.route_config().virtual_hosts(0).routes(0);
  // The Dataplane's path and usedOnly win; the Mesh's filter stays.
  EXPECT_EQ(route.match().prefix(), "/dp-metrics");
  EXPECT_EQ(route.route().cluster(), kCluster);
  EXPECT_EQ(route.route().prefix_rewrite(), "/?filter=cluster\\..*");

  const Cluster c = testing::decode<Cluster>(out, kClusterType, kCluster);
  EXPECT_EQ(c.load_assignment().endpoints(0).lb_endpoints(0).endpoint().address().pipe().path(),
            "/w/kuma-mh-web-default.sock");
  EXPECT_EQ(c.alt_stat_name(), "kuma_metrics_hijacker");
  EXPECT_TRUE(c.circuit_breakers().thresholds(0).track_remaining());
}

TEST(PrometheusEndpoint, MtlsMeshScrapesItselfInPlaintextOthersWithMtls) {
  const GeneratedResources out = generateWeb(
      {meshYaml("mtls:\n  enabledBackend: ca-1\n  backends:\n  - {name: ca-1, type: builtin}\n"),
       webYaml()});
  const Listener l = testing::decode<Listener>(out, kListenerType, kListener);
  ASSERT_EQ(l.filter_chains_size(), 2);
  const auto& own = l.filter_chains(0).filter_chain_match().source_prefix_ranges(0);
  EXPECT_EQ(own.address_prefix(), "10.0.0.1");
  EXPECT_EQ(own.prefix_len().value(), 32u);
  EXPECT_FALSE(l.filter_chains(0).has_transport_socket());
  EXPECT_TRUE(l.filter_chains(1).has_transport_socket());
  EXPECT_EQ(hcmOf(l, 1).route_config().virtual_hosts(0).routes(0).route().prefix_rewrite(),
            "/?filter=cluster\\..*&usedonly");
}

TEST(PrometheusEndpoint, NothingWithoutAnEnabledBackendOrOnAnInterfacePort) {
  const std::vector<std::pair<std::string, GeneratedResources>> cases = {
      {"no enabled backend", generateWeb({"type: Mesh\nname: default\n", webYaml()})},
      {"the inbound's port", generateWeb({meshYaml(), webYaml(5670)})},
  };
  for (const auto& [name, out] : cases) {
    EXPECT_EQ(out.find(kListenerType, kListener), nullptr) << name;
    EXPECT_EQ(out.find(kClusterType, kCluster), nullptr) << name;
  }
}

}  // namespace
}  // namespace kuma::xds
