#include "source/dp/config.h"

#include <unistd.h>

#include <limits>

#include "CLI/CLI.hpp"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/common/go_duration.h"
#include "source/common/status_macros.h"

extern char** environ;

namespace kuma::dp {
namespace {

const char* const kEnvoyLogLevels[] = {"trace", "debug", "info",     "warning",
                                       "warn",  "error", "critical", "off"};

absl::Status envError(const std::string& var, const std::string& value, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value \"", value, "\" of ", var, ": ", std::string(why)));
}

// Reads one environment variable into a typed field; absent leaves the default.
class EnvReader {
 public:
  explicit EnvReader(const Environment& env) : env_(env) {}

  absl::Status string(const char* var, std::string& out) {
    if (auto it = env_.find(var); it != env_.end()) {
      out = it->second;
    }
    return absl::OkStatus();
  }
  absl::Status boolean(const char* var, bool& out) {
    auto it = env_.find(var);
    if (it == env_.end()) {
      return absl::OkStatus();
    }
    auto v = parseGoBool(it->second);
    if (!v.ok()) {
      return envError(var, it->second, "not a boolean");
    }
    out = *v;
    return absl::OkStatus();
  }
  absl::Status port(const char* var, uint16_t& out) {
    auto it = env_.find(var);
    if (it == env_.end()) {
      return absl::OkStatus();
    }
    uint32_t v = 0;
    if (!absl::SimpleAtoi(it->second, &v) || v > 65535) {
      return envError(var, it->second, "not a port number (0-65535)");
    }
    out = static_cast<uint16_t>(v);
    return absl::OkStatus();
  }
  absl::Status uint32(const char* var, uint32_t& out) {
    auto it = env_.find(var);
    if (it == env_.end()) {
      return absl::OkStatus();
    }
    if (!absl::SimpleAtoi(it->second, &out)) {
      return envError(var, it->second, "not a non-negative integer");
    }
    return absl::OkStatus();
  }
  absl::Status uint64(const char* var, uint64_t& out) {
    auto it = env_.find(var);
    if (it == env_.end()) {
      return absl::OkStatus();
    }
    if (!absl::SimpleAtoi(it->second, &out)) {
      return envError(var, it->second, "not a non-negative integer");
    }
    return absl::OkStatus();
  }
  absl::Status duration(const char* var, std::chrono::nanoseconds& out) {
    auto it = env_.find(var);
    if (it == env_.end()) {
      return absl::OkStatus();
    }
    auto d = common::parseGoDuration(it->second);
    if (!d.ok()) {
      return envError(var, it->second, d.status().message());
    }
    out = *d;
    return absl::OkStatus();
  }

 private:
  const Environment& env_;
};

absl::Status applyEnvironment(const Environment& env, Config& c) {
  EnvReader r(env);
  KUMA_RETURN_IF_ERROR(r.string("KUMA_CONTROL_PLANE_URL", c.controlPlane.url));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_CONTROL_PLANE_CA_CERT", c.controlPlane.caCert));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_CONTROL_PLANE_CA_CERT_FILE", c.controlPlane.caCertFile));
  KUMA_RETURN_IF_ERROR(r.boolean("KUMA_CONTROL_PLANE_TLS_SKIP_VERIFY", c.controlPlane.skipVerify));
  KUMA_RETURN_IF_ERROR(r.duration("KUMA_CONTROL_PLANE_RETRY_BACKOFF", c.controlPlane.retryBackoff));
  KUMA_RETURN_IF_ERROR(
      r.duration("KUMA_CONTROL_PLANE_RETRY_MAX_DURATION", c.controlPlane.retryMaxDuration));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_MESH", c.dataplane.mesh));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_NAME", c.dataplane.name));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_PROXY_TYPE", c.dataplane.proxyType));
  KUMA_RETURN_IF_ERROR(r.duration("KUMA_DATAPLANE_DRAIN_TIME", c.dataplane.drainTime));
  KUMA_RETURN_IF_ERROR(r.port("KUMA_READINESS_PORT", c.readinessPort));
  RuntimeConfig& rt = c.runtime;
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_RUNTIME_BINARY_PATH", rt.binaryPath));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_RUNTIME_WORK_DIR", rt.workDir));
  KUMA_RETURN_IF_ERROR(r.duration("KUMA_DATAPLANE_RUNTIME_DYNAMIC_CONFIGURATION_REFRESH_INTERVAL",
                                  rt.dynamicConfigRefresh));
  KUMA_RETURN_IF_ERROR(r.uint32("KUMA_DATAPLANE_RUNTIME_CONCURRENCY", rt.concurrency));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_RUNTIME_TOKEN_PATH", rt.tokenPath));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_RUNTIME_TOKEN", rt.token));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_RUNTIME_RESOURCE", rt.resource));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_RUNTIME_RESOURCE_PATH", rt.resourcePath));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_RUNTIME_ENVOY_LOG_LEVEL", rt.envoyLogLevel));
  KUMA_RETURN_IF_ERROR(
      r.string("KUMA_DATAPLANE_RUNTIME_ENVOY_COMPONENT_LOG_LEVEL", rt.envoyComponentLogLevel));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_RUNTIME_SOCKET_DIR", rt.socketDir));
  KUMA_RETURN_IF_ERROR(r.boolean("KUMA_DATAPLANE_RUNTIME_BIND_OUTBOUNDS", rt.bindOutbounds));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_RUNTIME_ENVOY_XDS_TRANSPORT_PROTOCOL_VARIANT",
                                rt.xdsTransportProtocolVariant));
  KUMA_RETURN_IF_ERROR(r.boolean("KUMA_DATAPLANE_RUNTIME_IPV6_ENABLED", rt.ipv6Enabled));
  KUMA_RETURN_IF_ERROR(
      r.boolean("KUMA_DATAPLANE_RUNTIME_STRICT_INBOUND_PORTS_ENABLED", rt.strictInboundPorts));
  KUMA_RETURN_IF_ERROR(r.boolean("KUMA_DATAPLANE_RUNTIME_REUSE_PORT_ENABLED", rt.reusePort));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_RUNTIME_METRICS_CERT_PATH", rt.metricsCertPath));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DATAPLANE_RUNTIME_METRICS_KEY_PATH", rt.metricsKeyPath));
  KUMA_RETURN_IF_ERROR(r.uint64("KUMA_DATAPLANE_RESOURCES_MAX_MEMORY_BYTES", rt.maxMemoryBytes));
  DnsConfig& dns = c.dns;
  KUMA_RETURN_IF_ERROR(r.boolean("KUMA_DNS_ENABLED", dns.enabled));
  KUMA_RETURN_IF_ERROR(r.port("KUMA_DNS_CORE_DNS_PORT", dns.coreDnsPort));
  KUMA_RETURN_IF_ERROR(r.port("KUMA_DNS_ENVOY_DNS_PORT", dns.envoyDnsPort));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DNS_CORE_DNS_BINARY_PATH", dns.coreDnsBinaryPath));
  KUMA_RETURN_IF_ERROR(
      r.string("KUMA_DNS_CORE_DNS_CONFIG_TEMPLATE_PATH", dns.coreDnsConfigTemplatePath));
  KUMA_RETURN_IF_ERROR(r.string("KUMA_DNS_CONFIG_DIR", dns.configDir));
  KUMA_RETURN_IF_ERROR(r.port("KUMA_DNS_PROMETHEUS_PORT", dns.prometheusPort));
  KUMA_RETURN_IF_ERROR(r.boolean("KUMA_DNS_ENABLE_LOGGING", dns.coreDnsLogging));
  KUMA_RETURN_IF_ERROR(r.port("KUMA_DNS_PROXY_PORT", dns.proxyPort));
  if (auto it = env.find("KUBERNETES_SERVICE_HOST"); it != env.end() && !it->second.empty()) {
    c.onKubernetes = true;
  }
  return absl::OkStatus();
}

bool isEnvoyLogLevel(const std::string& level) {
  for (const char* known : kEnvoyLogLevels) {
    if (level == known) {
      return true;
    }
  }
  return false;
}

absl::Status validate(const Config& c) {
  const std::string& url = c.controlPlane.url;
  if (!url.starts_with("https://") && !url.starts_with("http://")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid control plane URL \"", url, "\" (--cp-address): scheme must be http or https"));
  }
  const std::string& type = c.dataplane.proxyType;
  if (type != "dataplane" && type != "ingress" && type != "egress") {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid proxy type \"", type, "\" (--proxy-type): one of dataplane, ingress, egress"));
  }
  const RuntimeConfig& rt = c.runtime;
  if (!rt.resource.empty() && !rt.resourcePath.empty()) {
    return absl::InvalidArgumentError(
        "--dataplane and --dataplane-file cannot be used together: give the definition once");
  }
  const bool hasDefinition = !rt.resource.empty() || !rt.resourcePath.empty();
  if (hasDefinition && (!c.dataplane.name.empty() || !c.dataplane.mesh.empty())) {
    return absl::InvalidArgumentError(
        "--name and --mesh cannot be specified when a dataplane definition is provided; mesh and "
        "name are read from the definition");
  }
  if (!hasDefinition && c.dataplane.name.empty()) {
    return absl::InvalidArgumentError(
        "--name is required (or a dataplane definition with --dataplane-file)");
  }
  if (!hasDefinition && c.dataplane.mesh.empty()) {
    return absl::InvalidArgumentError(
        "--mesh is required (or a dataplane definition with --dataplane-file)");
  }
  if (!rt.token.empty() && !rt.tokenPath.empty()) {
    return absl::InvalidArgumentError(
        "--dataplane-token and --dataplane-token-file cannot be used together");
  }
  if (!rt.envoyLogLevel.empty() && !isEnvoyLogLevel(rt.envoyLogLevel)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid Envoy log level \"", rt.envoyLogLevel,
                     "\" (--envoy-log-level): one of trace, debug, info, warning, warn, error, "
                     "critical, off"));
  }
  if (rt.xdsTransportProtocolVariant != "" && rt.xdsTransportProtocolVariant != "GRPC" &&
      rt.xdsTransportProtocolVariant != "DELTA_GRPC") {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid KUMA_DATAPLANE_RUNTIME_ENVOY_XDS_TRANSPORT_PROTOCOL_VARIANT \"",
                     rt.xdsTransportProtocolVariant, "\": GRPC or DELTA_GRPC"));
  }
  if (c.logLevel != "off" && c.logLevel != "info" && c.logLevel != "debug") {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid log level \"", c.logLevel, "\" (--log-level): off, info or debug"));
  }
  if (c.controlPlane.retryBackoff <= std::chrono::nanoseconds::zero()) {
    return absl::InvalidArgumentError("KUMA_CONTROL_PLANE_RETRY_BACKOFF must be positive");
  }
  if (c.dataplane.drainTime < std::chrono::nanoseconds::zero()) {
    return absl::InvalidArgumentError("--drain-time must not be negative");
  }
  return absl::OkStatus();
}

}  // namespace

Environment processEnvironment() {
  Environment env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    std::string key(kv.substr(0, eq));
    if (key.starts_with("KUMA_") || key == "KUBERNETES_SERVICE_HOST") {
      env[key] = std::string(kv.substr(eq + 1));
    }
  }
  return env;
}

absl::StatusOr<bool> parseGoBool(const std::string& text) {
  if (text == "1" || text == "t" || text == "T" || text == "TRUE" || text == "true" ||
      text == "True") {
    return true;
  }
  if (text == "0" || text == "f" || text == "F" || text == "FALSE" || text == "false" ||
      text == "False") {
    return false;
  }
  return absl::InvalidArgumentError(absl::StrCat("invalid boolean \"", text, "\""));
}

absl::Status addDataplaneVar(std::map<std::string, std::string>& vars, const std::string& kv) {
  const auto eq = kv.find('=');
  if (eq == std::string::npos || eq == 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid dataplane variable \"", kv,
                                                   "\" (-v/--dataplane-var): want key=value"));
  }
  vars[kv.substr(0, eq)] = kv.substr(eq + 1);
  return absl::OkStatus();
}

bool RunFlags::Given::has(const std::string& name) const {
  auto it = options.find(name);
  return it != options.end() && it->second->count() > 0;
}

void RunFlags::addTo(CLI::App* cmd) {
  auto opt = [&](const std::string& names, auto& value, const std::string& help) {
    CLI::Option* o = cmd->add_option(names, value, help);
    given_.options[names] = o;
    return o;
  };
  auto flag = [&](const std::string& names, bool& value, const std::string& help) {
    CLI::Option* o = cmd->add_flag(names, value, help);
    given_.options[names] = o;
    return o;
  };
  opt("--name", name_, "Name of the Dataplane (KUMA_DATAPLANE_NAME)");
  opt("--mesh", mesh_, "Mesh that the Dataplane belongs to (KUMA_DATAPLANE_MESH)");
  opt("--proxy-type", proxyType_,
      "type of the Dataplane (\"dataplane\", \"ingress\", \"egress\") [default: dataplane]");
  opt("--drain-time", drainTime_,
      "drain time for Envoy connections on kuma-dp shutdown, a Go duration [default: 30s]");
  opt("--cp-address", cpAddress_,
      "URL of the Control Plane Dataplane Server [default: https://localhost:5678]");
  opt("--ca-cert-file", caCertFile_,
      "path to the CA certificate that verifies the Control Plane's DP server");
  flag("--skip-verify", skipVerify_,
       "skip verifying the Control Plane's certificate (KUMA_CONTROL_PLANE_TLS_SKIP_VERIFY)");
  opt("--binary-path", binaryPath_, "path to the Envoy binary [default: envoy]");
  opt("--concurrency", concurrency_,
      "number of Envoy worker threads; 0 or unset: from the CPU limit (see below)");
  opt("--work-dir", workDir_,
      "directory for generated files (bootstrap.yaml, sockets) [default: a kuma-dp-* temp dir]");
  opt("--config-dir", configDir_, "deprecated, ignored: use --work-dir");
  opt("--dataplane-token-file", tokenFile_, "path to a file with the dataplane token");
  opt("--dataplane-token", token_, "the dataplane token itself");
  opt("--dataplane", dataplane_, "Dataplane template to apply (YAML or JSON)");
  opt("-d,--dataplane-file", dataplaneFile_, "path to the Dataplane template to apply");
  opt("-v,--dataplane-var", vars_, "variable for the Dataplane template, key=value (repeatable)");
  opt("--envoy-log-level", envoyLogLevel_,
      "Envoy log level (trace|debug|info|warning|error|critical|off); default: --log-level");
  opt("--envoy-component-log-level", envoyComponentLogLevel_,
      "Envoy per-component log levels, e.g. upstream:debug,connection:trace");
  opt("--metrics-cert-path", metricsCertPath_, "certificate for the metrics endpoint");
  opt("--metrics-key-path", metricsKeyPath_, "key for the metrics endpoint");
  flag("--bind-outbounds", bindOutbounds_, "bind outbound listeners to their own addresses");
  flag("--dns-enabled", dnsEnabled_,
       "run kuma-dp's DNS proxy next to Envoy [default: true]: on --dns-coredns-port asking "
       "Envoy's DNS listener first (in place of Kuma's CoreDNS), or the embedded proxy on "
       "KUMA_DNS_PROXY_PORT; --dns-enabled=false turns it off");
  opt("--dns-envoy-port", dnsEnvoyPort_, "port of Envoy's DNS filter [default: 15054]");
  opt("--dns-coredns-port", dnsCorednsPort_,
      "port the DNS proxy listens on (Kuma's CoreDNS port) [default: 15053]");
  opt("--dns-coredns-path", corednsPath_,
      "path to the coredns binary [default: coredns; unused, kuma-cpp runs its own proxy]");
  opt("--dns-coredns-config-template-path", corednsTemplatePath_, "path to a Corefile template");
  opt("--dns-server-config-dir", dnsConfigDir_, "directory for the generated Corefile");
  opt("--dns-prometheus-port", dnsPrometheusPort_, "CoreDNS metrics port [default: 19153]");
  flag("--dns-enable-logging", dnsLogging_, "log every DNS query");
  flag("--transparent-proxy", transparentProxy_, "not supported by kuma-cpp's kuma-dp yet");
  opt("--transparent-proxy-config", transparentProxyConfig_,
      "not supported by kuma-cpp's kuma-dp yet");
  opt("--log-level", logLevel_, "kuma-dp log level: off|info|debug [default: info]");
}

absl::Status RunFlags::applyTo(Config& c) const {
  auto duration = [](const std::string& flag, const std::string& text,
                     std::chrono::nanoseconds& out) -> absl::Status {
    auto d = common::parseGoDuration(text);
    if (!d.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid argument \"", text, "\" for \"", flag,
                                                     "\" flag: ", d.status().message()));
    }
    out = *d;
    return absl::OkStatus();
  };
  const Given& g = given_;
  if (g.has("--name")) {
    c.dataplane.name = name_;
  }
  if (g.has("--mesh")) {
    c.dataplane.mesh = mesh_;
  }
  if (g.has("--proxy-type")) {
    c.dataplane.proxyType = proxyType_;
  }
  if (g.has("--drain-time")) {
    KUMA_RETURN_IF_ERROR(duration("--drain-time", drainTime_, c.dataplane.drainTime));
  }
  if (g.has("--cp-address")) {
    c.controlPlane.url = cpAddress_;
  }
  if (g.has("--ca-cert-file")) {
    c.controlPlane.caCertFile = caCertFile_;
  }
  if (g.has("--skip-verify")) {
    c.controlPlane.skipVerify = skipVerify_;
  }
  if (g.has("--binary-path")) {
    c.runtime.binaryPath = binaryPath_;
  }
  if (g.has("--concurrency")) {
    c.runtime.concurrency = concurrency_;
  }
  if (g.has("--work-dir")) {
    c.runtime.workDir = workDir_;
  }
  if (g.has("--config-dir")) {
    c.warnings.push_back("--config-dir is deprecated and ignored");
  }
  if (g.has("--dataplane-token-file")) {
    c.runtime.tokenPath = tokenFile_;
  }
  if (g.has("--dataplane-token")) {
    c.runtime.token = token_;
  }
  if (g.has("--dataplane")) {
    c.runtime.resource = dataplane_;
  }
  if (g.has("-d,--dataplane-file")) {
    c.runtime.resourcePath = dataplaneFile_;
  }
  if (g.has("-v,--dataplane-var")) {
    for (const std::string& kv : vars_) {
      KUMA_RETURN_IF_ERROR(addDataplaneVar(c.runtime.resourceVars, kv));
    }
  }
  if (g.has("--envoy-log-level")) {
    c.runtime.envoyLogLevel = envoyLogLevel_;
  }
  if (g.has("--envoy-component-log-level")) {
    c.runtime.envoyComponentLogLevel = envoyComponentLogLevel_;
  }
  if (g.has("--metrics-cert-path")) {
    c.runtime.metricsCertPath = metricsCertPath_;
  }
  if (g.has("--metrics-key-path")) {
    c.runtime.metricsKeyPath = metricsKeyPath_;
  }
  if (g.has("--bind-outbounds")) {
    c.runtime.bindOutbounds = bindOutbounds_;
  }
  if (g.has("--dns-enabled")) {
    c.dns.enabled = dnsEnabled_;
  }
  if (g.has("--dns-envoy-port")) {
    c.dns.envoyDnsPort = dnsEnvoyPort_;
  }
  if (g.has("--dns-coredns-port")) {
    c.dns.coreDnsPort = dnsCorednsPort_;
  }
  if (g.has("--dns-coredns-path")) {
    c.dns.coreDnsBinaryPath = corednsPath_;
  }
  if (g.has("--dns-coredns-config-template-path")) {
    c.dns.coreDnsConfigTemplatePath = corednsTemplatePath_;
  }
  if (g.has("--dns-server-config-dir")) {
    c.dns.configDir = dnsConfigDir_;
  }
  if (g.has("--dns-prometheus-port")) {
    c.dns.prometheusPort = dnsPrometheusPort_;
  }
  if (g.has("--dns-enable-logging")) {
    c.dns.coreDnsLogging = dnsLogging_;
  }
  if (g.has("--transparent-proxy")) {
    c.transparentProxy = transparentProxy_;
  }
  if (g.has("--transparent-proxy-config")) {
    c.transparentProxyConfig = transparentProxyConfig_;
  }
  if (g.has("--log-level")) {
    c.logLevel = logLevel_;
  }
  return absl::OkStatus();
}

absl::StatusOr<Config> loadConfig(const Environment& env, const RunFlags* flags) {
  Config config;
  KUMA_RETURN_IF_ERROR(applyEnvironment(env, config));
  if (flags != nullptr) {
    KUMA_RETURN_IF_ERROR(flags->applyTo(config));
  }
  KUMA_RETURN_IF_ERROR(validate(config));
  return config;
}

}  // namespace kuma::dp
