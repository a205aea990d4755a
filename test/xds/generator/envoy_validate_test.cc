// Runs the real Envoy (`envoy --mode validate`) on generated configurations turned into a static
// bootstrap: every listener and cluster as a static resource, EDS clusters given their
// ClusterLoadAssignment inline, admin on a free loopback port.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "test/xds/generator/generator_test_util.h"

#ifndef KUMA_ENVOY_BIN
#error "KUMA_ENVOY_BIN must be defined"
#endif

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;

int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

nlohmann::json jsonOf(const std::string& type, const std::string& bytes) {
  auto json = resourceToJson(type, bytes);
  EXPECT_TRUE(json.ok()) << json.status();
  return json.ok() ? nlohmann::json::parse(*json) : nlohmann::json();
}

nlohmann::json bootstrapOf(const GeneratedResources& out) {
  nlohmann::json bootstrap;
  bootstrap["node"] = {{"id", "default.web-1"}, {"cluster", "web"}};
  bootstrap["admin"]["address"]["socket_address"] = {{"address", "127.0.0.1"},
                                                     {"port_value", freePort()}};
  auto& listeners = bootstrap["static_resources"]["listeners"];
  auto& clusters = bootstrap["static_resources"]["clusters"];
  listeners = nlohmann::json::array();
  clusters = nlohmann::json::array();
  for (const auto& name : testing::namesOf(out, kListenerType)) {
    listeners.push_back(jsonOf(kListenerType, out.find(kListenerType, name)->serialized));
  }
  for (const auto& name : testing::namesOf(out, kClusterType)) {
    Cluster c = testing::decode<Cluster>(out, kClusterType, name);
    if (c.type() == Cluster::EDS) {
      c.clear_eds_cluster_config();
      c.set_type(Cluster::STATIC);
      *c.mutable_load_assignment() =
          testing::decode<ClusterLoadAssignment>(out, kEndpointType, name);
    }
    clusters.push_back(jsonOf(kClusterType, c.SerializeAsString()));
  }
  return bootstrap;
}

void expectEnvoyAccepts(const std::string& name, const std::string& proxyYaml) {
  auto ctx = MeshContext::build(testing::caseResources(proxyYaml));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  auto out =
      generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(ProxyOptions{}));
  ASSERT_TRUE(out.ok()) << out.status();
  const auto dir =
      std::filesystem::temp_directory_path() / ("kuma-xds-validate-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto config = dir / (name + ".json");
  const auto log = dir / (name + ".log");
  std::ofstream(config) << bootstrapOf(*out).dump(2);
  const std::string cmd = std::string(KUMA_ENVOY_BIN) + " --mode validate --log-level error -c " +
                          config.string() + " > " + log.string() + " 2>&1";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(log);
  std::stringstream output;
  output << in.rdbuf();
  EXPECT_EQ(rc, 0) << "envoy rejected " << config << ":\n" << output.str();
  if (rc == 0) {
    std::filesystem::remove_all(dir);
  }
}

TEST(XdsEnvoyValidate, CaseASidecar) {
  expectEnvoyAccepts("case_a", testing::caseADataplane());
}

TEST(XdsEnvoyValidate, CaseBTransparentProxy) {
  expectEnvoyAccepts("case_b", testing::caseBDataplane());
}

TEST(XdsEnvoyValidate, EnvoyRejectsABrokenConfig) {
  // Guards the harness itself: a listener pointing at an unknown filter must fail validation.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("kuma-xds-validate-bad-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const auto config = dir / "bad.json";
  std::ofstream(config) << R"({"static_resources": {"clusters": [{"name": "x", "type": "NOPE"}]}})";
  const std::string cmd = std::string(KUMA_ENVOY_BIN) +
                          " --mode validate --log-level critical -c " + config.string() +
                          " > /dev/null 2>&1";
  EXPECT_NE(std::system(cmd.c_str()), 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kuma::xds
