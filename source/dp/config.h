#pragma once

// File: config.h
// kuma-dp's configuration (spec §9): Kuma 2.14's defaults, then KUMA_* environment variables,
// then command-line flags (a flag given on the command line wins over its variable). There is no
// config file, as in Kuma.
//
//   RunFlags flags;
//   flags.addTo(runCommand);               // CLI11
//   ... parse ...
//   auto config = loadConfig(processEnvironment(), &flags);

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace kuma::dp {

using Environment = std::map<std::string, std::string>;

/** The variables of this process (KUMA_* and KUBERNETES_SERVICE_HOST are the only ones read). */
Environment processEnvironment();

struct ControlPlaneConfig {
  std::string url = "https://localhost:5678";
  /** Inline PEM (KUMA_CONTROL_PLANE_CA_CERT); the file wins when both are set. */
  std::string caCert;
  std::string caCertFile;
  bool skipVerify = false;
  std::chrono::nanoseconds retryBackoff = std::chrono::seconds(3);
  std::chrono::nanoseconds retryMaxDuration = std::chrono::minutes(5);
};

struct DataplaneConfig {
  std::string mesh;
  std::string name;
  std::string proxyType = "dataplane";
  std::chrono::nanoseconds drainTime = std::chrono::seconds(30);
};

struct RuntimeConfig {
  std::string binaryPath = "envoy";
  /** Empty: a `kuma-dp-*` temporary directory, removed at exit. */
  std::string workDir;
  /** 0: decided from the CPU limit (see concurrency.h). */
  uint32_t concurrency = 0;
  std::string tokenPath;
  std::string token;
  /** Inline Dataplane template (--dataplane) or its file (-d/--dataplane-file). */
  std::string resource;
  std::string resourcePath;
  /** -v/--dataplane-var k=v, for `{{ k }}` in the template. */
  std::map<std::string, std::string> resourceVars;
  /** Empty: kuma-dp's own --log-level. */
  std::string envoyLogLevel;
  std::string envoyComponentLogLevel;
  std::string socketDir;
  /** KUMA_DATAPLANE_RUNTIME_DYNAMIC_CONFIGURATION_REFRESH_INTERVAL: polls of Envoy's /dns. */
  std::chrono::nanoseconds dynamicConfigRefresh = std::chrono::seconds(1);
  bool bindOutbounds = false;
  /** "" (GRPC) or DELTA_GRPC. */
  std::string xdsTransportProtocolVariant;
  bool ipv6Enabled = true;
  bool strictInboundPorts = true;
  bool reusePort = true;
  std::string metricsCertPath;
  std::string metricsKeyPath;
  uint64_t maxMemoryBytes = 0;
};

struct DnsConfig {
  bool enabled = true;
  uint16_t coreDnsPort = 15053;
  uint16_t envoyDnsPort = 15054;
  std::string coreDnsBinaryPath = "coredns";
  std::string coreDnsConfigTemplatePath;
  std::string configDir;
  uint16_t prometheusPort = 19153;
  bool coreDnsLogging = false;
  /** KUMA_DNS_PROXY_PORT: non-zero selects Kuma's embedded DNS proxy instead of CoreDNS. */
  uint16_t proxyPort = 0;
};

struct Config {
  ControlPlaneConfig controlPlane;
  DataplaneConfig dataplane;
  RuntimeConfig runtime;
  DnsConfig dns;
  /** KUMA_READINESS_PORT: kuma-dp's readiness endpoint (GET /ready on 127.0.0.1). */
  uint16_t readinessPort = 9902;
  /** kuma-dp's own log level (off|info|debug), also Envoy's when --envoy-log-level is empty. */
  std::string logLevel = "info";
  bool transparentProxy = false;
  std::vector<std::string> transparentProxyConfig;
  /** KUBERNETES_SERVICE_HOST is set: only changes the concurrency clamp. */
  bool onKubernetes = false;
  /** Deprecated flags that were given and are ignored (reported as warnings). */
  std::vector<std::string> warnings;
};

/**
 * The flags of `kuma-dp run`. Each one overrides its environment variable only when it was given
 * on the command line, so defaults come from Kuma's config and not from CLI11.
 */
class RunFlags {
 public:
  /** Declares every flag of `kuma-dp run` on `command`, with Kuma's names and help. */
  void addTo(CLI::App* command);
  /** Applies the flags given on the command line. Errors name the flag. */
  absl::Status applyTo(Config& config) const;

 private:
  struct Given {
    std::map<std::string, CLI::Option*> options;
    bool has(const std::string& name) const;
  } given_;
  std::string name_, mesh_, proxyType_, drainTime_, cpAddress_, caCertFile_, binaryPath_, workDir_,
      configDir_, tokenFile_, token_, dataplane_, dataplaneFile_, envoyLogLevel_,
      envoyComponentLogLevel_, metricsCertPath_, metricsKeyPath_, corednsPath_,
      corednsTemplatePath_, dnsConfigDir_, logLevel_;
  std::vector<std::string> vars_, transparentProxyConfig_;
  bool skipVerify_ = false, bindOutbounds_ = false, dnsEnabled_ = true, dnsLogging_ = false,
       transparentProxy_ = false;
  uint32_t concurrency_ = 0;
  uint16_t dnsEnvoyPort_ = 0, dnsCorednsPort_ = 0, dnsPrometheusPort_ = 0;
};

/**
 * Defaults → `env` → `flags` (may be null), then cross-field checks: --name/--mesh with a
 * Dataplane template, token given twice, bad levels or URLs.
 * @return the config, or InvalidArgument naming the variable or flag.
 */
absl::StatusOr<Config> loadConfig(const Environment& env, const RunFlags* flags);

/** Splits a `k=v` dataplane variable. Error when there is no '=' or the key is empty. */
absl::Status addDataplaneVar(std::map<std::string, std::string>& vars, const std::string& kv);

/** Go's strconv.ParseBool (1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False). */
absl::StatusOr<bool> parseGoBool(const std::string& text);

}  // namespace kuma::dp
