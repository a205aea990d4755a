// Runs the real Envoy (`--mode validate`) on generated bootstraps: proves the YAML is a valid
// envoy.config.bootstrap.v3.Bootstrap for the pinned Envoy.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "source/common/tls/cert.h"
#include "source/xds/bootstrap/generator.h"

namespace kuma::xds::bootstrap {
namespace {

struct Variant {
  const char* name;
  const char* xdsHost;
  bool delta;
  bool unixAdmin;
  bool reloadable;
};

class EnvoyValidateTest : public ::testing::TestWithParam<Variant> {};

TEST_P(EnvoyValidateTest, EnvoyAcceptsBootstrap) {
  const Variant& v = GetParam();
  std::string tmpl = (std::filesystem::temp_directory_path() / "envoy-validate-XXXXXX").string();
  const std::string dir = mkdtemp(tmpl.data());
  auto cert = tls::generateSelfSignedServerCert({"localhost", "127.0.0.1"});
  ASSERT_TRUE(cert.ok());
  auto req = parseBootstrapRequest(R"({"mesh":"default","name":"dp-1","dataplaneToken":"t",
      "dataplaneTokenPath":"/tmp/token","version":{"kumaDp":{"version":"2.14.3"}},
      "dynamicMetadata":{"HOST_IP":"1.2.3.4"},"dnsPort":15054,"readinessPort":9902,
      "features":["feature-reuse-port"],"dataplaneConfig":{"ipFamilyMode":"dualstack"}})");
  ASSERT_TRUE(req.ok());
  req->workdir = dir;
  if (v.delta) {
    req->features.push_back(kFeatureDeltaGrpc);
  }
  BootstrapParams params;
  params.envoyAdminUnixSocket = v.unixAdmin;
  params.enableReloadableTokens = v.reloadable;
  BootstrapInput in;
  in.request = &*req;
  in.mesh = "default";
  in.name = "dp-1";
  in.dataplaneSpec = nlohmann::json::parse(
      R"({"networking":{"address":"10.0.0.1","inbound":[{"port":8080,"tags":{"kuma.io/service":"web"}}]}})");
  in.caPem = cert->certPem;
  in.xdsHost = v.xdsHost;
  in.xdsPort = 5678;
  const std::string file = dir + "/bootstrap.yaml";
  std::ofstream(file) << bootstrapYaml(generateBootstrap(in, params));
  const std::string cmd = std::string(KUMA_ENVOY_BINARY) +
                          " --mode validate --log-level error -c " + file + " > " + dir +
                          "/envoy.log 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream log(dir + "/envoy.log");
  std::string output((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << output;
  std::filesystem::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Variants, EnvoyValidateTest,
    ::testing::Values(Variant{"sotw_dns_unix", "localhost", false, true, false},
                      Variant{"delta_ip_addr", "127.0.0.1", true, false, false},
                      Variant{"reloadable", "localhost", false, true, true}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace kuma::xds::bootstrap
