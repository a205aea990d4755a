// End to end through the real kuma-cp binary: command line, configuration sources, validation
// errors, readiness and graceful shutdown.
#include <signal.h>

#include "gtest/gtest.h"
#include "gmock/gmock.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/test_common/process.h"

namespace kuma::test {
namespace {

using ::testing::HasSubstr;

nlohmann::json getConfig(const KumaCp& cp) {
  httplib::Client client("127.0.0.1", cp.apiPort());
  auto res = client.Get("/config");
  EXPECT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  return nlohmann::json::parse(res->body);
}

TEST(KumaCpCli, Version) {
  ExitResult r = runToExit(binaryPath("kuma-cp"), {"version"}, {});
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_THAT(r.output, HasSubstr("2.14.3"));
  r = runToExit(binaryPath("kuma-cp"), {"version", "--detailed"}, {});
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_THAT(r.output, HasSubstr("kuma-cpp"));
}

TEST(KumaCpCli, RunHelpDescribesConfiguration) {
  ExitResult r = runToExit(binaryPath("kuma-cp"), {"run", "--help"}, {});
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_THAT(r.output, HasSubstr("--config-file"));
  EXPECT_THAT(r.output, HasSubstr("KUMA_*"));
}

TEST(KumaCpCli, UnknownCommandFails) {
  ExitResult r = runToExit(binaryPath("kuma-cp"), {"frobnicate"}, {});
  EXPECT_NE(r.exitCode, 0);
}

TEST(KumaCpCli, InvalidEnvironmentValuesStopTheStart) {
  struct Case {
    std::string var, value, mention;
  };
  for (const Case& c : std::vector<Case>{
           {"KUMA_MODE", "foo", "mode"},
           {"KUMA_STORE_TYPE", "etcd", "store.type"},
           {"KUMA_XDS_SERVER_DATAPLANE_CONFIGURATION_REFRESH_INTERVAL", "abc",
            "dataplaneConfigurationRefreshInterval"},
           {"KUMA_API_SERVER_HTTP_PORT", "70000", "apiServer.http.port"},
           {"KUMA_DIAGNOSTICS_DEBUG_ENDPOINTS", "maybe", "KUMA_DIAGNOSTICS_DEBUG_ENDPOINTS"},
       }) {
    const std::string dir = makeTempDir("kuma-cli");
    ExitResult r =
        runToExit(binaryPath("kuma-cp"), {"run"},
                  {{c.var, c.value},
                   {"KUMA_GENERAL_WORK_DIR", dir},
                   {"KUMA_API_SERVER_HTTP_PORT",
                    c.var == "KUMA_API_SERVER_HTTP_PORT" ? c.value : std::to_string(freePort())},
                   {"KUMA_DIAGNOSTICS_SERVER_PORT", std::to_string(freePort())}},
                  std::chrono::seconds(20));
    EXPECT_NE(r.exitCode, 0) << c.var;
    EXPECT_NE(r.exitCode, -1) << c.var << " did not exit";
    EXPECT_THAT(r.output, HasSubstr(c.mention)) << c.var;
  }
}

TEST(KumaCpCli, InvalidYamlValueStopsTheStart) {
  const std::string dir = makeTempDir("kuma-cli");
  const std::string path = dir + "/bad.yaml";
  {
    std::ofstream out(path);
    out << "xdsServer:\n  nackBackoff: soon\n";
  }
  ExitResult r =
      runToExit(binaryPath("kuma-cp"), {"run", "-c", path}, {{"KUMA_GENERAL_WORK_DIR", dir}});
  EXPECT_NE(r.exitCode, 0);
  EXPECT_THAT(r.output, HasSubstr("xdsServer.nackBackoff"));
  ExitResult missing = runToExit(binaryPath("kuma-cp"), {"run", "-c", dir + "/nope.yaml"}, {});
  EXPECT_NE(missing.exitCode, 0);
}

TEST(KumaCpCli, YamlAndEnvironmentReachGetConfig) {
  KumaCp::Options options;
  options.configYaml =
      "xdsServer:\n  dataplaneConfigurationRefreshInterval: 2s\n  someUnknownKey: 1\n"
      "store:\n  cache:\n    expirationTime: 3s\n";
  options.env = {{"KUMA_DNS_SERVER_SERVICE_VIP_PORT", "8080"},
                 {"KUMA_XDS_DATAPLANE_DEREGISTRATION_DELAY", "0s"},
                 {"KUMA_STORE_CACHE_EXPIRATION_TIME", "5s"},
                 {"KUMA_STORE_POSTGRES_MAX_OPEN_CONNECTIONS", "7"},
                 {"KUMA_STORE_POSTGRES_CONNECTION_TIMEOUT", "9"},
                 {"KUMA_DIAGNOSTICS_DEBUG_ENDPOINTS", "true"},
                 {"KUMA_RUNTIME_KUBERNETES_CLIENT_CONFIG_QPS", "42"},
                 {"KUMA_RUNTIME_KUBERNETES_CONTROLLERS_CONCURRENCY_POD_CONTROLLER", "3"}};
  auto cp = KumaCp::start(options);
  ASSERT_TRUE(cp.ok()) << cp.status();
  const nlohmann::json config = getConfig(**cp);
  EXPECT_EQ(config["xdsServer"]["dataplaneConfigurationRefreshInterval"], "2s");
  EXPECT_EQ(config["xdsServer"]["dataplaneDeregistrationDelay"], "0s");
  EXPECT_EQ(config["dnsServer"]["serviceVipPort"], 8080);
  EXPECT_EQ(config["store"]["cache"]["expirationTime"], "5s");  // env beats YAML
  EXPECT_EQ(config["store"]["postgres"]["maxOpenConnections"], 7);
  EXPECT_EQ(config["store"]["postgres"]["connectionTimeout"], 9);
  EXPECT_EQ(config["store"]["postgres"]["password"], "*****");
  EXPECT_EQ(config["diagnostics"]["debugEndpoints"], true);
  EXPECT_EQ(config["runtime"]["kubernetes"]["clientConfig"]["qps"], 42);
  EXPECT_EQ(config["runtime"]["kubernetes"]["controllersConcurrency"]["podController"], 3);
  EXPECT_THAT((*cp)->output(), HasSubstr("xdsServer.someUnknownKey"));
}

TEST(KumaCpCli, ReadinessHealthAndGracefulShutdown) {
  KumaCp::Options options;
  options.env = {{"KUMA_DEFAULTS_SKIP_MESH_CREATION", "true"}};
  auto cp = KumaCp::start(options);
  ASSERT_TRUE(cp.ok()) << cp.status();
  httplib::Client diag("127.0.0.1", (*cp)->diagnosticsPort());
  EXPECT_EQ(diag.Get("/ready")->status, 200);
  EXPECT_EQ(diag.Get("/healthy")->status, 200);
  auto other = diag.Get("/nothing");
  EXPECT_EQ(other->status, 404);
  EXPECT_EQ(other->body, "404 page not found\n");
  // No default mesh when skipped.
  httplib::Client api("127.0.0.1", (*cp)->apiPort());
  EXPECT_EQ(api.Get("/meshes/default")->status, 404);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ((*cp)->stop(SIGTERM, std::chrono::seconds(10)), 0) << (*cp)->output();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST(KumaCpCli, SigintAlsoStopsGracefully) {
  auto cp = KumaCp::start({});
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ((*cp)->stop(SIGINT, std::chrono::seconds(10)), 0) << (*cp)->output();
}

TEST(KumaCpCli, BusyPortIsAClearError) {
  auto first = KumaCp::start({});
  ASSERT_TRUE(first.ok()) << first.status();
  const std::string dir = makeTempDir("kuma-cli");
  ExitResult r = runToExit(binaryPath("kuma-cp"), {"run"},
                           {{"KUMA_API_SERVER_HTTP_PORT", std::to_string((*first)->apiPort())},
                            {"KUMA_API_SERVER_HTTP_INTERFACE", "127.0.0.1"},
                            {"KUMA_DIAGNOSTICS_SERVER_PORT", std::to_string(freePort())},
                            {"KUMA_GENERAL_WORK_DIR", dir}},
                           std::chrono::seconds(20));
  EXPECT_NE(r.exitCode, 0);
  EXPECT_THAT(r.output, HasSubstr("cannot bind"));
}

}  // namespace
}  // namespace kuma::test
