#include "source/core/config/loader.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/core/config/config.h"
#include "source/core/validators/validation_error.h"

namespace kuma::config {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string writeTemp(const std::string& content) {
  static int counter = 0;
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/kuma-cp-config-", ::getpid(), "-", counter++, ".yaml");
  std::ofstream(path) << content;
  return path;
}

absl::StatusOr<LoadedConfig> load(const std::string& yaml, const Environment& env = {}) {
  return loadConfigFromString(yaml, env);
}

std::string message(const absl::Status& s) {
  return std::string(s.message());
}

TEST(ConfigLoaderTest, DefaultsAreValidAndLoadWithoutWarnings) {
  EXPECT_TRUE(validate(KumaCpConfig{}).ok()) << validate(KumaCpConfig{});
  auto loaded = loadConfig(std::nullopt, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(loaded->warnings, IsEmpty());
  EXPECT_EQ(toJson(loaded->config), toJson(KumaCpConfig{}));
  EXPECT_EQ(loaded->config.xdsServer.dataplaneConfigurationRefreshInterval, 1s);
  EXPECT_EQ(loaded->config.store.postgres.port, 15432);
  EXPECT_EQ(loaded->config.dpServer.port, 5678u);
}

TEST(ConfigLoaderTest, YamlFileOverridesDefaults) {
  const std::string path = writeTemp(R"(
mode: global
xdsServer:
  dataplaneConfigurationRefreshInterval: 3s
store:
  postgres:
    port: 5433
    host:            # null leaves a scalar untouched
apiServer:
  corsAllowedDomains: [a.com, b.com]
runtime:
  kubernetes:
    injector:
      sidecarContainer:
        envVars:
          A: b
policies:
  pluginPoliciesEnabled:   # null clears a list
multizone:
  zone:
    name: 123              # scalars become strings
)");
  auto loaded = loadConfig(path, {});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const KumaCpConfig& c = loaded->config;
  EXPECT_EQ(c.mode, "global");
  EXPECT_EQ(c.xdsServer.dataplaneConfigurationRefreshInterval, 3s);
  EXPECT_EQ(c.xdsServer.dataplaneStatusFlushInterval, 10s);  // untouched sibling
  EXPECT_EQ(c.store.postgres.port, 5433);
  EXPECT_EQ(c.store.postgres.host, "127.0.0.1");
  EXPECT_EQ(c.apiServer.corsAllowedDomains, (StringList{"a.com", "b.com"}));
  EXPECT_EQ(c.runtime.kubernetes.injector.sidecarContainer.envVars, (StringMap{{"A", "b"}}));
  EXPECT_TRUE(c.policies.pluginPoliciesEnabled.empty());
  EXPECT_EQ(c.multizone.zone.name, "123");
  EXPECT_THAT(loaded->warnings, IsEmpty());
}

TEST(ConfigLoaderTest, KeysMatchCaseInsensitively) {
  auto loaded = load(R"(
defaults:
  SkipHostnameGenerators: true
  SKIPMESHCREATION: true
XdsServer:
  NackBackoff: 7s
dnsServer:
  cidr: 10.0.0.0/8
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->config.defaults.skipHostnameGenerators);
  EXPECT_TRUE(loaded->config.defaults.skipMeshCreation);
  EXPECT_EQ(loaded->config.xdsServer.nackBackoff, 7s);
  EXPECT_EQ(loaded->config.dnsServer.cidr, "10.0.0.0/8");
  EXPECT_THAT(loaded->warnings, IsEmpty());

  auto lower = load("defaults:\n  skipHostnameGenerators: true\n");
  ASSERT_TRUE(lower.ok());
  EXPECT_TRUE(lower->config.defaults.skipHostnameGenerators);
}

TEST(ConfigLoaderTest, DurationsAsNumbersAreNanoseconds) {
  auto loaded = load(R"(
xdsServer:
  nackBackoff: 1500000000
  dataplaneStatusFlushInterval: 2.5e9
general:
  dnsCacheTTL: "1m30s"
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.xdsServer.nackBackoff, 1500ms);
  EXPECT_EQ(loaded->config.xdsServer.dataplaneStatusFlushInterval, 2500ms);
  EXPECT_EQ(loaded->config.general.dnsCacheTTL, 90s);
}

// Found by test/fuzz/config_loader_fuzz.cc: the error message of a value that is not UTF-8 threw
// (nlohmann's dump) instead of being reported.
TEST(ConfigLoaderTest, NonUtf8ValueInAnErrorMessage) {
  KumaCpConfig config;
  std::vector<std::string> warnings;
  nlohmann::json document = nlohmann::json::parse(R"({"general":{},"xdsServer":{}})");
  document["general"]["dnsCacheTTL"] = "1m\xcd\xcf";
  document["xdsServer"]["nackBackoff"] = nlohmann::json::array({"\xff"});
  const absl::Status status = applyYaml(config, document, warnings);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(message(status), HasSubstr("invalid value \"1m\xEF\xBF\xBD\xEF\xBF\xBD\" for "
                                         "general.dnsCacheTTL"));
  EXPECT_THAT(message(status), HasSubstr("invalid value [\"\xEF\xBF\xBD\"] for "
                                         "xdsServer.nackBackoff"));
}

TEST(ConfigLoaderTest, ConnectionTimeoutIsIntegerSeconds) {
  auto loaded = load("store:\n  postgres:\n    connectionTimeout: 12\n");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.store.postgres.connectionTimeout, 12);
  auto bad = load("store:\n  postgres:\n    connectionTimeout: 5s\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(message(bad.status()), HasSubstr("store.postgres.connectionTimeout"));
}

TEST(ConfigLoaderTest, UnknownKeysAreWarnings) {
  auto loaded = load(R"(
xdsServer:
  foo: 1
bar:
  baz: 2
apiServer:
  authn:
    tokens:
      validator:
        publicKeys:
        - kid: 1
          key: abc
          extra: x
)");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(loaded->warnings, Contains("unknown configuration key \"xdsServer.foo\""));
  EXPECT_THAT(loaded->warnings, Contains("unknown configuration key \"bar\""));
  EXPECT_THAT(loaded->warnings,
              Contains("unknown configuration key "
                       "\"apiServer.authn.tokens.validator.publicKeys[0].extra\""));
  EXPECT_EQ(loaded->warnings.size(), 3u);
  const auto& keys = loaded->config.apiServer.authn.tokens.validator.publicKeys;
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].kid, "1");
  EXPECT_EQ(keys[0].key, "abc");
}

TEST(ConfigLoaderTest, EnvironmentBeatsYaml) {
  const std::string path = writeTemp("xdsServer:\n  nackBackoff: 7s\nmode: global\n");
  auto loaded = loadConfig(path, {{"KUMA_XDS_SERVER_NACK_BACKOFF", "9s"}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config.xdsServer.nackBackoff, 9s);
  EXPECT_EQ(loaded->config.mode, "global");
}

TEST(ConfigLoaderTest, InvalidYamlValuesNameTheKey) {
  struct Case {
    std::string yaml;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {"xdsServer:\n  nackBackoff: abc\n",
            "invalid value \"abc\" for xdsServer.nackBackoff: time: invalid duration \"abc\""},
           {"xdsServer:\n  nackBackoff:\n", "xdsServer.nackBackoff: invalid duration"},
           {"xdsServer:\n  nackBackoff: true\n", "xdsServer.nackBackoff: invalid duration"},
           {"dpServer:\n  port: -1\n",
            "invalid value -1 for dpServer.port: cannot unmarshal number -1 into Go value of "
            "type uint32"},
           {"dpServer:\n  port: 1.5\n", "dpServer.port"},
           {"dpServer:\n  port: \"5678\"\n", "dpServer.port: cannot unmarshal string"},
           {"apiServer:\n  readOnly: \"yes\"\n", "apiServer.readOnly"},
           {"mode: [a]\n", "invalid value [\"a\"] for mode"},
           {"apiServer: 5\n", "invalid value 5 for apiServer"},
           {"apiServer:\n  corsAllowedDomains: a,b\n", "apiServer.corsAllowedDomains"},
           {"- a\n- b\n", "invalid configuration document"},
       }) {
    auto loaded = load(c.yaml);
    ASSERT_FALSE(loaded.ok()) << c.yaml;
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument) << c.yaml;
    EXPECT_THAT(message(loaded.status()), HasSubstr(c.expected)) << c.yaml;
  }
}

TEST(ConfigLoaderTest, FileErrors) {
  auto missing = loadConfig("/nonexistent/kuma-cp.yaml", {});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(message(missing.status()), HasSubstr("/nonexistent/kuma-cp.yaml"));

  auto malformed = loadConfig(writeTemp("xdsServer: [\n"), {});
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kInvalidArgument);

  auto empty = loadConfig(writeTemp(""), {});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(toJson(empty->config), toJson(KumaCpConfig{}));
}

TEST(ConfigValidationTest, RejectsBadValuesNamingTheKey) {
  struct Case {
    Environment env;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {{{"KUMA_DP_SERVER_PORT", "70000"}}, "dpServer.port"},
           {{{"KUMA_API_SERVER_HTTP_PORT", "65536"}}, "apiServer.http.port"},
           {{{"KUMA_DIAGNOSTICS_SERVER_PORT", "100000"}}, "diagnostics.serverPort"},
           {{{"KUMA_STORE_TYPE", "cassandra"}}, "store.type: invalid value \"cassandra\""},
           {{{"KUMA_MODE", "remote"}}, "mode: invalid value \"remote\""},
           {{{"KUMA_ENVIRONMENT", "docker"}}, "environment: invalid value \"docker\""},
           {{{"KUMA_XDS_SERVER_DATAPLANE_CONFIGURATION_REFRESH_INTERVAL", "0s"}},
            "xdsServer.dataplaneConfigurationRefreshInterval: must be greater than 0s"},
           {{{"KUMA_XDS_SERVER_DATAPLANE_STATUS_FLUSH_INTERVAL", "-1s"}},
            "xdsServer.dataplaneStatusFlushInterval"},
           {{{"KUMA_DP_SERVER_GRACEFUL_SHUTDOWN_TIMEOUT", "0"}},
            "dpServer.gracefulShutdownTimeout"},
           {{{"KUMA_BOOTSTRAP_SERVER_PARAMS_ADMIN_ADDRESS", "localhost"}},
            "bootstrapServer.params.adminAddress"},
           {{{"KUMA_BOOTSTRAP_SERVER_PARAMS_XDS_GRPC_MAX_RECEIVE_MESSAGE_BYTES", "0"}},
            "bootstrapServer.params.xdsGrpcMaxReceiveMessageBytes: must not be 0"},
           {{{"KUMA_STORE_TYPE", "postgres"}, {"KUMA_STORE_POSTGRES_TLS_MODE", "require"}},
            "store.postgres.tls.mode: invalid value \"require\""},
           {{{"KUMA_STORE_TYPE", "postgres"}, {"KUMA_STORE_POSTGRES_READ_REPLICA_RATIO", "101"}},
            "store.postgres.readReplica.ratio"},
           {{{"KUMA_API_SERVER_AUTHN_TYPE", "basic"}}, "apiServer.authn.type"},
           {{{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "password"}}, "dpServer.authn.dpProxy.type"},
           {{{"KUMA_GENERAL_TLS_MIN_VERSION", "TLSv2"}}, "general.tlsMinVersion"},
           {{{"KUMA_DP_SERVER_TLS_CIPHER_SUITES", "TLS_FOO"}}, "dpServer.tlsCipherSuites"},
           {{{"KUMA_DNS_SERVER_CIDR", "240.0.0.0"}}, "dnsServer.CIDR"},
           {{{"KUMA_IPAM_KNOWN_INTERNAL_CIDRS", "10.0.0.0/8,300.0.0.0/8"}},
            "ipam.knownInternalCIDRs"},
           {{{"KUMA_GENERAL_TLS_CERT_FILE", "/a.crt"}}, "general: tlsCertFile and tlsKeyFile"},
           {{{"KUMA_ACCESS_TYPE", "rbac"}}, "access.type"},
       }) {
    auto loaded = loadConfig(std::nullopt, c.env);
    ASSERT_FALSE(loaded.ok()) << c.expected;
    EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument) << c.expected;
    EXPECT_THAT(message(loaded.status()), HasSubstr(c.expected));
  }
}

TEST(ConfigValidationTest, ReportsEveryViolation) {
  KumaCpConfig cfg;
  cfg.mode = "foo";
  cfg.environment = "bar";
  cfg.dpServer.gracefulShutdownTimeout = 0s;
  const absl::Status s = validate(cfg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(message(s), HasSubstr("mode: invalid value \"foo\""));
  EXPECT_THAT(message(s), HasSubstr("environment: invalid value \"bar\""));
  EXPECT_THAT(message(s), HasSubstr("dpServer.gracefulShutdownTimeout"));
  auto violations = validators::ValidationError::fromStatus(s);
  ASSERT_TRUE(violations.has_value());
  EXPECT_EQ(violations->violations().size(), 3u);
}

TEST(ConfigValidationTest, AcceptsKumasAlternatives) {
  KumaCpConfig cfg;
  cfg.mode = "standalone";
  cfg.environment = "kubernetes";
  cfg.store.type = "kubernetes";
  cfg.bootstrapServer.params.adminAddress = "::1";
  cfg.apiServer.authn.type = "adminClientCerts";
  cfg.general.tlsMaxVersion = "TLSv1_3";
  cfg.dpServer.tlsCipherSuites = {"TLS_AES_128_GCM_SHA256"};
  cfg.apiServer.http.port = 0;  // 0 picks a free port
  // The postgres section is validated only when postgres is the store (as in Kuma).
  cfg.store.postgres.tls.mode = "whatever";
  EXPECT_TRUE(validate(cfg).ok()) << validate(cfg);

  auto loaded = loadConfig(std::nullopt, {{"KUMA_MODE", "standalone"}});
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(loaded->warnings, Contains(HasSubstr("standalone\" is deprecated")));
}

TEST(ConfigJsonTest, UsesKumaNamesGoDurationsAndSanitizesSecrets) {
  KumaCpConfig cfg;
  cfg.store.postgres.password = "s3cr3t";
  const nlohmann::ordered_json j = toJson(cfg);
  EXPECT_EQ(j["store"]["postgres"]["password"], "*****");
  EXPECT_EQ(j.dump().find("s3cr3t"), std::string::npos);
  EXPECT_EQ(j["xdsServer"]["dataplaneConfigurationRefreshInterval"], "1s");
  EXPECT_EQ(j["general"]["resilientComponentMaxBackoff"], "1m0s");
  EXPECT_EQ(j["runtime"]["universal"]["dataplaneCleanupAge"], "72h0m0s");
  EXPECT_EQ(j["store"]["upsert"]["conflictRetryBaseBackoff"], "200ms");
  EXPECT_EQ(j["store"]["postgres"]["connectionTimeout"], 5);
  EXPECT_EQ(j["dnsServer"]["CIDR"], "240.0.0.0/4");
  EXPECT_EQ(j["defaults"]["SkipHostnameGenerators"], false);
  EXPECT_EQ(j["access"]["static"]["adminResources"]["users"],
            nlohmann::ordered_json::array({"mesh-system:admin"}));
  EXPECT_EQ(j["apiServer"]["corsAllowedDomains"], nlohmann::ordered_json::array());
  EXPECT_EQ(
      j["runtime"]["kubernetes"]["injector"]["exceptions"]["labels"]["openshift.io/build.name"],
      "*");
  // Top-level order follows Kuma's file.
  EXPECT_EQ(j.begin().key(), "environment");
}

TEST(ConfigAutoconfigureTest, DerivesValuesLikeKuma) {
  KumaCpConfig cfg;
  cfg.dpServer.port = 6000;
  cfg.general.tlsCertFile = "/certs/cp.crt";
  cfg.general.tlsKeyFile = "/certs/cp.key";
  cfg.diagnostics.tlsCertFile = "/own.crt";
  cfg.diagnostics.tlsKeyFile = "/own.key";
  ASSERT_TRUE(autoconfigure(cfg, {{"HOME", "/home/kuma/"}}).ok());
  EXPECT_EQ(cfg.general.workDir, "/home/kuma/.kuma");
  EXPECT_EQ(cfg.bootstrapServer.params.xdsPort, 6000u);
  EXPECT_EQ(cfg.dpServer.authn.dpProxy.type, "dpToken");
  EXPECT_EQ(cfg.dpServer.authn.zoneProxy.type, "zoneToken");
  EXPECT_FALSE(cfg.dpServer.authn.enableReloadableTokens);
  EXPECT_EQ(cfg.dpServer.tlsCertFile, "/certs/cp.crt");
  EXPECT_EQ(cfg.dpServer.tlsKeyFile, "/certs/cp.key");
  EXPECT_EQ(cfg.apiServer.https.tlsCertFile, "/certs/cp.crt");
  EXPECT_EQ(cfg.monitoringAssignmentServer.tlsKeyFile, "/certs/cp.key");
  EXPECT_EQ(cfg.diagnostics.tlsCertFile, "/own.crt");  // explicit value kept
  EXPECT_TRUE(validate(cfg).ok()) << validate(cfg);
}

TEST(ConfigAutoconfigureTest, KubernetesAndExplicitValues) {
  KumaCpConfig cfg;
  cfg.environment = "kubernetes";
  cfg.store.type = "kubernetes";
  cfg.general.workDir = "/var/kuma";
  cfg.bootstrapServer.params.xdsPort = 1234;
  ASSERT_TRUE(autoconfigure(cfg, {}).ok());  // HOME not needed
  EXPECT_EQ(cfg.general.workDir, "/var/kuma");
  EXPECT_EQ(cfg.bootstrapServer.params.xdsPort, 1234u);
  EXPECT_EQ(cfg.dpServer.authn.dpProxy.type, "serviceAccountToken");
  EXPECT_EQ(cfg.dpServer.authn.zoneProxy.type, "serviceAccountToken");
  EXPECT_TRUE(cfg.dpServer.authn.enableReloadableTokens);
}

TEST(ConfigAutoconfigureTest, NeedsHomeForWorkDir) {
  KumaCpConfig cfg;
  EXPECT_EQ(autoconfigure(cfg, {}).code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace kuma::config
