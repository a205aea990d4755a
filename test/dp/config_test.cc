#include "source/dp/config.h"

#include "CLI/CLI.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuma::dp {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

const Environment kNamed = {{"KUMA_DATAPLANE_NAME", "dp-1"}, {"KUMA_DATAPLANE_MESH", "default"}};

// Parses `args` as `kuma-dp run` would and loads the config with `env`.
absl::StatusOr<Config> load(const Environment& env, const std::vector<std::string>& args) {
  CLI::App app;
  RunFlags flags;
  flags.addTo(&app);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return absl::InvalidArgumentError(e.what());
  }
  return loadConfig(env, &flags);
}

TEST(DpConfigTest, KumaDefaults) {
  auto c = load(kNamed, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->controlPlane.url, "https://localhost:5678");
  EXPECT_EQ(c->controlPlane.retryBackoff, 3s);
  EXPECT_EQ(c->controlPlane.retryMaxDuration, 5min);
  EXPECT_EQ(c->dataplane.proxyType, "dataplane");
  EXPECT_EQ(c->dataplane.drainTime, 30s);
  EXPECT_EQ(c->readinessPort, 9902);
  EXPECT_EQ(c->runtime.binaryPath, "envoy");
  EXPECT_EQ(c->runtime.concurrency, 0u);
  EXPECT_TRUE(c->dns.enabled);
  EXPECT_EQ(c->dns.envoyDnsPort, 15054);
  EXPECT_EQ(c->dns.coreDnsPort, 15053);
  EXPECT_TRUE(c->runtime.ipv6Enabled);
  EXPECT_FALSE(c->onKubernetes);
}

TEST(DpConfigTest, EnvironmentIsRead) {
  Environment env = kNamed;
  env["KUMA_CONTROL_PLANE_URL"] = "https://cp:5678";
  env["KUMA_CONTROL_PLANE_RETRY_BACKOFF"] = "250ms";
  env["KUMA_CONTROL_PLANE_RETRY_MAX_DURATION"] = "1m";
  env["KUMA_CONTROL_PLANE_TLS_SKIP_VERIFY"] = "T";
  env["KUMA_READINESS_PORT"] = "19902";
  env["KUMA_DATAPLANE_RUNTIME_CONCURRENCY"] = "3";
  env["KUMA_DATAPLANE_DRAIN_TIME"] = "2s";
  env["KUMA_DNS_ENABLED"] = "false";
  env["KUBERNETES_SERVICE_HOST"] = "10.0.0.1";
  auto c = load(env, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->controlPlane.url, "https://cp:5678");
  EXPECT_EQ(c->controlPlane.retryBackoff, 250ms);
  EXPECT_EQ(c->controlPlane.retryMaxDuration, 1min);
  EXPECT_TRUE(c->controlPlane.skipVerify);
  EXPECT_EQ(c->readinessPort, 19902);
  EXPECT_EQ(c->runtime.concurrency, 3u);
  EXPECT_EQ(c->dataplane.drainTime, 2s);
  EXPECT_FALSE(c->dns.enabled);
  EXPECT_TRUE(c->onKubernetes);
}

TEST(DpConfigTest, FlagWinsOverEnvironmentOnlyWhenGiven) {
  Environment env = kNamed;
  env["KUMA_CONTROL_PLANE_URL"] = "https://from-env:5678";
  env["KUMA_DATAPLANE_RUNTIME_BINARY_PATH"] = "/env/envoy";
  env["KUMA_DNS_ENABLED"] = "true";
  auto c = load(env, {"--cp-address", "https://from-flag:5678", "--dns-enabled=false",
                      "--drain-time", "1s", "--concurrency", "4", "--skip-verify"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->controlPlane.url, "https://from-flag:5678");
  EXPECT_EQ(c->runtime.binaryPath, "/env/envoy") << "an absent flag keeps the variable";
  EXPECT_FALSE(c->dns.enabled);
  EXPECT_EQ(c->dataplane.drainTime, 1s);
  EXPECT_EQ(c->runtime.concurrency, 4u);
  EXPECT_TRUE(c->controlPlane.skipVerify);
}

TEST(DpConfigTest, BadEnvironmentValuesNameTheVariable) {
  for (const auto& [var, value] : std::vector<std::pair<std::string, std::string>>{
           {"KUMA_READINESS_PORT", "abc"},
           {"KUMA_READINESS_PORT", "70000"},
           {"KUMA_DNS_ENABLED", "yes"},
           {"KUMA_CONTROL_PLANE_RETRY_BACKOFF", "3"},
           {"KUMA_DATAPLANE_RUNTIME_CONCURRENCY", "-1"}}) {
    Environment env = kNamed;
    env[var] = value;
    auto c = load(env, {});
    ASSERT_FALSE(c.ok()) << var << "=" << value;
    EXPECT_THAT(std::string(c.status().message()), HasSubstr(var));
    EXPECT_THAT(std::string(c.status().message()), HasSubstr(value));
  }
}

TEST(DpConfigTest, BadFlagValues) {
  auto drain = load(kNamed, {"--drain-time", "soon"});
  ASSERT_FALSE(drain.ok());
  EXPECT_THAT(std::string(drain.status().message()), HasSubstr("--drain-time"));
  auto level = load(kNamed, {"--envoy-log-level", "loud"});
  ASSERT_FALSE(level.ok());
  EXPECT_THAT(std::string(level.status().message()), HasSubstr("--envoy-log-level"));
  auto type = load(kNamed, {"--proxy-type", "gateway"});
  EXPECT_FALSE(type.ok());
  auto url = load(kNamed, {"--cp-address", "localhost:5678"});
  EXPECT_FALSE(url.ok());
  auto concurrency = load(kNamed, {"--concurrency", "many"});
  EXPECT_FALSE(concurrency.ok());
  auto var = load(kNamed, {"--dataplane", "{}", "-v", "novalue"});
  EXPECT_FALSE(var.ok());
}

TEST(DpConfigTest, NameAndMeshForbiddenWithDefinition) {
  auto both = load({}, {"--name", "a", "--dataplane-file", "/tmp/dp.yaml"});
  ASSERT_FALSE(both.ok());
  EXPECT_THAT(std::string(both.status().message()), HasSubstr("--name and --mesh"));
  auto fromEnv = load({{"KUMA_DATAPLANE_MESH", "default"}}, {"-d", "/tmp/dp.yaml"});
  EXPECT_FALSE(fromEnv.ok());
  auto ok = load({}, {"-d", "/tmp/dp.yaml", "-v", "port=8080", "--dataplane-var", "a=b=c"});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->runtime.resourceVars.at("port"), "8080");
  EXPECT_EQ(ok->runtime.resourceVars.at("a"), "b=c");
}

TEST(DpConfigTest, NameAndMeshRequiredWithoutDefinition) {
  EXPECT_FALSE(load({}, {"--mesh", "default"}).ok());
  EXPECT_FALSE(load({}, {"--name", "dp-1"}).ok());
  EXPECT_TRUE(load({}, {"--name", "dp-1", "--mesh", "default"}).ok());
}

TEST(DpConfigTest, TokenGivenTwiceIsRefused) {
  auto c = load(kNamed, {"--dataplane-token", "x", "--dataplane-token-file", "/tmp/t"});
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("--dataplane-token"));
}

TEST(DpConfigTest, GoBool) {
  for (const char* t : {"1", "t", "T", "TRUE", "true", "True"}) {
    EXPECT_TRUE(*parseGoBool(t)) << t;
  }
  for (const char* f : {"0", "f", "F", "FALSE", "false", "False"}) {
    EXPECT_FALSE(*parseGoBool(f)) << f;
  }
  EXPECT_FALSE(parseGoBool("yes").ok());
  EXPECT_FALSE(parseGoBool("").ok());
}

}  // namespace
}  // namespace kuma::dp
