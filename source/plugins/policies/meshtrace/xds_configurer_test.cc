// MeshTrace's xDS plugin, through the generator with the registered plugin table:
// - the conformance cases meshtrace-zipkin, -otel and -datadog generated for their proxy `web`,
//   the HCM `tracing` of every listener and the whole `meshtrace:*` collector cluster compared
//   with Kuma 2.14.3's values, cut out of the oracle's dumps by
//     tools/conformance/extract_golden.py $ORACLE/dumps/meshtrace-<case>.json
//       --hcm-keys tracing --cluster-keys ALL --cluster-prefix meshtrace:
//   into testdata/conformance-meshtrace-<case>.xds.json;
// - a MeshOpenTelemetryBackend referenced by labels (gRPC and http: the HTTP service and its
//   /v1/traces URI), an unresolved backendRef (tracing without a provider, no cluster), a
//   policy without backends, a Dataplane policy of another inbound section, the workload tag.

#include <map>
#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/trace/v3/opentelemetry.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "gtest/gtest.h"
#include "source/plugins/policies/meshtrace/meshtrace.h"
#include "test/plugins/policies/conformance_golden.h"

namespace kuma::xds {
namespace {

using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using nlohmann::json;

// Port numbers written back as Kuma's `<port:LABEL>` placeholders, in strings and numbers.
json normalisePorts(const testing::ConformanceCase& c, const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (const auto& [k, x] : v.items()) {
      out[k] = normalisePorts(c, x);
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& x : v) {
      out.push_back(normalisePorts(c, x));
    }
    return out;
  }
  if (v.is_string()) {
    return c.normalise(v.get<std::string>());
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

std::vector<HttpConnectionManager> hcmsOf(const Listener& listener) {
  std::vector<HttpConnectionManager> out;
  for (const auto& chain : listener.filter_chains()) {
    for (const auto& filter : chain.filters()) {
      if (filter.name() == "envoy.filters.network.http_connection_manager") {
        HttpConnectionManager hcm;
        EXPECT_TRUE(filter.typed_config().UnpackTo(&hcm));
        out.push_back(hcm);
      }
    }
  }
  return out;
}

void expectAsKuma(const std::string& caseName) {
  SCOPED_TRACE(caseName);
  const testing::ConformanceCase c = testing::loadConformanceCase(caseName);
  const GeneratedResources out = c.generate("web");
  const json golden =
      testing::readJson(testing::sourceRoot() / "source/plugins/policies/meshtrace/testdata" /
                        ("conformance-" + caseName + ".xds.json"));
  // Every listener with an HTTP connection manager: the same `tracing` (or none) per chain.
  std::map<std::string, json> ours;
  for (const std::string& name : testing::namesOf(out, kListenerType)) {
    const auto hcms = hcmsOf(testing::decode<Listener>(out, kListenerType, name));
    if (hcms.empty()) {
      continue;
    }
    json chains = json::array();
    for (const auto& hcm : hcms) {
      json entry = json::object();
      if (hcm.has_tracing()) {
        entry["tracing"] = normalisePorts(c, testing::protoJson(hcm)["tracing"]);
      }
      chains.push_back(entry);
    }
    ours[c.normalise(name)] = chains;
  }
  ASSERT_TRUE(golden.contains("hcm"));
  EXPECT_EQ(json(ours), golden["hcm"]);
  // The collector cluster, whole.
  ASSERT_EQ(golden["clusters"].size(), 1u);
  for (const auto& [name, fields] : golden["clusters"].items()) {
    const json actual =
        normalisePorts(c, testing::protoJson(testing::decode<envoy::config::cluster::v3::Cluster>(
                              out, kClusterType, name)));
    EXPECT_EQ(actual, fields) << name;
  }
}

TEST(MeshTraceXds, ZipkinAsKuma) {
  expectAsKuma("meshtrace-zipkin");
}

TEST(MeshTraceXds, OpenTelemetryEndpointAsKuma) {
  expectAsKuma("meshtrace-otel");
}

TEST(MeshTraceXds, DatadogSplitServiceAsKuma) {
  expectAsKuma("meshtrace-datadog");
}

// A small mesh: web (HTTP inbound, outbound to backend) and backend, plus `extra` resources.
GeneratedResources generateWeb(const std::vector<std::string>& extra,
                               const std::string& webLabels = "") {
  std::vector<std::string> yamls = {testing::meshYaml()};
  std::string web = testing::dataplaneYaml("web", "127.0.0.1", R"(  inbound:
  - {port: 8080, servicePort: 18080, name: main, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  - {port: 8081, servicePort: 18081, name: admin, tags: {kuma.io/service: web-admin, kuma.io/protocol: http}}
  outbound:
  - {port: 10001, tags: {kuma.io/service: backend}}
)");
  if (!webLabels.empty()) {
    web = std::string("labels: ") + webLabels + "\n" + web;
  }
  yamls.push_back(web);
  yamls.push_back(testing::dataplaneYaml("backend-1", "127.0.0.2", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http}}
)"));
  yamls.insert(yamls.end(), extra.begin(), extra.end());
  ProxyOptions options;
  options.zone = "zone-1";
  return testing::generateFromYamls(yamls, "web", options);
}

HttpConnectionManager hcmOf(const GeneratedResources& out, const std::string& listener) {
  const auto hcms = hcmsOf(testing::decode<Listener>(out, kListenerType, listener));
  EXPECT_FALSE(hcms.empty()) << listener;
  return hcms.empty() ? HttpConnectionManager() : hcms.front();
}

const char kOtelRef[] = R"(type: MeshTrace
mesh: default
name: trace
spec:
  default:
    backends:
    - type: OpenTelemetry
      openTelemetry:
        backendRef: {kind: MeshOpenTelemetryBackend, labels: {observability: otel}}
)";

TEST(MeshTraceXds, BackendRefToAnHttpMeshOpenTelemetryBackend) {
  const GeneratedResources out = generateWeb({kOtelRef, R"(type: MeshOpenTelemetryBackend
mesh: default
name: collector
labels: {observability: otel}
spec:
  endpoint: {address: otel.local, port: 4318, path: /otlp/}
  protocol: http
)"});
  const HttpConnectionManager hcm = hcmOf(out, "outbound:127.0.0.1:10001");
  ASSERT_TRUE(hcm.has_tracing());
  envoy::config::trace::v3::OpenTelemetryConfig otel;
  ASSERT_TRUE(hcm.tracing().provider().typed_config().UnpackTo(&otel));
  EXPECT_EQ(otel.service_name(), "web");
  EXPECT_FALSE(otel.has_grpc_service());
  EXPECT_EQ(otel.http_service().http_uri().uri(), "http://otel.local:4318/otlp/v1/traces");
  EXPECT_EQ(otel.http_service().http_uri().cluster(), "meshtrace:opentelemetry");
  EXPECT_EQ(otel.http_service().http_uri().timeout().seconds(), 10);
  const auto cluster = testing::decode<envoy::config::cluster::v3::Cluster>(
      out, kClusterType, "meshtrace:opentelemetry");
  EXPECT_EQ(cluster.type(), envoy::config::cluster::v3::Cluster::STRICT_DNS);
  EXPECT_EQ(cluster.load_assignment()
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .port_value(),
            4318u);
  EXPECT_TRUE(cluster.typed_extension_protocol_options().empty());  // HTTP/1.1, not gRPC
  // kuma.mesh and kuma.zone follow the policy's tags.
  ASSERT_EQ(hcm.tracing().custom_tags_size(), 2);
  EXPECT_EQ(hcm.tracing().custom_tags(0).tag(), "kuma.mesh");
  EXPECT_EQ(hcm.tracing().custom_tags(1).tag(), "kuma.zone");
  EXPECT_EQ(hcm.tracing().custom_tags(1).literal().value(), "zone-1");
}

TEST(MeshTraceXds, BackendRefToAGrpcBackendDefaultsItsPort) {
  const GeneratedResources out = generateWeb({kOtelRef, R"(type: MeshOpenTelemetryBackend
mesh: default
name: collector
labels: {observability: otel}
spec: {endpoint: {address: 10.1.2.3}}
)"});
  const auto cluster = testing::decode<envoy::config::cluster::v3::Cluster>(
      out, kClusterType, "meshtrace:opentelemetry");
  EXPECT_EQ(cluster.type(), envoy::config::cluster::v3::Cluster::STATIC);
  EXPECT_EQ(cluster.load_assignment()
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .port_value(),
            4317u);
  EXPECT_EQ(cluster.typed_extension_protocol_options().size(), 1u);  // HTTP/2
  envoy::config::trace::v3::OpenTelemetryConfig otel;
  ASSERT_TRUE(
      hcmOf(out, "inbound:127.0.0.1:8080").tracing().provider().typed_config().UnpackTo(&otel));
  EXPECT_EQ(otel.grpc_service().envoy_grpc().cluster_name(), "meshtrace:opentelemetry");
}

TEST(MeshTraceXds, UnresolvedBackendRefTracesWithoutProviderOrCluster) {
  const GeneratedResources out = generateWeb({kOtelRef});
  const HttpConnectionManager hcm = hcmOf(out, "inbound:127.0.0.1:8080");
  ASSERT_TRUE(hcm.has_tracing());
  EXPECT_FALSE(hcm.tracing().has_provider());
  EXPECT_EQ(out.find(kClusterType, "meshtrace:opentelemetry"), nullptr);
}

TEST(MeshTraceXds, NoPolicyOrNoBackendLeavesTheListenersAlone) {
  for (const auto& extra : std::vector<std::vector<std::string>>{{}, {R"(type: MeshTrace
mesh: default
name: trace
spec:
  default: {backends: []}
)"}}) {
    const GeneratedResources out = generateWeb(extra);
    EXPECT_FALSE(hcmOf(out, "inbound:127.0.0.1:8080").has_tracing());
    EXPECT_FALSE(hcmOf(out, "outbound:127.0.0.1:10001").has_tracing());
    for (const std::string& name : testing::namesOf(out, kClusterType)) {
      EXPECT_EQ(name.rfind("meshtrace:", 0), std::string::npos) << name;
    }
  }
}

TEST(MeshTraceXds, DataplaneSectionNameScopesTheInbounds) {
  const GeneratedResources out = generateWeb({R"(type: MeshTrace
mesh: default
name: trace
spec:
  targetRef: {kind: Dataplane, name: web, sectionName: admin}
  default:
    backends:
    - type: Zipkin
      zipkin: {url: "http://127.0.0.1:9411/api/v2/spans"}
)"},
                                             "{kuma.io/workload: web-wl}");
  EXPECT_FALSE(hcmOf(out, "inbound:127.0.0.1:8080").has_tracing());
  const HttpConnectionManager admin = hcmOf(out, "inbound:127.0.0.1:8081");
  ASSERT_TRUE(admin.has_tracing());
  // Outbounds get the proxy's conf; the service name is the first of the sorted services.
  EXPECT_TRUE(hcmOf(out, "outbound:127.0.0.1:10001").has_tracing());
  ASSERT_EQ(admin.tracing().custom_tags_size(), 3);
  EXPECT_EQ(admin.tracing().custom_tags(2).tag(), "kuma.workload");
  EXPECT_EQ(admin.tracing().custom_tags(2).literal().value(), "kri_wl_default_zone-1__web-wl_");
}

TEST(MeshTraceUrl, ParseRequestUriAsGo) {
  using policies::meshtrace::parseRequestUri;
  auto u = parseRequestUri("http://user@zipkin:9411/api/v2/spans?x=1");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->scheme, "http");
  EXPECT_TRUE(u->hasUser);
  EXPECT_EQ(u->host, "zipkin:9411");
  EXPECT_EQ(u->hostname, "zipkin");
  EXPECT_EQ(u->port, "9411");
  EXPECT_EQ(u->path, "/api/v2/spans");
  EXPECT_EQ(u->rawQuery, "x=1");
  EXPECT_FALSE(parseRequestUri("not a url").has_value());
  EXPECT_FALSE(parseRequestUri("http://h:port/").has_value());
  EXPECT_EQ(parseRequestUri("dd:8126")->opaque, "8126");
  EXPECT_EQ(parseRequestUri("http://[::1]:9411")->hostname, "::1");
}

}  // namespace
}  // namespace kuma::xds
