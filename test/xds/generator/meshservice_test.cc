// MeshService outbounds (meshservice_outbounds.h): the listeners, clusters, endpoints and DNS
// names a proxy gets for the mesh's MeshServices, checked against what Kuma 2.14.3 generated for
// the same resources (conformance cases meshservice-exclusive and meshservice-mtls, docs/
// conformance.md), with a golden of the whole output.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "source/common/json_yaml.h"
#include "source/xds/generator/meshservice_outbounds.h"
#include "source/plugins/services/register.h"
#include "test/test_common/golden.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;

constexpr char kListener[] = "type.googleapis.com/envoy.config.listener.v3.Listener";
constexpr char kCluster[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
constexpr char kEndpoints[] = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

const model::TypeRegistry& serviceRegistry() {
  static const model::TypeRegistry* r = [] {
    auto* reg = new model::TypeRegistry();
    services::registerServiceTypes(*reg);
    return reg;
  }();
  return *r;
}

// A MeshService (or `type`) as the controllers leave it: spec and status (REST would drop the
// status).
model::ResourceConstSharedPtr meshService(const std::string& yaml,
                                          const std::string& type = "MeshService") {
  auto object = common::parseYaml(yaml);
  EXPECT_TRUE(object.ok()) << object.status();
  const model::ResourceTypeDescriptor* d = serviceRegistry().byName(type);
  auto spec = d->parseSpec(*object);
  EXPECT_TRUE(spec.ok()) << spec.status();
  auto r = std::make_shared<model::Resource>();
  r->descriptor = d;
  r->meta.name = object->value("name", "");
  r->meta.mesh = "default";
  r->meta.labels = {{"kuma.io/origin", "zone"},
                    {"kuma.io/zone", "default"},
                    {"kuma.io/display-name", r->meta.name}};
  if (type == "MeshMultiZoneService") {  // created on the global control plane
    r->meta.labels = {{"kuma.io/origin", "global"}, {"kuma.io/display-name", r->meta.name}};
  }
  r->spec = spec.ok() ? *spec : nullptr;
  return r;
}

std::string backendService(const std::string& name, int port, const std::string& protocol,
                           const std::string& vip) {
  return "name: " + name +
         "\nspec:\n  selector:\n    dataplaneTags:\n      kuma.io/service: " + name +
         "\n  ports:\n  - {name: \"" + std::to_string(port) + "\", port: " + std::to_string(port) +
         ", targetPort: " + std::to_string(port) + ", appProtocol: " + protocol +
         "}\nstatus:\n  vips:\n  - ip: " + vip + "\n  addresses:\n  - {hostname: " + name +
         ".svc.mesh.local, origin: HostnameGenerator, hostnameGeneratorRef: {coreName: "
         "local-universal-mesh-service}}\n";
}

MeshResources meshServiceMesh(const std::string& meshExtra, const std::string& proxy) {
  std::vector<std::string> yamls = testing::defaultPolicyYamls();
  yamls.push_back(R"(type: Dataplane
mesh: default
name: backend-1
networking:
  address: 10.0.0.2
  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: backend, kuma.io/protocol: http}}
)");
  yamls.push_back(R"(type: Dataplane
mesh: default
name: db-1
networking:
  address: 10.0.0.3
  inbound:
  - {port: 5432, tags: {kuma.io/service: db, kuma.io/protocol: tcp}}
)");
  yamls.push_back(proxy);
  MeshResources resources = testing::meshResources(yamls);
  resources.mesh =
      testing::parse("type: Mesh\nname: default\nmeshServices:\n  mode: Exclusive\n" + meshExtra);
  resources.policies["MeshService"] = {
      meshService(backendService("backend", 8080, "http", "241.0.0.0")),
      meshService(backendService("db", 5432, "tcp", "241.0.0.1"))};
  return resources;
}

const char kTransparentWeb[] = R"(type: Dataplane
mesh: default
name: web-1
networking:
  address: 10.0.0.1
  inbound:
  - {port: 9000, servicePort: 19000, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  transparentProxying:
    redirectPortInbound: 15006
    redirectPortOutbound: 15001
    ipFamilyMode: IPv4
)";

GeneratedResources generateWeb(MeshResources resources, ProxyOptions options = {}) {
  auto ctx = MeshContext::build(std::move(resources));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  if (!ctx.ok()) {
    return {};
  }
  return testing::generateProxy(**ctx, "web-1", std::move(options));
}

TEST(MeshServiceOutbounds, KumasNamesForEveryVipAndPort) {
  ProxyOptions options;
  options.dnsPort = 15053;
  options.embeddedDns = true;
  options.workDir = "/tmp/kuma-dp-web-1";
  GeneratedResources out = generateWeb(meshServiceMesh("", kTransparentWeb), options);
  std::vector<std::string> listeners = testing::namesOf(out, kListener);
  EXPECT_THAT(listeners,
              ::testing::IsSupersetOf({"outbound:241.0.0.0:8080", "outbound:241.0.0.1:5432"}));
  // No legacy VIP outbounds in Exclusive mode.
  for (const std::string& name : listeners) {
    EXPECT_FALSE(absl::StartsWith(name, "outbound:240.")) << name;
  }
  json http = testing::resourceJson(out, kListener, "outbound:241.0.0.0:8080");
  EXPECT_EQ(http["bindToPort"], false);
  EXPECT_EQ(http["metadata"]["filterMetadata"]["io.kuma.tags"],
            json({{"kuma.io/unified-name", "kri_msvc_default_default__backend_8080"}}));
  const json& hcm = http["filterChains"][0]["filters"][0]["typedConfig"];
  EXPECT_EQ(hcm["statPrefix"], "default_backend__default_msvc_8080");
  EXPECT_EQ(hcm["routeConfig"]["name"], "kri_msvc_default_default__backend_8080");
  EXPECT_EQ(hcm["routeConfig"]["virtualHosts"][0]["name"], "default_backend__default_msvc_8080");
  EXPECT_EQ(hcm["routeConfig"]["virtualHosts"][0]["routes"][0]["route"]["cluster"],
            "default_backend__default_msvc_8080");
  json tcp = testing::resourceJson(out, kListener, "outbound:241.0.0.1:5432");
  EXPECT_EQ(tcp["filterChains"][0]["filters"][0]["typedConfig"]["statPrefix"],
            "default_db__default_msvc_5432");
  json cla = testing::resourceJson(out, kEndpoints, "default_backend__default_msvc_8080");
  ASSERT_EQ(cla["endpoints"].size(), 1u);
  EXPECT_EQ(cla["endpoints"][0]["lbEndpoints"][0]["endpoint"]["address"]["socketAddress"],
            json::parse(R"({"address": "10.0.0.2", "portValue": 8080})"));
  // kuma-dp's DNS map: the HostnameGenerator names of the outbounds' VIPs.
  json dynconf = testing::resourceJson(out, kListener, "_kuma:dynamicconfig");
  const std::string map = dynconf.dump();
  EXPECT_THAT(
      map, ::testing::HasSubstr(R"(\"name\":\"backend.svc.mesh.local\",\"ips\":[\"241.0.0.0\"])"));
  EXPECT_THAT(map,
              ::testing::HasSubstr(R"(\"name\":\"db.svc.mesh.local\",\"ips\":[\"241.0.0.1\"])"));
  test::expectGoldenText(
      test::sourcePath("test/xds/generator/testdata") / "meshservice_exclusive.golden.json",
      testing::toJson(out).dump(2) + "\n");
}

TEST(MeshServiceOutbounds, ReachableBackendsSelectAndReachableServicesExclude) {
  std::string onlyDb = kTransparentWeb;
  onlyDb += "    reachableBackends:\n      refs:\n      - {kind: MeshService, name: db}\n";
  EXPECT_THAT(testing::namesOf(generateWeb(meshServiceMesh("", onlyDb)), kCluster),
              ::testing::Contains("default_db__default_msvc_5432"));
  EXPECT_THAT(testing::namesOf(generateWeb(meshServiceMesh("", onlyDb)), kCluster),
              ::testing::Not(::testing::Contains("default_backend__default_msvc_8080")));
  std::string legacyOnly = kTransparentWeb;
  legacyOnly += "    reachableServices: [backend]\n";
  EXPECT_THAT(testing::namesOf(generateWeb(meshServiceMesh("", legacyOnly)), kCluster),
              ::testing::Not(::testing::Contains("default_backend__default_msvc_8080")));
}

// Kuma 2.14.3's SNI of a MeshService port under mTLS (tls.SNIForResource).
TEST(MeshServiceOutbounds, SniAndBackendRefOutbounds) {
  // Kuma's values (its port was another one; the hash does not cover the port).
  EXPECT_EQ(meshServiceSni("backend", "default", 8080),
            "a601e0c00295a9fbe.backend.8080.default.ms");
  EXPECT_EQ(meshServiceSni("db", "default", 5432), "ac9958bc5b99c273a.db.5432.default.ms");
  EXPECT_EQ(meshServiceSni(std::string(70, 'n'), "m", 1),
            absl::StrCat(meshServiceSni(std::string(70, 'n'), "m", 1).substr(0, 17), ".",
                         std::string(62, 'n'), "x.1.m.ms"));
  const std::string sidecar = R"(type: Dataplane
mesh: default
name: web-1
networking:
  address: 10.0.0.1
  inbound:
  - {port: 9000, servicePort: 19000, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  outbound:
  - port: 10001
    backendRef: {kind: MeshService, name: backend, port: 8080}
  - port: 10002
    backendRef: {kind: MeshService, name: nothing, port: 80}
)";
  GeneratedResources out = generateWeb(meshServiceMesh(
      "mtls:\n  enabledBackend: ca-1\n  backends:\n  - {name: ca-1, type: builtin}\n", sidecar));
  EXPECT_THAT(testing::namesOf(out, kListener), ::testing::Contains("outbound:127.0.0.1:10001"));
  EXPECT_THAT(testing::namesOf(out, kListener),
              ::testing::Not(::testing::Contains("outbound:127.0.0.1:10002")));
  json cluster = testing::resourceJson(out, kCluster, "default_backend__default_msvc_8080");
  EXPECT_EQ(cluster["transportSocket"]["typedConfig"]["sni"],
            meshServiceSni("backend", "default", 8080));
}

// What the controllers rewrite as proxies come and go (proxy counters, TLS readiness) does not
// change the mesh context's hash: no proxy regenerates for it. VIPs and hostnames do.
TEST(MeshServiceOutbounds, OnlyWhatXdsReadsOfAStatusIsHashed) {
  const auto hashesWith = [](const std::string& statusExtra, const std::string& vip) {
    MeshResources resources = meshServiceMesh("", kTransparentWeb);
    resources.policies["MeshService"] = {
        meshService(backendService("backend", 8080, "http", vip) + statusExtra)};
    auto ctx = MeshContext::build(std::move(resources));
    EXPECT_TRUE(ctx.ok()) << ctx.status();
    return ctx.ok() ? std::make_pair((*ctx)->baseHash(), (*ctx)->hash())
                    : std::make_pair(uint64_t{0}, uint64_t{0});
  };
  const auto plain = hashesWith("", "241.0.0.0");
  EXPECT_EQ(plain, hashesWith("  dataplaneProxies: {connected: 2, healthy: 2, total: 3}\n"
                              "  tls: {status: Ready}\n",
                              "241.0.0.0"));
  EXPECT_NE(plain.first, hashesWith("", "241.0.0.9").first);
}

// A MeshExternalService gets Kuma's names, SNI and host rewrite; its endpoints would be the
// zone's ZoneEgress instances, so without one its cluster has none (as Kuma 2.14.3 generates).
TEST(MeshServiceOutbounds, MeshExternalServiceThroughTheEgressPath) {
  MeshResources resources = meshServiceMesh(
      "mtls:\n  enabledBackend: ca-1\n  backends:\n  - {name: ca-1, type: builtin}\n",
      kTransparentWeb);
  resources.policies["MeshExternalService"] = {meshService(R"(name: httpbin
spec:
  match: {type: HostnameGenerator, port: 80, protocol: http}
  endpoints:
  - {address: httpbin.org, port: 443}
  tls: {enabled: true}
status:
  vip: {ip: 242.0.0.0}
  addresses:
  - {hostname: httpbin.extsvc.mesh.local, origin: HostnameGenerator}
)",
                                                           "MeshExternalService")};
  ProxyOptions options;
  options.dnsPort = 15053;
  options.embeddedDns = true;
  options.workDir = "/tmp/kuma-dp-web-1";
  GeneratedResources out = generateWeb(std::move(resources), options);
  json listener = testing::resourceJson(out, kListener, "outbound:242.0.0.0:80");
  EXPECT_EQ(listener["metadata"]["filterMetadata"]["io.kuma.tags"],
            json({{"kuma.io/unified-name", "kri_extsvc_default_default__httpbin_80"}}));
  const json& hcm = listener["filterChains"][0]["filters"][0]["typedConfig"];
  EXPECT_EQ(hcm["statPrefix"], "default_httpbin__default_extsvc_80");
  const json& route = hcm["routeConfig"]["virtualHosts"][0]["routes"][0]["route"];
  EXPECT_EQ(route["cluster"], "default_httpbin__default_extsvc_80");
  EXPECT_EQ(route["autoHostRewrite"], true);
  json cluster = testing::resourceJson(out, kCluster, "default_httpbin__default_extsvc_80");
  EXPECT_EQ(cluster["type"], "EDS");
  // Configured as Kuma configures it without endpoints: HTTP/2 to the egress, and none of the
  // default MeshTimeout's HTTP options (its protocol is unknown at the cluster).
  const json& http = cluster["typedExtensionProtocolOptions"]
                            ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
  EXPECT_TRUE(http["explicitHttpConfig"].contains("http2ProtocolOptions")) << http;
  EXPECT_FALSE(http.contains("commonHttpProtocolOptions")) << http;
  const json& tls = cluster["transportSocket"]["typedConfig"];
  EXPECT_EQ(tls["sni"], meshServiceSni("httpbin", "default", 80, kMeshExternalServiceType));
  EXPECT_TRUE(absl::EndsWith(tls["sni"].get<std::string>(), ".httpbin.80.default.mes"));
  EXPECT_EQ(tls["commonTlsContext"]["combinedValidationContext"]["defaultValidationContext"]
               ["matchTypedSubjectAltNames"],
            json::parse(R"([{"sanType": "URI", "matcher": {"prefix": "spiffe://default/"}}])"));
  json cla = testing::resourceJson(out, kEndpoints, "default_httpbin__default_extsvc_80");
  EXPECT_FALSE(cla.contains("endpoints")) << cla;
  const std::string map = testing::resourceJson(out, kListener, "_kuma:dynamicconfig").dump();
  EXPECT_THAT(map, ::testing::HasSubstr(
                       R"(\"name\":\"httpbin.extsvc.mesh.local\",\"ips\":[\"242.0.0.0\"])"));
}

// A policy whose `to[]` names the MeshExternalService (and its port) applies to its outbound only.
TEST(MeshServiceOutbounds, PoliciesSelectAMeshExternalServiceByKindAndName) {
  MeshResources resources = meshServiceMesh("", kTransparentWeb);
  resources.policies["MeshExternalService"] = {meshService(R"(name: httpbin
spec:
  match: {type: HostnameGenerator, port: 80, protocol: http}
  endpoints:
  - {address: httpbin.org, port: 80}
status:
  vip: {ip: 242.0.0.0}
)",
                                                           "MeshExternalService")};
  resources.policies["MeshTimeout"].push_back(testing::parse(R"(type: MeshTimeout
mesh: default
name: slow-httpbin
spec:
  targetRef: {kind: Mesh}
  to:
  - targetRef: {kind: MeshExternalService, name: httpbin, sectionName: "80"}
    default: {connectionTimeout: 17s}
)"));
  GeneratedResources out = generateWeb(std::move(resources));
  EXPECT_EQ(
      testing::resourceJson(out, kCluster, "default_httpbin__default_extsvc_80")["connectTimeout"],
      "17s");
  EXPECT_NE(
      testing::resourceJson(out, kCluster, "default_backend__default_msvc_8080")["connectTimeout"],
      "17s");
}

// A MeshMultiZoneService: one outbound per VIP and port, the endpoints of the MeshServices its
// status lists (on the port of the same number), and their identities verified.
TEST(MeshServiceOutbounds, MeshMultiZoneServiceAggregatesItsMeshServices) {
  MeshResources resources = meshServiceMesh(
      "mtls:\n  enabledBackend: ca-1\n  backends:\n  - {name: ca-1, type: builtin}\n",
      kTransparentWeb);
  resources.policies["MeshService"] = {
      meshService(absl::StrReplaceAll(
          backendService("backend", 8080, "http", "241.0.0.0"),
          {{"\n  ports:", "\n  identities:\n  - {type: ServiceTag, value: backend}\n  ports:"}})),
      meshService(backendService("db", 5432, "tcp", "241.0.0.1"))};
  resources.policies["MeshMultiZoneService"] = {meshService(R"(name: backend-mz
spec:
  selector:
    meshService:
      matchLabels: {kuma.io/display-name: backend}
  ports:
  - {port: 8080, appProtocol: http}
status:
  vips:
  - ip: 243.0.0.0
  meshServices:
  - {name: backend, mesh: default, namespace: "", zone: default}
  addresses:
  - {hostname: backend-mz.mzsvc.mesh.local, origin: HostnameGenerator}
)",
                                                            "MeshMultiZoneService")};
  GeneratedResources out = generateWeb(std::move(resources));
  json listener = testing::resourceJson(out, kListener, "outbound:243.0.0.0:8080");
  const json& hcm = listener["filterChains"][0]["filters"][0]["typedConfig"];
  EXPECT_EQ(hcm["statPrefix"], "default_backend-mz___mzsvc_8080");
  EXPECT_EQ(hcm["routeConfig"]["name"], "kri_mzsvc_default___backend-mz_8080");
  json cluster = testing::resourceJson(out, kCluster, "default_backend-mz___mzsvc_8080");
  const json& tls = cluster["transportSocket"]["typedConfig"];
  EXPECT_TRUE(absl::EndsWith(tls["sni"].get<std::string>(), ".backend-mz.8080.default.mzms"));
  EXPECT_EQ(
      tls["commonTlsContext"]["combinedValidationContext"]["defaultValidationContext"]
         ["matchTypedSubjectAltNames"],
      json::parse(R"([{"sanType": "URI", "matcher": {"exact": "spiffe://default/backend"}}])"));
  json cla = testing::resourceJson(out, kEndpoints, "default_backend-mz___mzsvc_8080");
  ASSERT_EQ(cla["endpoints"].size(), 1u) << cla;
  EXPECT_EQ(cla["endpoints"][0]["lbEndpoints"][0]["endpoint"]["address"]["socketAddress"],
            json::parse(R"({"address": "10.0.0.2", "portValue": 8080})"));
}

// A named targetPort selects the inbound of that name (Kuma's MatchInboundWithMeshServicePort).
TEST(MeshServiceOutbounds, NamedTargetPortSelectsTheInboundOfThatName) {
  const auto endpointsFor = [](const std::string& targetPort) {
    MeshResources resources = meshServiceMesh("", kTransparentWeb);
    std::vector<std::string> yamls = testing::defaultPolicyYamls();
    yamls.push_back(R"(type: Dataplane
mesh: default
name: api-1
networking:
  address: 10.0.0.7
  inbound:
  - {port: 7000, name: main, tags: {kuma.io/service: api, kuma.io/protocol: http}}
  - {port: 7001, name: admin, tags: {kuma.io/service: api, kuma.io/protocol: http}}
)");
    yamls.push_back(kTransparentWeb);
    MeshResources more = testing::meshResources(yamls);
    more.mesh = resources.mesh;
    more.policies["MeshService"] = {meshService(
        "name: api\nspec:\n  selector:\n    dataplaneTags:\n      kuma.io/service: api\n"
        "  ports:\n  - {port: 80, targetPort: " +
        targetPort + ", appProtocol: http}\nstatus:\n  vips:\n  - ip: 241.0.0.5\n")};
    GeneratedResources out = generateWeb(std::move(more));
    json cla = testing::resourceJson(out, kEndpoints, "default_api__default_msvc_80");
    std::vector<int> ports;
    for (const auto& locality : cla.value("endpoints", json::array())) {
      for (const auto& ep : locality["lbEndpoints"]) {
        ports.push_back(ep["endpoint"]["address"]["socketAddress"]["portValue"].get<int>());
      }
    }
    return ports;
  };
  EXPECT_THAT(endpointsFor("main"), ElementsAre(7000));
  EXPECT_THAT(endpointsFor("admin"), ElementsAre(7001));
  EXPECT_THAT(endpointsFor("7001"), ElementsAre(7001));
  EXPECT_THAT(endpointsFor("other"), ::testing::IsEmpty());
}

}  // namespace
}  // namespace kuma::xds
