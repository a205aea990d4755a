#include "source/xds/bootstrap/generator.h"

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/json_yaml.h"
#include "source/xds/bootstrap/request.h"

namespace kuma::xds::bootstrap {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

const char kDpSpec[] = R"({"networking":{"address":"10.0.0.1","admin":{"port":9999},
  "inbound":[{"port":8080,"tags":{"kuma.io/service":"web"}},
             {"port":8081,"tags":{"kuma.io/service":"backend"}}]}})";

class GeneratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto req = parseBootstrapRequest(R"({
      "mesh":"default","name":"dp-1","proxyType":"","dataplaneToken":"jwt-token",
      "dataplaneResource":"{\"type\":\"Dataplane\"}",
      "version":{"kumaDp":{"version":"2.14.3"},"envoy":{"version":"1.38.2"}},
      "caCert":"","dynamicMetadata":{"HOST_IP":"1.2.3.4"},"dnsPort":15054,"readinessPort":9902,
      "appProbeProxyDisabled":true,"features":["feature-reuse-port"],"workdir":"/tmp/kuma-dp-1",
      "metricsResources":{"certPath":"/c","keyPath":"/k"},"systemCaPath":"/etc/ca.crt",
      "dataplaneConfig":{"ipFamilyMode":"dualstack"},"ipv6Enabled":true,
      "spireResources":{"socketPath":"/spire.sock"}})");
    ASSERT_TRUE(req.ok()) << req.status();
    request_ = *req;
    params_.resolvesOnlyToIpv4 = [this](const std::string& host) {
      resolved_ = host;
      return onlyV4_;
    };
  }

  Json generate(const std::string& xdsHost = "cp.example") {
    BootstrapInput in;
    in.request = &request_;
    in.mesh = "default";
    in.name = "dp-1";
    in.dataplaneSpec = Json::parse(kDpSpec);
    in.caPem = "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n";
    in.xdsHost = xdsHost;
    in.xdsPort = 5678;
    // Through YAML and back, as kuma-dp reads it.
    auto parsed = common::parseYaml(bootstrapYaml(generateBootstrap(in, params_)));
    EXPECT_TRUE(parsed.ok());
    return *parsed;
  }

  static const Json& cluster(const Json& b, const std::string& name) {
    for (const auto& c : b["staticResources"]["clusters"]) {
      if (c["name"] == name) {
        return c;
      }
    }
    static const Json kNull;
    return kNull;
  }

  BootstrapRequest request_;
  BootstrapParams params_;
  bool onlyV4_ = false;
  std::string resolved_;
};

TEST_F(GeneratorTest, NodeAndMetadata) {
  Json b = generate();
  EXPECT_EQ(b["node"]["id"], "default.dp-1");
  EXPECT_EQ(b["node"]["cluster"], "backend");  // lexicographically first service
  const Json& md = b["node"]["metadata"];
  EXPECT_EQ(md["version"]["kumaDp"]["version"], "2.14.3");
  EXPECT_EQ(md["features"], Json::array({"feature-reuse-port"}));
  EXPECT_EQ(md["workdir"], "/tmp/kuma-dp-1");
  EXPECT_EQ(md["metricsCertPath"], "/c");
  EXPECT_EQ(md["metricsKeyPath"], "/k");
  EXPECT_EQ(md["systemCaPath"], "/etc/ca.crt");
  EXPECT_EQ(md["ipv6Enabled"], true);
  EXPECT_EQ(md["spireAgent.socketPath"], "/spire.sock");
  EXPECT_EQ(md["dataplane.resource"], "{\"type\":\"Dataplane\"}");
  EXPECT_EQ(md["dataplane.admin.port"], "9999");  // from the Dataplane's networking.admin
  EXPECT_EQ(md["dataplane.admin.address"], "127.0.0.1");
  EXPECT_EQ(md["dataplane.admin.socketPath"], "/tmp/kuma-dp-1/kuma-envoy-admin.sock");
  EXPECT_EQ(md["dataplane.dns.port"], "15054");
  EXPECT_EQ(md["dataplane.readinessReporter.port"], "9902");
  EXPECT_EQ(md["dataplane.appProbeProxy.enabled"], "true");
  EXPECT_EQ(md["dataplane.proxyType"], "dataplane");
  EXPECT_EQ(md["dynamicMetadata"]["HOST_IP"], "1.2.3.4");
  EXPECT_EQ(md["transparentProxy"]["ipFamilyMode"], "dualstack");
  EXPECT_FALSE(md.contains("otelEnvInventory"));
}

TEST_F(GeneratorTest, OptionalMetadataOmitted) {
  request_.dnsPort = 0;
  request_.appProbeProxyEnabled = false;
  request_.dataplaneResource.clear();
  request_.dynamicMetadata = nullptr;
  request_.dataplaneConfig = nullptr;
  Json md = generate()["node"]["metadata"];
  for (const char* key : {"dataplane.dns.port", "dataplane.appProbeProxy.enabled",
                          "dataplane.resource", "dynamicMetadata", "transparentProxy"}) {
    EXPECT_FALSE(md.contains(key)) << key;
  }
}

TEST_F(GeneratorTest, AdminUnixSocketOrAddress) {
  Json b = generate();
  EXPECT_EQ(b["admin"]["address"]["pipe"]["path"], "/tmp/kuma-dp-1/kuma-envoy-admin.sock");
  EXPECT_EQ(b["admin"]["address"]["pipe"]["mode"], 384);
  EXPECT_EQ(b["admin"]["accessLog"][0]["typedConfig"]["path"], "/dev/null");

  params_.envoyAdminUnixSocket = false;
  b = generate();
  EXPECT_FALSE(b["admin"]["address"].contains("pipe"));
  EXPECT_EQ(b["admin"]["address"]["socketAddress"]["address"], "127.0.0.1");
  // Envoy's admin binds to the port the Dataplane asks for (networking.admin.port), like the
  // metadata says, so that two sidecars on one host do not collide on the default 9901.
  EXPECT_EQ(b["admin"]["address"]["socketAddress"]["portValue"], 9999);
  EXPECT_FALSE(b["node"]["metadata"].contains("dataplane.admin.socketPath"));

  params_.envoyAdminUnixSocket = true;
  request_.workdir.clear();
  b = generate();
  EXPECT_TRUE(b["admin"]["address"].contains("socketAddress"));
}

TEST_F(GeneratorTest, SotwVersusDelta) {
  Json b = generate();
  const Json& ads = b["dynamicResources"]["adsConfig"];
  EXPECT_EQ(ads["apiType"], "GRPC");
  EXPECT_EQ(ads["transportApiVersion"], "V3");
  EXPECT_EQ(ads["setNodeOnFirstMessageOnly"], true);
  EXPECT_EQ(ads["grpcServices"][0]["envoyGrpc"]["clusterName"], "ads_cluster");
  EXPECT_EQ(ads["grpcServices"][0]["initialMetadata"][0]["key"], "authorization");
  EXPECT_EQ(ads["grpcServices"][0]["initialMetadata"][0]["value"], "jwt-token");
  for (const char* src : {"cdsConfig", "ldsConfig"}) {
    EXPECT_EQ(b["dynamicResources"][src]["ads"], Json::object());
    EXPECT_EQ(b["dynamicResources"][src]["initialFetchTimeout"], "0s");
    EXPECT_EQ(b["dynamicResources"][src]["resourceApiVersion"], "V3");
  }
  EXPECT_EQ(b["hdsConfig"]["apiType"], "GRPC");
  EXPECT_EQ(b["hdsConfig"]["grpcServices"], ads["grpcServices"]);

  request_.features.push_back(kFeatureDeltaGrpc);
  b = generate();
  EXPECT_EQ(b["dynamicResources"]["adsConfig"]["apiType"], "DELTA_GRPC");
  EXPECT_EQ(b["hdsConfig"]["apiType"], "GRPC");
}

TEST_F(GeneratorTest, NoTokenNoMetadataAndHdsDisabled) {
  request_.dataplaneToken.clear();
  params_.hdsEnabled = false;
  Json b = generate();
  EXPECT_FALSE(b["dynamicResources"]["adsConfig"]["grpcServices"][0].contains("initialMetadata"));
  EXPECT_FALSE(b.contains("hdsConfig"));
}

TEST_F(GeneratorTest, AdsClusterStaticForIpStrictDnsForName) {
  Json b = generate("10.1.1.1");
  Json ads = cluster(b, "ads_cluster");
  EXPECT_EQ(ads["type"], "STATIC");
  EXPECT_FALSE(ads.contains("dnsLookupFamily"));
  EXPECT_TRUE(resolved_.empty());  // no DNS lookup for an IP
  EXPECT_EQ(ads["loadAssignment"]["endpoints"][0]["lbEndpoints"][0]["endpoint"]["address"]
               ["socketAddress"],
            Json({{"address", "10.1.1.1"}, {"portValue", 5678}}));

  EXPECT_EQ(cluster(generate("::1"), "ads_cluster")["type"], "STATIC");

  ads = cluster(generate("cp.example"), "ads_cluster");
  EXPECT_EQ(ads["type"], "STRICT_DNS");
  EXPECT_EQ(resolved_, "cp.example");
  EXPECT_FALSE(ads.contains("dnsLookupFamily"));
  onlyV4_ = true;
  ads = cluster(generate("cp.example"), "ads_cluster");
  EXPECT_EQ(ads["dnsLookupFamily"], "V4_ONLY");
}

TEST_F(GeneratorTest, AdsClusterTlsAndSecret) {
  Json b = generate();
  const Json& ads = cluster(b, "ads_cluster");
  EXPECT_EQ(ads["connectTimeout"], "1s");
  EXPECT_TRUE(ads["typedExtensionProtocolOptions"]
                 ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["explicitHttpConfig"]
                     .contains("http2ProtocolOptions"));
  EXPECT_EQ(ads["upstreamConnectionOptions"]["tcpKeepalive"],
            Json({{"keepaliveProbes", 3}, {"keepaliveTime", 10}, {"keepaliveInterval", 10}}));
  const Json& tls = ads["transportSocket"]["typedConfig"];
  EXPECT_EQ(ads["transportSocket"]["name"], "envoy.transport_sockets.tls");
  EXPECT_EQ(tls["sni"], "cp.example");
  EXPECT_EQ(tls["commonTlsContext"]["tlsParams"]["tlsMinimumProtocolVersion"], "TLSv1_2");
  EXPECT_EQ(tls["commonTlsContext"]["validationContextSdsSecretConfig"]["name"],
            "cp_validation_ctx");
  EXPECT_EQ(tls["commonTlsContext"]["alpnProtocols"], Json::array({"h2"}));

  const Json& secret = b["staticResources"]["secrets"][0];
  EXPECT_EQ(secret["name"], "cp_validation_ctx");
  std::string ca;
  ASSERT_TRUE(absl::Base64Unescape(
      secret["validationContext"]["trustedCa"]["inlineBytes"].get<std::string>(), &ca));
  EXPECT_THAT(ca, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_EQ(secret["validationContext"]["matchTypedSubjectAltNames"],
            Json::parse(R"([{"sanType":"DNS","matcher":{"exact":"cp.example"}},
                            {"sanType":"IP_ADDRESS","matcher":{"exact":"cp.example"}}])"));

  params_.adsAlpnH2 = false;
  EXPECT_FALSE(
      cluster(generate(), "ads_cluster")["transportSocket"]["typedConfig"]["commonTlsContext"]
          .contains("alpnProtocols"));
}

TEST_F(GeneratorTest, AccessLogSinkAndRuntime) {
  Json b = generate();
  const Json& al = cluster(b, "access_log_sink");
  EXPECT_EQ(al["type"], "STATIC");
  EXPECT_EQ(al["lbPolicy"], "ROUND_ROBIN");
  EXPECT_EQ(
      al["loadAssignment"]["endpoints"][0]["lbEndpoints"][0]["endpoint"]["address"]["pipe"]["path"],
      "/tmp/kuma-dp-1/kuma-al-dp-1-default.sock");
  EXPECT_EQ(b["layeredRuntime"]["layers"][0]["staticLayer"]["re2.max_program_size.error_level"],
            4294967295ULL);
  EXPECT_EQ(b["defaultRegexEngine"]["name"], "envoy.regex_engines.google_re2");
  EXPECT_EQ(b["statsConfig"]["statsTags"].size(), 6u);
}

TEST_F(GeneratorTest, ReloadableTokensUseGoogleGrpc) {
  params_.enableReloadableTokens = true;
  request_.dataplaneTokenPath = "/var/run/token";
  Json b = generate();
  const Json& svc = b["dynamicResources"]["adsConfig"]["grpcServices"][0];
  EXPECT_FALSE(svc.contains("envoyGrpc"));
  EXPECT_EQ(svc["googleGrpc"]["targetUri"], "cp.example:5678");
  EXPECT_EQ(svc["googleGrpc"]["statPrefix"], "ads");
  // Kuma's factory: the one that sends the file's token as the `authorization` metadata.
  EXPECT_EQ(svc["googleGrpc"]["credentialsFactoryName"],
            "envoy.grpc_credentials.file_based_metadata");
  EXPECT_EQ(svc["googleGrpc"]["callCredentials"][0]["fromPlugin"]["typedConfig"]["secretData"]
               ["filename"],
            "/var/run/token");
  EXPECT_TRUE(cluster(b, "ads_cluster").is_null());
  EXPECT_FALSE(cluster(b, "access_log_sink").is_null());
}

TEST(GeneratorHelpersTest, SocketPathTruncation) {
  EXPECT_EQ(socketPath("/tmp", "kuma-envoy-admin"), "/tmp/kuma-envoy-admin.sock");
  const std::string longDir(120, 'd');
  const std::string path = socketPath("/" + longDir, "x");
  EXPECT_EQ(path.size(), 98u + 5u);
  EXPECT_EQ(path.substr(98), ".sock");
}

TEST(GeneratorHelpersTest, ServiceCluster) {
  EXPECT_EQ(serviceClusterOf(Json::object()), "unknown");
  EXPECT_EQ(serviceClusterOf(Json::parse(R"({"networking":{"inbound":[{"tags":{"a":"b"}}]}})")),
            "unknown");
  EXPECT_EQ(serviceClusterOf(
                Json::parse(R"({"networking":{"gateway":{"tags":{"kuma.io/service":"gw"}}}})")),
            "gw");
}

TEST(RequestTest, ParsesAndRejects) {
  auto ok = parseBootstrapRequest(R"({"proxyType":"","unknown":[1,2],"features":null})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->proxyType, "dataplane");
  EXPECT_TRUE(ok->features.empty());
  EXPECT_FALSE(parseBootstrapRequest("").ok());
  EXPECT_FALSE(parseBootstrapRequest("{").ok());
  EXPECT_FALSE(parseBootstrapRequest("[]").ok());
  EXPECT_FALSE(parseBootstrapRequest(R"({"mesh":1})").ok());
  EXPECT_FALSE(parseBootstrapRequest(R"({"dnsPort":-1})").ok());
  EXPECT_FALSE(parseBootstrapRequest(R"({"features":"x"})").ok());
  EXPECT_FALSE(parseBootstrapRequest(R"({"features":[1]})").ok());
  EXPECT_FALSE(parseBootstrapRequest(R"({"version":"2.14"})").ok());
  EXPECT_FALSE(parseBootstrapRequest(R"({"appProbeProxyDisabled":"yes"})").ok());
}

}  // namespace
}  // namespace kuma::xds::bootstrap
