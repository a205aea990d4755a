// The legacy TrafficLog (source/plugins/policies/trafficlog/xds_configurer.h): selection, the
// access logs of web's legacy-path outbounds and of the transparent proxy's passthrough. Expected
// values are Kuma 2.14.3's, read from its Envoy config dumps of the conformance cases
// legacy-trafficlog and legacy-trafficlog-passthrough (tools/conformance/cases/).

#include "gtest/gtest.h"
#include "source/plugins/policies/trafficlog/xds_configurer.h"
#include "test/test_common/golden.h"
#include "test/xds/generator/legacy_fixtures.h"

namespace kuma::xds {
namespace {

const std::string kListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener";

const char kLoggingMesh[] = R"(type: Mesh
name: default
skipCreatingInitialPolicies: ["*"]
logging:
  defaultBackend: file
  backends:
  - name: file
    type: file
    conf: {path: /dev/stdout}
  - name: tcp
    type: tcp
    format: '%KUMA_SOURCE_SERVICE%->%KUMA_DESTINATION_SERVICE% %KUMA_MESH% %KUMA_TRAFFIC_DIRECTION% "%KUMA_SOURCE_ADDRESS%" %KUMA_SOURCE_ADDRESS_WITHOUT_PORT% %RESPONSE_CODE%'
    conf: {address: "127.0.0.1:5170"}
)";

const char kTlAll[] = R"(type: TrafficLog
mesh: default
name: tl-all
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: "*"}}]
)";

const char kTlBackend[] = R"(type: TrafficLog
mesh: default
name: tl-backend
sources: [{match: {kuma.io/service: web}}]
destinations: [{match: {kuma.io/service: backend}}]
conf: {backend: tcp}
)";

const char kTlDbUnknown[] = R"(type: TrafficLog
mesh: default
name: tl-db
sources: [{match: {kuma.io/service: web}}]
destinations: [{match: {kuma.io/service: db}}]
conf: {backend: unknown}
)";

// The access logs of the listener's only filter (HCM or tcp_proxy).
nlohmann::json accessLogsOf(const GeneratedResources& out, const std::string& listener) {
  const nlohmann::json l = testing::resourceJson(out, kListenerType, listener);
  return l["filterChains"][0]["filters"].back()["typedConfig"].value("accessLog", nlohmann::json());
}

ProxyOptions withWorkdir() {
  ProxyOptions options;
  options.workdir = "/work/dp";
  return options;
}

GeneratedResources generateWeb(std::vector<std::string> policies, bool routeAll = true) {
  if (routeAll) {
    policies.push_back(testing::legacy::kRouteAll);
  }
  for (auto& p : testing::legacy::peers()) {
    policies.push_back(std::move(p));
  }
  return testing::generateFromYamls(policies, "web", withWorkdir());
}

TEST(LegacyTrafficLog, LegacyOutboundsLogToTheSelectedBackendAsKuma) {
  const GeneratedResources out = generateWeb({kLoggingMesh, kTlAll, kTlBackend});
  // backend (http): tl-backend's tcp backend with its own format, through kuma-dp's socket.
  EXPECT_EQ(accessLogsOf(out, "outbound:127.0.0.1:10001"), nlohmann::json::parse(R"([{
    "name": "envoy.access_loggers.file",
    "typedConfig": {
      "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
      "path": "/work/dp/kuma-al-web-default.sock",
      "logFormat": {"textFormatSource": {"inlineString":
        "127.0.0.1:5170;web->backend default OUTBOUND \"127.0.0.1:0\" 127.0.0.1 %RESPONSE_CODE%\n"}}}}])"));
  // db (tcp): tl-all's default file backend, Kuma's network format.
  EXPECT_EQ(accessLogsOf(out, "outbound:127.0.0.1:10002"), nlohmann::json::parse(R"([{
    "name": "envoy.access_loggers.file",
    "typedConfig": {
      "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
      "path": "/dev/stdout",
      "logFormat": {"textFormatSource": {"inlineString":
        "[%START_TIME%] %RESPONSE_FLAGS% default 127.0.0.1(web)->%UPSTREAM_HOST%(db) took %DURATION%ms, sent %BYTES_SENT% bytes, received: %BYTES_RECEIVED% bytes\n"}}}}])"));
  // Inbounds log nothing.
  EXPECT_TRUE(accessLogsOf(out, "inbound:127.0.0.1:8080").is_null());
  testing::expectResourceGolden(out, kListenerType, "outbound:127.0.0.1:10001",
                                test::sourcePath("source/plugins/policies/trafficlog/testdata") /
                                    "xds-outbound-http.golden.json");
}

TEST(LegacyTrafficLog, DefaultHttpFormatAndUnknownBackend) {
  const GeneratedResources out = generateWeb({kLoggingMesh, kTlAll, kTlDbUnknown});
  const nlohmann::json logs = accessLogsOf(out, "outbound:127.0.0.1:10001");
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0]["typedConfig"]["logFormat"]["textFormatSource"]["inlineString"],
            "[%START_TIME%] default \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% "
            "%PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% "
            "%DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" "
            "\"%REQ(USER-AGENT)%\" \"%REQ(X-B3-TRACEID?X-DATADOG-TRACEID)%\" "
            "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"web\" \"backend\" \"127.0.0.1\" "
            "\"%UPSTREAM_HOST%\"\n");
  // tl-db is the most specific for db but names no backend of the Mesh: no log (as Kuma).
  EXPECT_TRUE(accessLogsOf(out, "outbound:127.0.0.1:10002").is_null());
}

TEST(LegacyTrafficLog, OnlyOnTheLegacyPath) {
  const GeneratedResources out = generateWeb({kLoggingMesh, kTlAll}, false);
  EXPECT_TRUE(accessLogsOf(out, "outbound:127.0.0.1:10001").is_null());
  EXPECT_TRUE(accessLogsOf(out, "outbound:127.0.0.1:10002").is_null());
}

TEST(LegacyTrafficLog, TransparentProxyPassthroughLogsAlways) {
  const char kTlPassthrough[] = R"(type: TrafficLog
mesh: default
name: tl-passthrough
sources: [{match: {kuma.io/service: web}}]
destinations: [{match: {kuma.io/service: "*"}}]
conf: {backend: tcp}
)";
  const char kLoggingMeshDefaultFormat[] = R"(type: Mesh
name: default
logging:
  backends:
  - name: tcp
    type: tcp
    conf: {address: "127.0.0.1:5170"}
)";
  std::vector<std::string> yamls = {kLoggingMeshDefaultFormat, kTlPassthrough,
                                    testing::dataplaneYaml("web", "127.0.0.1", R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  transparentProxying:
    redirectPortInbound: 15006
    redirectPortOutbound: 15001
    ipFamilyMode: DualStack
)")};
  const GeneratedResources out = testing::generateFromYamls(yamls, "web", withWorkdir());
  const nlohmann::json expected = nlohmann::json::parse(R"([{
    "name": "envoy.access_loggers.file",
    "typedConfig": {
      "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
      "path": "/work/dp/kuma-al-web-default.sock",
      "logFormat": {"textFormatSource": {"inlineString":
        "127.0.0.1:5170;[%START_TIME%] %RESPONSE_FLAGS% default 127.0.0.1(web)->%UPSTREAM_HOST%(external) took %DURATION%ms, sent %BYTES_SENT% bytes, received: %BYTES_RECEIVED% bytes\n"}}}}])");
  EXPECT_EQ(accessLogsOf(out, "outbound:passthrough:ipv4"), expected);
  EXPECT_EQ(accessLogsOf(out, "outbound:passthrough:ipv6"), expected);
}

TEST(LegacyTrafficLog, BackendSelection) {
  mesh::v1alpha1::Mesh mesh;
  mesh.mutable_logging()->set_default_backend("b");
  auto* a = mesh.mutable_logging()->add_backends();
  a->set_name("a");
  auto* b = mesh.mutable_logging()->add_backends();
  b->set_name("b");
  EXPECT_EQ(policies::trafficlog::loggingBackend(mesh, ""), b);
  EXPECT_EQ(policies::trafficlog::loggingBackend(mesh, "a"), a);
  EXPECT_EQ(policies::trafficlog::loggingBackend(mesh, "c"), nullptr);
  a->set_type("otel");
  EXPECT_FALSE(policies::trafficlog::accessLogOf(*a, "x", {}, "/s").has_value());
}

}  // namespace
}  // namespace kuma::xds
