// Legacy ExternalService TLS data sources (external_service.h): inline, the mesh's Secret and the
// control plane's file are read as Kuma's datasource.Loader reads them; one that cannot be read
// drops the endpoint (Kuma: "Endpoint won't be included in the XDS") and leaves the proxy's
// other outbounds alone. A Secret the data sources name is part of the mesh context's hash.

#include <cstdio>
#include <fstream>

#include "gtest/gtest.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using nlohmann::json;

constexpr char kCluster[] = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

std::string externalService(const std::string& name, const std::string& tls) {
  return "type: ExternalService\nmesh: default\nname: " + name +
         "\ntags: {kuma.io/service: " + name +
         ", kuma.io/protocol: http}\nnetworking:\n  address: " + name +
         ".example.com:443\n  tls:\n    enabled: true\n" + tls;
}

// base64("CA-PEM"), base64("CERT-PEM")
std::string secret(const std::string& name, const std::string& base64) {
  return "type: Secret\nmesh: default\nname: " + name + "\ndata: " + base64 + "\n";
}

const char kWeb[] = R"(type: Dataplane
mesh: default
name: web-1
networking:
  address: 10.0.0.1
  inbound:
  - {port: 9000, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  outbound:
  - {port: 10001, tags: {kuma.io/service: from-secret}}
  - {port: 10002, tags: {kuma.io/service: from-file}}
  - {port: 10003, tags: {kuma.io/service: missing}}
)";

json tlsOf(const json& cluster) {
  return cluster["transportSocketMatches"][0]["transportSocket"]["typedConfig"];
}

TEST(ExternalServiceDataSources, SecretFileAndMissing) {
  const std::string path = ::testing::TempDir() + "/es-ca.pem";
  {
    std::ofstream f(path, std::ios::binary);
    f << "FILE-CA";
  }
  std::vector<std::string> yamls = {
      kWeb,
      secret("ca", "Q0EtUEVN"),
      secret("cert", "Q0VSVC1QRU0="),
      externalService("from-secret",
                      "    caCert: {secret: ca}\n    clientCert: {secret: cert}\n"
                      "    clientKey: {inlineString: KEY-PEM}\n"),
      externalService("from-file", "    caCert: {file: " + path + "}\n"),
      externalService("missing", "    caCert: {secret: nope}\n"),
  };
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  GeneratedResources out = testing::generateProxy(**ctx, "web-1");

  const json fromSecret = tlsOf(testing::resourceJson(out, kCluster, "from-secret"));
  EXPECT_EQ(fromSecret["commonTlsContext"]["validationContext"]["trustedCa"]["inlineBytes"],
            "Q0EtUEVN");
  EXPECT_EQ(fromSecret["commonTlsContext"]["tlsCertificates"][0]["certificateChain"]["inlineBytes"],
            "Q0VSVC1QRU0=");
  const json fromFile = tlsOf(testing::resourceJson(out, kCluster, "from-file"));
  EXPECT_EQ(fromFile["commonTlsContext"]["validationContext"]["trustedCa"]["inlineBytes"],
            "RklMRS1DQQ==");  // base64("FILE-CA")
  // The Secret is missing: no endpoint and no TLS, the other outbounds unaffected.
  const json missing = testing::resourceJson(out, kCluster, "missing");
  EXPECT_FALSE(missing["loadAssignment"].contains("endpoints")) << missing;
  EXPECT_FALSE(missing.contains("transportSocketMatches")) << missing;
  std::remove(path.c_str());

  // A named Secret is an input: changing it changes the context's hash.
  yamls[1] = secret("ca", "T1RIRVI=");
  auto changed = MeshContext::build(testing::meshResources(yamls));
  ASSERT_TRUE(changed.ok());
  EXPECT_NE((*ctx)->hash(), (*changed)->hash());
}

}  // namespace
}  // namespace kuma::xds
