// MeshMetric's xDS plugin, through the generator with the registered plugin table:
// - the conformance case `meshmetric` generated for its proxy `web`: every `_kuma:metrics:*`
//   listener and cluster and the `_kuma:dynamicconfig` listener, whole, compared with Kuma
//   2.14.3's (cut out of the oracle's dump $ORACLE/dumps/meshmetric.json into
//   testdata/conformance-meshmetric.xds.json, `@type` dropped); the Etag and the body size limit
//   (they depend on the real ports and paths) are masked in both and checked against our body;
// - the `/meshmetric` document joins the `/dns` one on the same listener (embedded DNS);
// - a policy without backends, and a workload-labelled Dataplane's extra labels;
// - goJsonString (source/common/go_json.h) escapes as Go's encoding/json.

#include <map>
#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "gtest/gtest.h"
#include "source/plugins/policies/meshmetric/xds_configurer.h"
#include "source/common/go_json.h"
#include "source/xds/envoy/dynamic_config.h"
#include "test/plugins/policies/conformance_golden.h"

namespace kuma::xds {
namespace {

using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using nlohmann::json;

constexpr char kWorkdir[] = "/tmp/kuma-dp-work";

// Ports and the work directory written back as the harness's placeholders; the Etag masked.
json normalise(const testing::ConformanceCase& c, const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (const auto& [k, x] : v.items()) {
      out[k] = normalise(c, x);
    }
    if (out.contains("exact") && out["exact"].is_string() &&
        out["exact"].get<std::string>().size() == 64) {
      out["exact"] = "<etag>";
    }
    if (out.contains("max_direct_response_body_size_bytes")) {
      out["max_direct_response_body_size_bytes"] = "<body size>";  // real ports and paths
    }
    if (out.contains("key") && out["key"] == "Etag") {
      out["value"] = "<etag>";
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& x : v) {
      out.push_back(normalise(c, x));
    }
    return out;
  }
  if (v.is_string()) {
    std::string s = c.normalise(v.get<std::string>());
    for (size_t p = s.find(kWorkdir); p != std::string::npos; p = s.find(kWorkdir)) {
      s.replace(p, std::string(kWorkdir).size(), "<dp-workdir>");
    }
    return s;
  }
  if (v.is_number_integer()) {
    for (const auto& [label, port] : c.ports) {
      if (v.get<int64_t>() == port) {
        return "<port:" + label + ">";
      }
    }
  }
  return v;
}

// The `kuma.io/zone` label a zone control plane's store computes for the Dataplane.
void withZoneLabel(testing::ConformanceCase& c) {
  std::string& proxy = c.yamls.back();
  const size_t at = proxy.find("name: web\n");
  ASSERT_NE(at, std::string::npos);
  proxy.insert(at + 10, "labels:\n  kuma.io/zone: default\n");
}

ProxyOptions kumaDpOptions() {
  ProxyOptions options;
  options.zone = "default";
  options.workDir = kWorkdir;
  options.workdir = kWorkdir;
  options.metadataIpv6Enabled = true;  // Kuma's kuma-dp reports ipv6Enabled
  options.reusePort = true;            // and feature-reuse-port
  return options;
}

GeneratedResources generateCase(const testing::ConformanceCase& c, const std::string& proxy,
                                ProxyOptions options) {
  auto ctx = MeshContext::build(testing::meshResources(c.yamls));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  if (!ctx.ok()) {
    return {};
  }
  return testing::generateProxy(**ctx, proxy, std::move(options));
}

HttpConnectionManager hcmOf(const Listener& listener) {
  HttpConnectionManager hcm;
  EXPECT_TRUE(listener.filter_chains(0).filters(0).typed_config().UnpackTo(&hcm));
  return hcm;
}

// The `/meshmetric` 200 route's body and Etag.
std::pair<std::string, std::string> meshMetricDocument(const Listener& listener) {
  const HttpConnectionManager hcm = hcmOf(listener);
  for (const auto& route : hcm.route_config().virtual_hosts(0).routes()) {
    if (route.name() == "_kuma:dynamicconfig:/meshmetric") {
      return {route.direct_response().body().inline_string(),
              route.response_headers_to_add(0).header().value()};
    }
  }
  ADD_FAILURE() << "no /meshmetric route";
  return {};
}

TEST(MeshMetricXds, PrometheusOpenTelemetryAndDynamicConfigAsKuma) {
  testing::ConformanceCase c = testing::loadConformanceCase("meshmetric");
  withZoneLabel(c);
  const GeneratedResources out = generateCase(c, "web", kumaDpOptions());
  const json golden =
      testing::readJson(testing::sourceRoot() / "source/plugins/policies/meshmetric/testdata" /
                        "conformance-meshmetric.xds.json");
  std::map<std::string, json> listeners;
  for (const std::string& name : testing::namesOf(out, kListenerType)) {
    if (name.rfind("_kuma:metrics", 0) == 0 || name == kDynamicConfigListenerName) {
      listeners[c.normalise(name)] =
          normalise(c, testing::protoJson(testing::decode<Listener>(out, kListenerType, name)));
    }
  }
  std::map<std::string, json> clusters;
  for (const std::string& name : testing::namesOf(out, kClusterType)) {
    if (name.rfind("_kuma:metrics", 0) == 0) {
      clusters[c.normalise(name)] =
          normalise(c, testing::protoJson(testing::decode<envoy::config::cluster::v3::Cluster>(
                           out, kClusterType, name)));
    }
  }
  EXPECT_EQ(json(listeners), normalise(c, golden["listeners"]));
  EXPECT_EQ(json(clusters), normalise(c, golden["clusters"]));
  const auto [body, etag] =
      meshMetricDocument(testing::decode<Listener>(out, kListenerType, kDynamicConfigListenerName));
  EXPECT_EQ(etag, dynamicConfigEtag(body));
  EXPECT_TRUE(json::accept(body)) << body;
  const HttpConnectionManager hcm =
      hcmOf(testing::decode<Listener>(out, kListenerType, kDynamicConfigListenerName));
  EXPECT_EQ(hcm.route_config().max_direct_response_body_size_bytes().value(), body.size());
}

TEST(MeshMetricXds, JoinsTheDnsDocumentOnTheDynamicConfigListener) {
  testing::ConformanceCase c = testing::loadConformanceCase("meshmetric");
  ProxyOptions options = kumaDpOptions();
  options.dnsPort = 15053;
  options.embeddedDns = true;
  // Transparent proxying turns DNS on.
  std::string& proxy = c.yamls.back();
  proxy +=
      "  transparentProxying:\n    redirectPortInbound: 15006\n"
      "    redirectPortOutbound: 15001\n";
  const GeneratedResources out = generateCase(c, "web", options);
  const auto listener = testing::decode<Listener>(out, kListenerType, kDynamicConfigListenerName);
  const HttpConnectionManager hcm = hcmOf(listener);
  const auto& routes = hcm.route_config().virtual_hosts(0).routes();
  ASSERT_EQ(routes.size(), 4);
  EXPECT_EQ(routes[1].name(), "_kuma:dynamicconfig:/dns");
  EXPECT_EQ(routes[3].name(), "_kuma:dynamicconfig:/meshmetric");
  const auto max = hcm.route_config().max_direct_response_body_size_bytes().value();
  EXPECT_EQ(max, std::max(routes[1].direct_response().body().inline_string().size(),
                          routes[3].direct_response().body().inline_string().size()));
}

const std::vector<std::string> kMeshAndWeb = {"type: Mesh\nname: default\n",
                                              R"(type: Dataplane
mesh: default
name: web
labels:
  kuma.io/workload: web-wl
  kuma.io/zone: east
networking:
  address: 10.0.0.1
  inbound:
    - port: 8080
      servicePort: 8081
      tags:
        kuma.io/service: web
        version: "<v1>"
)"};

TEST(MeshMetricXds, NoBackendsNoResources) {
  std::vector<std::string> yamls = kMeshAndWeb;
  yamls.push_back(R"(type: MeshMetric
mesh: default
name: m
spec:
  targetRef:
    kind: Mesh
  default:
    applications:
      - port: 9000
)");
  const GeneratedResources out = testing::generateFromYamls(yamls, "web", kumaDpOptions());
  for (const std::string& name : testing::namesOf(out, kListenerType)) {
    EXPECT_EQ(name.find("_kuma:"), std::string::npos) << name;
  }
}

TEST(MeshMetricXds, WorkloadLabelsAndGoEscaping) {
  std::vector<std::string> yamls = kMeshAndWeb;
  yamls.push_back(R"(type: MeshMetric
mesh: default
name: m
spec:
  targetRef:
    kind: Mesh
  default:
    backends:
      - type: Prometheus
        prometheus: {}
)");
  const GeneratedResources out = testing::generateFromYamls(yamls, "web", kumaDpOptions());
  const auto prometheus =
      testing::decode<Listener>(out, kListenerType, "_kuma:metrics:prometheus:default-backend");
  EXPECT_EQ(prometheus.address().socket_address().address(), "10.0.0.1");
  EXPECT_EQ(prometheus.address().socket_address().port_value(), 5670u);
  const HttpConnectionManager hcm = hcmOf(prometheus);
  EXPECT_EQ(hcm.route_config().virtual_hosts(0).routes(0).match().prefix(), "/metrics");
  const auto hijacker = testing::decode<envoy::config::cluster::v3::Cluster>(
      out, kClusterType, "_kuma:metrics:hijacker");
  EXPECT_EQ(
      hijacker.load_assignment().endpoints(0).lb_endpoints(0).endpoint().address().pipe().path(),
      "/tmp/kuma-dp-work/kuma-mh-web-default.sock");
  const auto [body, etag] =
      meshMetricDocument(testing::decode<Listener>(out, kListenerType, kDynamicConfigListenerName));
  // A workload label: kuma.workload and no `service`; tags as Prometheus labels, Go's escaping.
  EXPECT_EQ(body,
            "{\"observability\":{\"metrics\":{\"applications\":null,\"backends\":[{\"type\":"
            "\"Prometheus\",\"name\":null}],\"extraLabels\":{\"dataplane\":\"web\","
            "\"kuma.proxy_role\":\"sidecar\",\"kuma.workload\":\"web-wl\",\"kuma_io_service\":"
            "\"web\",\"kuma_io_services\":\",web,\",\"mesh\":\"default\",\"version\":"
            "\"\\u003cv1\\u003e\",\"versions\":\",\\u003cv1\\u003e,\",\"zone\":\"east\"}}}}");
}

TEST(MeshMetricXds, GoJsonString) {
  using common::goJsonString;
  EXPECT_EQ(goJsonString("a<b>&\"\\\n"), "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\"");
  EXPECT_EQ(goJsonString("\xe2\x80\xa8x\xe2\x80\xa9"), "\"\\u2028x\\u2029\"");
  EXPECT_EQ(goJsonString("\xff"), "\"\xef\xbf\xbd\"");
}

}  // namespace
}  // namespace kuma::xds
