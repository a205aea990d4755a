// The legacy TrafficTrace (source/plugins/policies/traffictrace/xds_configurer.h): selection,
// the HCM tracing of web's inbound and (legacy path) outbound listeners, the collector cluster.
// Expected values are Kuma 2.14.3's, read from its Envoy config dumps of the conformance cases
// legacy-traffictrace and legacy-traffictrace-zipkin (tools/conformance/cases/).

#include "gtest/gtest.h"
#include "source/plugins/policies/traffictrace/xds_configurer.h"
#include "test/xds/generator/legacy_fixtures.h"

namespace kuma::xds {
namespace {

const std::string kListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener";
const std::string kClusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

const char kTracingMesh[] = R"(type: Mesh
name: default
skipCreatingInitialPolicies: ["*"]
tracing:
  defaultBackend: zipkin-1
  backends:
  - name: zipkin-1
    type: zipkin
    sampling: 80.5
    conf: {url: "http://127.0.0.1:9411/api/v2/spans", traceId128bit: true}
  - name: datadog-1
    type: datadog
    conf: {address: 127.0.0.1, port: 8126, splitService: true}
)";

const char kTtAll[] = R"(type: TrafficTrace
mesh: default
name: tt-all
selectors: [{match: {kuma.io/service: "*"}}]
)";

const char kTtWeb[] = R"(type: TrafficTrace
mesh: default
name: tt-web
selectors: [{match: {kuma.io/service: web, kuma.io/protocol: http}}]
conf: {backend: datadog-1}
)";

nlohmann::json tracingOf(const GeneratedResources& out, const std::string& listener) {
  const nlohmann::json l = testing::resourceJson(out, kListenerType, listener);
  return l["filterChains"][0]["filters"].back()["typedConfig"].value("tracing", nlohmann::json());
}

TEST(LegacyTrafficTrace, TheMeshDefaultZipkinBackendOnInboundAndLegacyOutbound) {
  const GeneratedResources out = testing::legacy::generateWeb({kTracingMesh, kTtAll});
  const nlohmann::json expected = nlohmann::json::parse(R"({
    "provider": {"name": "envoy.tracers.zipkin", "typedConfig": {
      "@type": "type.googleapis.com/envoy.config.trace.v3.ZipkinConfig",
      "collectorCluster": "tracing:zipkin-1", "collectorEndpoint": "/api/v2/spans",
      "traceId128bit": true, "collectorEndpointVersion": "HTTP_JSON",
      "collectorHostname": "127.0.0.1:9411"}},
    "overallSampling": {"value": 80.5}, "spawnUpstreamSpan": false})");
  EXPECT_EQ(tracingOf(out, "inbound:127.0.0.1:8080"), expected);
  EXPECT_EQ(tracingOf(out, "outbound:127.0.0.1:10001"), expected);
  const nlohmann::json cluster = testing::resourceJson(out, kClusterType, "tracing:zipkin-1");
  EXPECT_EQ(cluster["type"], "STATIC");
  EXPECT_EQ(cluster["connectTimeout"], "5s");
  EXPECT_EQ(cluster["altStatName"], "tracing_zipkin-1");
  EXPECT_EQ(cluster["loadAssignment"]["endpoints"][0]["lbEndpoints"][0]["endpoint"]["address"]
                   ["socketAddress"],
            nlohmann::json::parse(R"({"address": "127.0.0.1", "portValue": 9411})"));
}

TEST(LegacyTrafficTrace, TheMostSpecificSelectorWinsDatadogSplitService) {
  const GeneratedResources out = testing::legacy::generateWeb({kTracingMesh, kTtAll, kTtWeb});
  EXPECT_EQ(tracingOf(out, "inbound:127.0.0.1:8080")["provider"]["typedConfig"],
            nlohmann::json::parse(R"({
    "@type": "type.googleapis.com/envoy.config.trace.v3.DatadogConfig",
    "collectorCluster": "tracing:datadog-1", "serviceName": "web_INBOUND"})"));
  EXPECT_EQ(tracingOf(out, "outbound:127.0.0.1:10001")["provider"]["typedConfig"]["serviceName"],
            "web_OUTBOUND_backend");
  EXPECT_FALSE(tracingOf(out, "inbound:127.0.0.1:8080").contains("overallSampling"));
  EXPECT_EQ(testing::resourceJson(out, kClusterType, "tracing:datadog-1")["type"], "STATIC");
}

TEST(LegacyTrafficTrace, OutboundsOnlyOnTheLegacyPathAndUnknownBackendsIgnored) {
  const GeneratedResources plain = testing::legacy::generateWeb({kTracingMesh, kTtAll}, false);
  EXPECT_FALSE(tracingOf(plain, "inbound:127.0.0.1:8080").is_null());
  EXPECT_TRUE(tracingOf(plain, "outbound:127.0.0.1:10001").is_null());
  std::string unknown = kTtWeb;
  unknown.replace(unknown.find("datadog-1"), 9, "nope");
  const GeneratedResources out = testing::legacy::generateWeb({kTracingMesh, unknown});
  EXPECT_TRUE(tracingOf(out, "inbound:127.0.0.1:8080").is_null());
}

}  // namespace
}  // namespace kuma::xds
