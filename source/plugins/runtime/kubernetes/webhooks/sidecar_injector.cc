#include "source/plugins/runtime/kubernetes/webhooks/sidecar_injector.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "source/common/go_duration.h"
#include "source/common/json_yaml.h"
#include "source/common/status_macros.h"
#include "source/plugins/runtime/kubernetes/annotations.h"
#include "source/plugins/runtime/kubernetes/pod_converter.h"

namespace kuma::k8s::webhooks {
namespace {

using runtime::Annotations;
using runtime::stringMap;

// Kuma's annotation keys (pkg/plugins/runtime/k8s/metadata/annotations.go).
constexpr char kSidecarInjected[] = "kuma.io/sidecar-injected";
constexpr char kTransparentProxying[] = "kuma.io/transparent-proxying";
constexpr char kSidecarUid[] = "kuma.io/sidecar-uid";
constexpr char kInboundPort[] = "kuma.io/transparent-proxying-inbound-port";
constexpr char kOutboundPort[] = "kuma.io/transparent-proxying-outbound-port";
constexpr char kIpFamilyMode[] = "kuma.io/transparent-proxying-ip-family-mode";
constexpr char kCncfNetworks[] = "k8s.v1.cni.cncf.io/networks";
constexpr char kEbpf[] = "kuma.io/transparent-proxying-ebpf";
constexpr char kEbpfBpffsPath[] = "kuma.io/transparent-proxying-ebpf-bpf-fs-path";
constexpr char kEbpfCgroupPath[] = "kuma.io/transparent-proxying-ebpf-cgroup-path";
constexpr char kEbpfTcAttachIface[] = "kuma.io/transparent-proxying-ebpf-tc-attach-iface";
constexpr char kEbpfInstanceIpEnv[] = "kuma.io/transparent-proxying-ebpf-instance-ip-env-var-name";
constexpr char kEbpfProgramsPath[] = "kuma.io/transparent-proxying-ebpf-programs-source-path";
constexpr char kBuiltinDns[] = "kuma.io/builtin-dns";
constexpr char kBuiltinDnsPort[] = "kuma.io/builtin-dns-port";
constexpr char kBuiltinDnsLogging[] = "kuma.io/builtin-dns-logging";
constexpr char kVirtualProbes[] = "kuma.io/virtual-probes";
constexpr char kVirtualProbesPort[] = "kuma.io/virtual-probes-port";
constexpr char kAppProbeProxyPort[] = "kuma.io/application-probe-proxy-port";
constexpr char kGateway[] = "kuma.io/gateway";
constexpr char kExcludeInboundPorts[] = "traffic.kuma.io/exclude-inbound-ports";
constexpr char kExcludeOutboundPorts[] = "traffic.kuma.io/exclude-outbound-ports";
constexpr char kExcludeOutboundPortsForUids[] = "traffic.kuma.io/exclude-outbound-ports-for-uids";
constexpr char kExcludeInboundIps[] = "traffic.kuma.io/exclude-inbound-ips";
constexpr char kExcludeOutboundIps[] = "traffic.kuma.io/exclude-outbound-ips";
constexpr char kDropInvalidPackets[] = "traffic.kuma.io/drop-invalid-packets";
constexpr char kIptablesLogs[] = "traffic.kuma.io/iptables-logs";
constexpr char kEnvoyAdminPort[] = "kuma.io/envoy-admin-port";
constexpr char kSidecarEnvVars[] = "kuma.io/sidecar-env-vars";
constexpr char kSidecarDrainTime[] = "kuma.io/sidecar-drain-time";
constexpr char kContainerPatches[] = "kuma.io/container-patches";
constexpr char kEnvoyLogLevel[] = "kuma.io/envoy-log-level";
constexpr char kEnvoyComponentLogLevel[] = "kuma.io/envoy-component-log-level";
constexpr char kInitFirst[] = "kuma.io/init-first";
constexpr char kWaitForDataplaneReady[] = "kuma.io/wait-for-dataplane-ready";
constexpr char kXdsTransportProtocol[] = "kuma.io/xds-transport-protocol-variant";
constexpr char kSpireSupport[] = "k8s.kuma.io/spire-support";
constexpr char kTokenVolume[] = "kuma.io/service-account-token-volume";
constexpr char kZoneProxyTypeLabel[] = "k8s.kuma.io/zone-proxy-type";
constexpr char kDefaultContainer[] = "kubectl.kubernetes.io/default-container";

constexpr char kServiceAccountTokenPath[] = "/var/run/secrets/kubernetes.io/serviceaccount";
constexpr char kSidecarTmpVolume[] = "kuma-sidecar-tmp";
constexpr char kInitTmpVolume[] = "kuma-init-tmp";
constexpr char kSpireVolume[] = "kuma-spire-agent-socket";

// Kuma's transparent-proxy defaults (pkg/transparentproxy/config).
constexpr char kDefaultOwnerUid[] = "5678";
constexpr char kDefaultIpFamilyMode[] = "dualstack";
constexpr uint32_t kDefaultOutboundPort = 15001;
constexpr uint32_t kDefaultInboundPort = 15006;
constexpr uint32_t kDefaultDnsPort = 15053;

using StringMap = std::map<std::string, std::string>;

const Json& metadataOf(const Json& object) {
  return common::jsonMember(object, "metadata");
}

StringMap labelsOf(const Json& object) {
  return stringMap(common::jsonMember(metadataOf(object), "labels"));
}

/** Annotations.GetEnabledWithDefault: the value, or `def` when absent. */
absl::StatusOr<bool> enabledOr(const Annotations& a, const std::string& key, bool def) {
  KUMA_ASSIGN_OR_RETURN(auto v, a.enabled(key));
  return v.second ? v.first : def;
}

/** Annotations.GetBoolean: true/yes, false/no only. */
absl::StatusOr<bool> booleanOf(const Annotations& a, const std::string& key) {
  const std::string* value = a.find(key);
  if (value == nullptr) {
    return false;
  }
  if (*value == "true" || *value == "yes") {
    return true;
  }
  if (*value == "false" || *value == "no") {
    return false;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("annotation \"", key, "\" has wrong value \"", *value, "\""));
}

absl::StatusOr<uint32_t> uint32Or(const Annotations& a, const std::string& key, uint32_t def) {
  KUMA_ASSIGN_OR_RETURN(std::optional<uint32_t> v, a.uint32(key));
  return v.value_or(def);
}

std::string stringOr(const Annotations& a, const std::string& key, const std::string& def) {
  const std::string* v = a.find(key);
  return v == nullptr ? def : *v;
}

std::string joinPorts(const std::vector<uint32_t>& ports) {
  return absl::StrJoin(ports, ",");
}

Json emptyDirVolume(const char* name) {
  return Json{{"name", name}, {"emptyDir", Json{{"sizeLimit", "10M"}}}};
}

/** An integer member, 0 when absent or not an integer. */
int64_t intMember(const Json& object, const char* key) {
  const Json& v = common::jsonMember(object, key);
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

/** Kubernetes' IntOrString.IntValue(): a number, or a string's integer value (else 0). */
int64_t intValue(const Json& port) {
  if (port.is_number_integer()) {
    return port.get<int64_t>();
  }
  if (port.is_string()) {
    int64_t v = 0;
    return absl::SimpleAtoi(port.get<std::string>(), &v) ? v : 0;
  }
  return 0;
}

/** A quantity string as resource.MustParse would accept it, or Kuma's panic as an error. */
absl::Status checkQuantity(const std::string& what, const std::string& q) {
  if (auto v = quantityMilliValue(q); !v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("runtime.kubernetes.injector.", what, ": ", v.status().message()));
  }
  return absl::OkStatus();
}

Json limitsOf(const config::ResourceQuantities& limits) {
  Json out = Json::object();
  out["memory"] = limits.memory;
  if (auto cpu = quantityMilliValue(limits.cpu); cpu.ok() && *cpu != 0) {
    out["cpu"] = limits.cpu;
  }
  return out;
}

Json probeOf(uint32_t port, const config::ProbeConfig& c, bool configurableSuccess) {
  Json probe = Json{{"httpGet", Json{{"path", "/ready"}, {"port", port}}}};
  const auto put = [&probe](const char* key, int32_t value) {
    if (value != 0) {  // Go's omitempty
      probe[key] = value;
    }
  };
  put("initialDelaySeconds", c.initialDelaySeconds);
  put("timeoutSeconds", c.timeoutSeconds);
  put("periodSeconds", c.periodSeconds);
  put("successThreshold", configurableSuccess ? c.successThreshold : 1);
  put("failureThreshold", c.failureThreshold);
  return probe;
}

Json fieldRefEnv(const char* name, const char* path) {
  return Json{{"name", name},
              {"valueFrom", Json{{"fieldRef", Json{{"apiVersion", "v1"}, {"fieldPath", path}}}}}};
}

/** Kuma's sidecarEnvVars: a map by name, sorted by name. */
absl::StatusOr<Json> sidecarEnv(const std::string& mesh, const Annotations& a,
                                const InjectorOptions& o) {
  const config::InjectorConfig& cfg = o.injector;
  std::map<std::string, Json> env;
  const auto value = [&env](const std::string& name, const std::string& v) {
    Json e = Json{{"name", name}};
    if (!v.empty()) {  // Go's omitempty
      e["value"] = v;
    }
    env[name] = std::move(e);
  };
  std::string drainTime = common::formatGoDuration(
      std::chrono::duration_cast<std::chrono::nanoseconds>(cfg.sidecarContainer.drainTime));
  if (const std::string* d = a.find(kSidecarDrainTime); d != nullptr) {
    auto parsed = common::parseGoDuration(*d);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("time: invalid duration \"", *d, "\""));
    }
    drainTime = common::formatGoDuration(*parsed);
  }
  env["POD_NAME"] = fieldRefEnv("POD_NAME", "metadata.name");
  env["POD_NAMESPACE"] = fieldRefEnv("POD_NAMESPACE", "metadata.namespace");
  env["INSTANCE_IP"] = fieldRefEnv("INSTANCE_IP", "status.podIP");
  value("KUMA_CONTROL_PLANE_URL", o.controlPlaneUrl);
  value("KUMA_DATAPLANE_MESH", mesh);
  value("KUMA_DATAPLANE_DRAIN_TIME", drainTime);
  value("KUMA_DATAPLANE_RUNTIME_TOKEN_PATH", absl::StrCat(kServiceAccountTokenPath, "/token"));
  value("KUMA_CONTROL_PLANE_CA_CERT", o.caCert);
  if (o.deltaXds) {
    value("KUMA_DATAPLANE_RUNTIME_ENVOY_XDS_TRANSPORT_PROTOCOL_VARIANT", "DELTA_GRPC");
  }
  if (const std::string* v = a.find(kXdsTransportProtocol); v != nullptr) {
    value("KUMA_DATAPLANE_RUNTIME_ENVOY_XDS_TRANSPORT_PROTOCOL_VARIANT", *v);
  }
  if (cfg.builtinDNS.enabled) {
    value("KUMA_DNS_ENABLED", "true");
    value("KUMA_DNS_ENABLE_LOGGING", cfg.builtinDNS.logging ? "true" : "false");
    if (cfg.builtinDNS.experimentalProxy) {
      value("KUMA_DNS_PROXY_PORT", std::to_string(cfg.builtinDNS.port));
    } else {
      value("KUMA_DNS_CORE_DNS_PORT", std::to_string(cfg.builtinDNS.port));
      value("KUMA_DNS_ENVOY_DNS_PORT", std::to_string(cfg.builtinDNS.port + 2));
      value("KUMA_DNS_CORE_DNS_BINARY_PATH", "coredns");
    }
  } else {
    value("KUMA_DNS_ENABLED", "false");
  }
  if (const std::string* v = a.find(kEnvoyLogLevel); v != nullptr) {
    value("KUMA_DATAPLANE_RUNTIME_ENVOY_LOG_LEVEL", *v);
  }
  if (const std::string* v = a.find(kEnvoyComponentLogLevel); v != nullptr) {
    value("KUMA_DATAPLANE_RUNTIME_ENVOY_COMPONENT_LOG_LEVEL", *v);
  }
  if (cfg.unifiedResourceNamingEnabled) {
    value("KUMA_DATAPLANE_RUNTIME_UNIFIED_RESOURCE_NAMING_ENABLED", "true");
  }
  if (cfg.otelPipeEnabled) {
    env["HOST_IP"] = fieldRefEnv("HOST_IP", "status.hostIP");
  } else {
    value("KUMA_DATAPLANE_RUNTIME_OTEL_PIPE_ENABLED", "false");
  }
  KUMA_ASSIGN_OR_RETURN(bool spire, enabledOr(a, kSpireSupport, cfg.spire.enabled));
  if (spire) {
    value("KUMA_DATAPLANE_RUNTIME_SPIRE_SUPPORTED", "true");
  }
  // The probe proxy port the annotations below will carry (SetApplicationProbeProxyPortAnnotation).
  KUMA_ASSIGN_OR_RETURN(std::optional<uint32_t> probePort, a.uint32(kAppProbeProxyPort));
  if (a.find(kGateway) != nullptr) {
    if (probePort.has_value() && *probePort > 0) {
      return absl::InvalidArgumentError(
          "unable to set kuma.io/application-probe-proxy-port: application probe proxies probes "
          "can't be enabled in gateway mode");
    }
    value("KUMA_APPLICATION_PROBE_PROXY_PORT", "0");
  } else {
    value("KUMA_APPLICATION_PROBE_PROXY_PORT",
          std::to_string(probePort.value_or(cfg.applicationProbeProxyPort)));
  }
  for (const auto& [name, v] : cfg.sidecarContainer.envVars) {
    value(name, v);
  }
  if (const std::string* pairs = a.find(kSidecarEnvVars); pairs != nullptr) {
    for (absl::string_view pair : absl::StrSplit(*pairs, ';')) {
      std::vector<std::string> kv = absl::StrSplit(pair, '=');
      if (kv.size() != 2) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid format. Map in \"", kSidecarEnvVars,
                         "\" has to be provided in the following format: key1=value1;key2=value2"));
      }
      value(kv[0], kv[1]);
    }
  }
  Json out = Json::array();
  for (auto& [name, e] : env) {
    out.push_back(std::move(e));
  }
  return out;
}

/** Kuma's DataplaneProxyFactory.NewContainer plus NewSidecarContainer's mounts. */
absl::StatusOr<Json> sidecarContainer(const Json& pod, const std::string& mesh,
                                      const Annotations& a, const InjectorOptions& o) {
  const config::SidecarContainerConfig& sc = o.injector.sidecarContainer;
  KUMA_ASSIGN_OR_RETURN(Json env, sidecarEnv(mesh, a, o));
  KUMA_ASSIGN_OR_RETURN(std::optional<int64_t> concurrency,
                        sidecarConcurrency(metadataOf(pod).value("annotations", Json::object()),
                                           sc.resources.limits.cpu));
  KUMA_ASSIGN_OR_RETURN(uint32_t adminPort, uint32Or(a, kEnvoyAdminPort, 0));
  if (adminPort == 0) {
    adminPort = o.envoyAdminPort;
  }
  const uint32_t probePort = o.envoyAdminUnixSocket ? o.readinessPort : adminPort;
  KUMA_ASSIGN_OR_RETURN(bool waitReady,
                        enabledOr(a, kWaitForDataplaneReady, sc.waitForDataplaneReady));
  Json args = Json::array({"run", "--log-level=info"});
  if (concurrency.has_value() && *concurrency > 0) {
    args.push_back(absl::StrCat("--concurrency=", *concurrency));
  }
  Json limits = limitsOf(sc.resources.limits);
  limits["ephemeral-storage"] = "1G";
  Json c = Json::object();
  c["name"] = runtime::kSidecarContainerName;
  c["image"] = sc.image;
  c["imagePullPolicy"] = "IfNotPresent";
  c["args"] = std::move(args);
  c["env"] = std::move(env);
  c["securityContext"] = Json{{"runAsUser", sc.uid},
                              {"runAsGroup", sc.gid},
                              {"capabilities", Json{{"drop", Json::array({"ALL"})}}},
                              {"readOnlyRootFilesystem", true},
                              {"allowPrivilegeEscalation", false}};
  c["livenessProbe"] = probeOf(probePort, sc.livenessProbe, false);
  c["readinessProbe"] = probeOf(probePort, sc.readinessProbe, true);
  if (o.sidecarContainersEnabled) {
    c["startupProbe"] = probeOf(probePort, sc.startupProbe, false);
  }
  c["resources"] = Json{{"requests", Json{{"cpu", sc.resources.requests.cpu},
                                          {"memory", sc.resources.requests.memory},
                                          {"ephemeral-storage", "50M"}}},
                        {"limits", std::move(limits)}};
  if (waitReady) {
    c["lifecycle"] = Json{
        {"postStart",
         Json{{"exec", Json{{"command", Json::array({"kuma-dp", "wait", "--url",
                                                     absl::StrCat("http://localhost:", probePort,
                                                                  "/ready")})}}}}}};
  }

  // NewVolumeMounts: the tmp dir, then the service-account token.
  Json mounts = Json::array({Json{{"name", kSidecarTmpVolume}, {"mountPath", "/tmp"}}});
  const Json& spec = common::jsonMember(pod, "spec");
  if (const std::string* volume = a.find(kTokenVolume); volume != nullptr) {
    bool found = false;
    for (const Json& v :
         common::jsonMember(spec, "volumes").is_array() ? spec["volumes"] : Json::array()) {
      found = found || common::jsonString(v, "name") == *volume;
    }
    if (!found) {
      return absl::InvalidArgumentError(absl::StrCat("volume (", *volume, ") specified for ",
                                                     kTokenVolume,
                                                     " but volume does not exist in pod spec"));
    }
    mounts.push_back(
        Json{{"name", *volume}, {"mountPath", kServiceAccountTokenPath}, {"readOnly", true}});
  } else {
    KUMA_ASSIGN_OR_RETURN(bool spire, enabledOr(a, kSpireSupport, o.injector.spire.enabled));
    if (spire) {
      mounts.push_back(Json{
          {"name", kSpireVolume}, {"mountPath", o.injector.spire.mountPath}, {"readOnly", true}});
    }
    const Json& containers = common::jsonMember(spec, "containers");
    bool found = false;
    for (const Json& container : containers.is_array() ? containers : Json::array()) {
      const Json& vms = common::jsonMember(container, "volumeMounts");
      for (const Json& vm : vms.is_array() ? vms : Json::array()) {
        if (!found && common::jsonString(vm, "mountPath") == kServiceAccountTokenPath) {
          mounts.push_back(vm);
          found = true;
        }
      }
    }
  }
  c["volumeMounts"] = std::move(mounts);
  return c;
}

/** Kuma's PodRedirect.AsKumactlCommandLine over the Pod's (already injected) annotations. */
absl::StatusOr<Json> initContainerArgs(const Annotations& a) {
  std::vector<std::string> args;
  const auto flag = [&args](const char* name, const std::string& value) {
    if (!value.empty()) {
      args.push_back(absl::StrCat("--", name, "=", value));
    }
  };
  const std::string uid = stringOr(a, kSidecarUid, "");
  if (uid != kDefaultOwnerUid) {
    flag("kuma-dp-user", uid);
  }
  const std::string family = stringOr(a, kIpFamilyMode, kDefaultIpFamilyMode);
  if (family != kDefaultIpFamilyMode) {
    flag("ip-family-mode", family);
  }
  KUMA_ASSIGN_OR_RETURN(uint32_t outbound, uint32Or(a, kOutboundPort, 0));
  if (outbound != kDefaultOutboundPort && outbound != 0) {
    flag("redirect-outbound-port", std::to_string(outbound));
  }
  flag("exclude-outbound-ports", stringOr(a, kExcludeOutboundPorts, ""));
  const auto trimmedList = [&a](const char* key) {
    std::vector<std::string> out;
    for (absl::string_view item : absl::StrSplit(stringOr(a, key, ""), ',')) {
      item = absl::StripAsciiWhitespace(item);
      if (!item.empty()) {
        out.emplace_back(item);
      }
    }
    return absl::StrJoin(out, ",");
  };
  flag("exclude-outbound-ips", trimmedList(kExcludeOutboundIps));
  if (const std::string* uids = a.find(kExcludeOutboundPortsForUids); uids != nullptr) {
    for (absl::string_view item : absl::StrSplit(*uids, ';')) {
      flag("exclude-outbound-ports-for-uids", std::string(item));
    }
  }
  KUMA_ASSIGN_OR_RETURN(auto gateway, a.enabled(kGateway));
  const bool redirectInbound = !(gateway.second && gateway.first);
  if (!redirectInbound) {
    flag("redirect-inbound", "false");
  } else {
    KUMA_ASSIGN_OR_RETURN(uint32_t inbound, uint32Or(a, kInboundPort, 0));
    if (inbound != kDefaultInboundPort && inbound != 0) {
      flag("redirect-inbound-port", std::to_string(inbound));
    }
    // excludeApplicationProbeProxyPort: the probe proxy's port joins the excluded ones.
    std::string excluded = stringOr(a, kExcludeInboundPorts, "");
    const std::string probePort = stringOr(a, kAppProbeProxyPort, "");
    if (!probePort.empty() && probePort != "0") {
      excluded = excluded.empty() ? probePort : absl::StrCat(excluded, ",", probePort);
    }
    flag("exclude-inbound-ports", excluded);
    flag("exclude-inbound-ips", trimmedList(kExcludeInboundIps));
  }
  KUMA_ASSIGN_OR_RETURN(auto dns, a.enabled(kBuiltinDns));
  if (dns.first) {
    args.push_back("--redirect-all-dns-traffic");
    KUMA_ASSIGN_OR_RETURN(uint32_t dnsPort, uint32Or(a, kBuiltinDnsPort, 0));
    if (dnsPort != kDefaultDnsPort && dnsPort != 0) {
      flag("redirect-dns-port", std::to_string(dnsPort));
    }
  }
  KUMA_ASSIGN_OR_RETURN(auto ebpf, a.enabled(kEbpf));
  if (ebpf.second && ebpf.first) {
    args.push_back("--ebpf-enabled");
    flag("ebpf-bpffs-path", stringOr(a, kEbpfBpffsPath, ""));
    flag("ebpf-cgroup-path", stringOr(a, kEbpfCgroupPath, ""));
    flag("ebpf-tc-attach-iface", stringOr(a, kEbpfTcAttachIface, ""));
    flag("ebpf-programs-source-path", stringOr(a, kEbpfProgramsPath, ""));
    const std::string ipEnv = stringOr(a, kEbpfInstanceIpEnv, "");
    if (!ipEnv.empty()) {
      flag("ebpf-instance-ip", absl::StrCat("$(", ipEnv, ")"));
    }
  }
  // GetBoolean's errors are ignored by Kuma here.
  if (auto drop = booleanOf(a, kDropInvalidPackets); drop.ok() && *drop) {
    args.push_back("--drop-invalid-packets");
  }
  if (auto logs = booleanOf(a, kIptablesLogs); logs.ok() && *logs) {
    args.push_back("--iptables-logs");
  }
  args.push_back("--verbose");
  return Json(args);
}

Json initContainer(Json args, const InjectorOptions& o) {
  const config::InjectorConfig& cfg = o.injector;
  Json c = Json::object();
  c["name"] = kInitContainerName;
  c["image"] = cfg.initContainer.image;
  c["imagePullPolicy"] = "IfNotPresent";
  c["command"] = Json::array({"/usr/bin/kumactl", "install", "transparent-proxy"});
  if (!args.empty()) {
    c["args"] = std::move(args);
  }
  c["env"] = Json::array({Json{{"name", "XTABLES_LOCKFILE"}, {"value", "/tmp/xtables.lock"}}});
  c["securityContext"] = Json{{"runAsUser", 0},
                              {"runAsGroup", 0},
                              {"capabilities", Json{{"add", Json::array({"NET_ADMIN", "NET_RAW"})},
                                                    {"drop", Json::array({"ALL"})}}},
                              {"readOnlyRootFilesystem", true}};
  c["resources"] =
      Json{{"limits", limitsOf(cfg.initContainer.resources.limits)},
           {"requests", Json{{"cpu", cfg.initContainer.resources.requests.cpu},
                             {"memory", cfg.initContainer.resources.requests.memory}}}};
  Json mounts = Json::array({Json{{"name", kInitTmpVolume}, {"mountPath", "/tmp"}}});
  if (cfg.ebpf.enabled) {
    c["securityContext"]["capabilities"] = Json::object();
    c["securityContext"]["privileged"] = true;
    c["env"] =
        Json::array({Json{{"name", cfg.ebpf.instanceIPEnvVarName},
                          {"valueFrom", Json{{"fieldRef", Json{{"fieldPath", "status.podIP"}}}}}}});
    Json limits = Json{{"memory", "80M"}};
    if (auto cpu = quantityMilliValue(cfg.initContainer.resources.limits.cpu);
        cpu.ok() && *cpu != 0) {
      limits["cpu"] = cfg.initContainer.resources.limits.cpu;
    }
    c["resources"]["limits"] = std::move(limits);
    mounts.push_back(Json{{"name", "sys-fs-cgroup"}, {"mountPath", cfg.ebpf.cgroupPath}});
    mounts.push_back(Json{{"name", "bpf-fs"},
                          {"mountPath", cfg.ebpf.bpffsPath},
                          {"mountPropagation", "Bidirectional"}});
  }
  c["volumeMounts"] = std::move(mounts);
  return c;
}

Json validationContainer(const Annotations& a, const InjectorOptions& o) {
  const config::InjectorConfig& cfg = o.injector;
  std::string port = std::to_string(kDefaultInboundPort);
  if (auto v = a.uint32(kInboundPort); v.ok() && v->has_value()) {
    port = std::to_string(**v);
  }
  std::string family = stringOr(a, kIpFamilyMode, "");
  if (family.empty()) {
    family = kDefaultIpFamilyMode;
  }
  Json c = Json::object();
  c["name"] = kValidationContainerName;
  c["image"] = cfg.initContainer.image;
  c["imagePullPolicy"] = "IfNotPresent";
  c["command"] = Json::array({"/usr/bin/kumactl", "install", "transparent-proxy-validator"});
  c["args"] = Json::array({"--config-file=/tmp/.kumactl", absl::StrCat("--ip-family-mode=", family),
                           absl::StrCat("--validation-server-port=", port)});
  c["securityContext"] = Json{{"runAsUser", cfg.sidecarContainer.uid},
                              {"runAsGroup", cfg.sidecarContainer.gid},
                              {"capabilities", Json{{"drop", Json::array({"ALL"})}}},
                              {"readOnlyRootFilesystem", true},
                              {"allowPrivilegeEscalation", false}};
  c["resources"] =
      Json{{"limits", limitsOf(cfg.validationContainer.resources.limits)},
           {"requests", Json{{"cpu", cfg.validationContainer.resources.requests.cpu},
                             {"memory", cfg.validationContainer.resources.requests.memory}}}};
  c["volumeMounts"] = Json::array({Json{{"name", kSidecarTmpVolume}, {"mountPath", "/tmp"}}});
  return c;
}

/** Kuma's (deprecated but default) NewAnnotations. */
absl::StatusOr<StringMap> injectedAnnotations(const Annotations& a, const InjectorOptions& o) {
  const config::InjectorConfig& cfg = o.injector;
  StringMap out = {
      {kSidecarInjected, "true"},
      {kTransparentProxying, "enabled"},
      {kSidecarUid, std::to_string(cfg.sidecarContainer.uid)},
      {kOutboundPort, std::to_string(cfg.sidecarContainer.redirectPortOutbound)},
      {kInboundPort, std::to_string(cfg.sidecarContainer.redirectPortInbound)},
  };
  if (cfg.cniEnabled) {
    out[kCncfNetworks] = "kuma-cni";
  }
  KUMA_ASSIGN_OR_RETURN(bool ebpf, enabledOr(a, kEbpf, cfg.ebpf.enabled));
  if (ebpf) {
    out[kEbpf] = "enabled";
    for (const auto& [key, def] : std::vector<std::pair<const char*, std::string>>{
             {kEbpfBpffsPath, cfg.ebpf.bpffsPath},
             {kEbpfCgroupPath, cfg.ebpf.cgroupPath},
             {kEbpfTcAttachIface, cfg.ebpf.tcAttachIface},
             {kEbpfProgramsPath, cfg.ebpf.programsSourcePath}}) {
      if (std::string v = stringOr(a, key, def); !v.empty()) {
        out[key] = v;
      }
    }
    // Kuma reads this one with GetString(name, key): the configured name is looked up as a key.
    if (const std::string* v = a.find(cfg.ebpf.instanceIPEnvVarName); v != nullptr && !v->empty()) {
      out[kEbpfInstanceIpEnv] = *v;
    } else if (const std::string* v2 = a.find(kEbpfInstanceIpEnv); v2 != nullptr && !v2->empty()) {
      out[kEbpfInstanceIpEnv] = *v2;
    }
  }
  KUMA_ASSIGN_OR_RETURN(bool dns, enabledOr(a, kBuiltinDns, cfg.builtinDNS.enabled));
  if (dns) {
    out[kBuiltinDns] = "enabled";
    KUMA_ASSIGN_OR_RETURN(uint32_t port, uint32Or(a, kBuiltinDnsPort, cfg.builtinDNS.port));
    out[kBuiltinDnsPort] = std::to_string(port);
    KUMA_ASSIGN_OR_RETURN(bool logging, enabledOr(a, kBuiltinDnsLogging, cfg.builtinDNS.logging));
    out[kBuiltinDnsLogging] = logging ? "true" : "false";
  }
  // SetVirtualProbesEnabledAnnotation.
  KUMA_ASSIGN_OR_RETURN(auto vp, a.enabled(kVirtualProbes));
  KUMA_ASSIGN_OR_RETURN(auto gw, a.enabled(kGateway));
  KUMA_ASSIGN_OR_RETURN(std::optional<uint32_t> probeProxy, a.uint32(kAppProbeProxyPort));
  if (gw.first) {
    if (vp.first) {
      return absl::InvalidArgumentError(
          "unable to set kuma.io/virtual-probes: virtual probes can't be enabled in gateway mode");
    }
    out[kVirtualProbes] = "disabled";
  } else if (probeProxy.has_value() && *probeProxy == 0) {
    out[kVirtualProbes] = "enabled";
  } else if (vp.second) {
    out[kVirtualProbes] = vp.first ? "enabled" : "disabled";
  } else {
    out[kVirtualProbes] = cfg.virtualProbesEnabled ? "enabled" : "disabled";
  }
  KUMA_ASSIGN_OR_RETURN(uint32_t vpPort, uint32Or(a, kVirtualProbesPort, cfg.virtualProbesPort));
  out[kVirtualProbesPort] = std::to_string(vpPort);
  // SetApplicationProbeProxyPortAnnotation.
  if (a.find(kGateway) != nullptr) {
    if (probeProxy.has_value() && *probeProxy > 0) {
      return absl::InvalidArgumentError(
          "unable to set kuma.io/application-probe-proxy-port: application probe proxies probes "
          "can't be enabled in gateway mode");
    }
    out[kAppProbeProxyPort] = "0";
  } else {
    out[kAppProbeProxyPort] = std::to_string(probeProxy.value_or(cfg.applicationProbeProxyPort));
  }
  if (std::string v =
          stringOr(a, kExcludeInboundPorts, joinPorts(cfg.sidecarTraffic.excludeInboundPorts));
      !v.empty()) {
    out[kExcludeInboundPorts] = v;
  }
  if (o.envoyAdminUnixSocket && o.readinessPort != 0) {
    const std::string port = std::to_string(o.readinessPort);
    auto it = out.find(kExcludeInboundPorts);
    out[kExcludeInboundPorts] = it == out.end() ? port : absl::StrCat(it->second, ",", port);
  }
  if (std::string v =
          stringOr(a, kExcludeOutboundPorts, joinPorts(cfg.sidecarTraffic.excludeOutboundPorts));
      !v.empty()) {
    out[kExcludeOutboundPorts] = v;
  }
  std::string family = stringOr(a, kIpFamilyMode, cfg.sidecarContainer.ipFamilyMode);
  out[kIpFamilyMode] = family.empty() ? kDefaultIpFamilyMode : family;
  KUMA_ASSIGN_OR_RETURN(uint32_t adminPort, uint32Or(a, kEnvoyAdminPort, o.envoyAdminPort));
  out[kEnvoyAdminPort] = std::to_string(adminPort);
  if (std::string v = stringOr(a, kExcludeOutboundIps,
                               absl::StrJoin(cfg.sidecarTraffic.excludeOutboundIPs, ","));
      !v.empty()) {
    out[kExcludeOutboundIps] = v;
  }
  if (std::string v =
          stringOr(a, kExcludeInboundIps, absl::StrJoin(cfg.sidecarTraffic.excludeInboundIPs, ","));
      !v.empty()) {
    out[kExcludeInboundIps] = v;
  }
  return out;
}

/** A named port of the container, resolved in place (Kuma's namedPortResolver). */
void resolveNamedPort(const Json& container, Json& action) {
  const Json& port = common::jsonMember(action, "port");
  if (intValue(port) != 0 || !port.is_string()) {
    return;
  }
  const Json& ports = common::jsonMember(container, "ports");
  for (const Json& p : ports.is_array() ? ports : Json::array()) {
    const std::string name = common::jsonString(p, "name");
    if (!name.empty() && name == port.get<std::string>()) {
      action["port"] = intMember(p, "containerPort");
      break;
    }
  }
}

std::string reservedPortMessage(uint32_t port) {
  return absl::StrCat("cannot override Pod's probes. Port for probe cannot be set to ", port,
                      ". It is reserved for the dataplane that will serve pods without mTLS.");
}

Json header(const std::string& name, const std::string& value) {
  return Json{{"name", name}, {"value", value}};
}

/** Kuma's ProxiedApplicationProbe.ToVirtual, applied to the probe in place. */
absl::Status proxyProbe(const Json& container, Json& probe, uint32_t proxyPort) {
  const int64_t timeout = intMember(probe, "timeoutSeconds");
  Json headers = Json::array();
  std::string path;
  if (probe.contains("httpGet") && probe["httpGet"].is_object()) {
    Json& get = probe["httpGet"];
    resolveNamedPort(container, get);
    const int64_t appPort = intValue(common::jsonMember(get, "port"));
    if (appPort == proxyPort) {
      return absl::InvalidArgumentError(reservedPortMessage(proxyPort));
    }
    std::string probePath = common::jsonString(get, "path");
    if (!absl::StartsWith(probePath, "/")) {
      probePath = absl::StrCat("/", probePath);
    }
    const Json& given = common::jsonMember(get, "httpHeaders");
    for (const Json& h : given.is_array() ? given : Json::array()) {
      if (common::jsonString(h, "name") == "Host") {
        headers.push_back(header("X-Kuma-Probes-Host", common::jsonString(h, "value")));
      } else {
        headers.push_back(h);
      }
    }
    const std::string scheme = common::jsonString(get, "scheme");
    if (!scheme.empty() && scheme != "HTTP") {
      headers.push_back(header("X-Kuma-Probes-Scheme", scheme));
    }
    if (timeout > 1) {
      headers.push_back(header("X-Kuma-Probes-Timeout", std::to_string(timeout)));
    }
    path = absl::StrCat("/", appPort, probePath);
  } else if (probe.contains("tcpSocket") && probe["tcpSocket"].is_object()) {
    resolveNamedPort(container, probe["tcpSocket"]);
    const int64_t appPort = intValue(common::jsonMember(probe["tcpSocket"], "port"));
    if (appPort == proxyPort) {
      return absl::InvalidArgumentError(reservedPortMessage(proxyPort));
    }
    if (timeout > 1) {
      headers.push_back(header("X-Kuma-Probes-Timeout", std::to_string(timeout)));
    }
    path = absl::StrCat("/tcp/", appPort);
  } else if (probe.contains("grpc") && probe["grpc"].is_object()) {
    const int64_t appPort = intMember(probe["grpc"], "port");
    if (appPort == proxyPort) {
      return absl::InvalidArgumentError(reservedPortMessage(proxyPort));
    }
    if (timeout > 1) {
      headers.push_back(header("X-Kuma-Probes-Timeout", std::to_string(timeout)));
    }
    const std::string service = common::jsonString(probe["grpc"], "service");
    if (!service.empty()) {
      headers.push_back(header("X-Kuma-Probes-GRPC-Service", service));
    }
    path = absl::StrCat("/grpc/", appPort);
  } else {
    return absl::OkStatus();  // exec probes stay as they are
  }
  probe.erase("grpc");
  probe.erase("tcpSocket");
  Json get = Json{{"port", proxyPort}, {"path", path}};
  if (!headers.empty()) {
    get["httpHeaders"] = std::move(headers);
  }
  probe["httpGet"] = std::move(get);
  return absl::OkStatus();
}

/** Kuma's overrideHTTPProbe (virtual probes): HTTP probes only, port and path. */
absl::Status virtualProbe(const Json& container, Json& probe, uint32_t virtualPort) {
  if (!probe.contains("httpGet") || !probe["httpGet"].is_object()) {
    return absl::OkStatus();
  }
  Json& get = probe["httpGet"];
  resolveNamedPort(container, get);
  const int64_t appPort = intValue(common::jsonMember(get, "port"));
  if (appPort == virtualPort) {
    return absl::InvalidArgumentError(reservedPortMessage(virtualPort));
  }
  std::string probePath = common::jsonString(get, "path");
  if (!absl::StartsWith(probePath, "/")) {
    probePath = absl::StrCat("/", probePath);
  }
  get["port"] = virtualPort;
  get["path"] = absl::StrCat("/", appPort, probePath);
  return absl::OkStatus();
}

/** Applies `rewrite` to the probes of the application containers (Kuma's selection). */
absl::Status rewriteProbes(Json& spec,
                           const std::function<absl::Status(const Json&, Json&)>& rewrite) {
  std::vector<Json*> containers;
  bool afterSidecar = false;
  if (spec.contains("initContainers") && spec["initContainers"].is_array()) {
    for (Json& c : spec["initContainers"]) {
      if (common::jsonString(c, "name") == runtime::kSidecarContainerName) {
        afterSidecar = true;
        continue;
      }
      if (afterSidecar && common::jsonString(c, "restartPolicy") == "Always") {
        containers.push_back(&c);
      }
    }
  }
  if (spec.contains("containers") && spec["containers"].is_array()) {
    for (Json& c : spec["containers"]) {
      if (common::jsonString(c, "name") != runtime::kSidecarContainerName) {
        containers.push_back(&c);
      }
    }
  }
  for (Json* c : containers) {
    for (const char* which : {"livenessProbe", "readinessProbe", "startupProbe"}) {
      if (c->contains(which) && (*c)[which].is_object()) {
        Json probe = (*c)[which];
        KUMA_RETURN_IF_ERROR(rewrite(*c, probe));
        (*c)[which] = std::move(probe);
      }
    }
  }
  return absl::OkStatus();
}

/** Kuma's preCheck and needToInject: the mesh to inject into, or "" to leave the Pod alone. */
absl::StatusOr<std::string> meshToInject(const Json& pod, const Json& ns, const InjectorOptions& o,
                                         const InjectorLookups& lookups) {
  const StringMap podLabels = labelsOf(pod);
  for (const auto& [key, value] : o.injector.exceptions.labels) {
    auto it = podLabels.find(key);
    if (it != podLabels.end() && (value == "*" || value == it->second)) {
      return std::string();
    }
  }
  const Json& spec = common::jsonMember(pod, "spec");
  for (const char* list : {"containers", "initContainers"}) {
    const Json& containers = common::jsonMember(spec, list);
    for (const Json& c : containers.is_array() ? containers : Json::array()) {
      if (common::jsonString(c, "name") == runtime::kSidecarContainerName) {
        return std::string();
      }
    }
  }
  KUMA_ASSIGN_OR_RETURN(auto podInjection, Annotations(podLabels).enabled(kSidecarInjectionLabel));
  bool inject = podInjection.first;
  if (!podInjection.second) {
    KUMA_ASSIGN_OR_RETURN(auto nsInjection,
                          Annotations(labelsOf(ns)).enabled(kSidecarInjectionLabel));
    inject = nsInjection.second && nsInjection.first;
  }
  if (!inject) {
    return std::string();
  }
  const std::string mesh = runtime::meshOfPod(pod, ns);
  KUMA_ASSIGN_OR_RETURN(bool exists, lookups.meshExists(mesh));
  if (!exists) {
    const auto explicitMesh = [](const Json& object) {
      for (const char* where : {"labels", "annotations"}) {
        if (!common::jsonString(common::jsonMember(metadataOf(object), where), runtime::kMeshLabel)
                 .empty()) {
          return true;
        }
      }
      return false;
    };
    const absl::Status notFound =
        absl::NotFoundError(absl::StrCat("Mesh.kuma.io \"", mesh, "\" not found"));
    if (!explicitMesh(pod) && !explicitMesh(ns)) {
      return notFound;
    }
    bool zoneProxy =
        podLabels.count(kZoneProxyTypeLabel) > 0 && !podLabels.at(kZoneProxyTypeLabel).empty();
    if (!zoneProxy && lookups.servicesOf) {
      KUMA_ASSIGN_OR_RETURN(std::vector<Json> services,
                            lookups.servicesOf(common::jsonString(metadataOf(pod), "namespace")));
      for (const Json& svc : services) {
        if (!labelsOf(svc)[kZoneProxyTypeLabel].empty() &&
            runtime::serviceSelectsPod(svc, pod, {})) {
          zoneProxy = true;
        }
      }
    }
    if (!zoneProxy) {
      return notFound;
    }
  }
  std::vector<std::string> sameUid;
  const Json& containers = common::jsonMember(spec, "containers");
  for (const Json& c : containers.is_array() ? containers : Json::array()) {
    const Json& user = common::jsonMember(common::jsonMember(c, "securityContext"), "runAsUser");
    if (user.is_number_integer() && user.get<int64_t>() == o.injector.sidecarContainer.uid) {
      sameUid.push_back(absl::StrCat("\"", common::jsonString(c, "name"), "\""));
    }
  }
  if (!sameUid.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("containers using same UID as sidecar is unsupported: [",
                     absl::StrJoin(sameUid, " "), "]"));
  }
  return mesh;
}

struct ContainerPatches {
  std::vector<std::string> sidecarNames;
  Json sidecar = Json::array();
  std::vector<std::string> initNames;
  Json init = Json::array();
};

/** A ContainerPatch's JsonPatchBlock list as RFC 6902 operations (`value` is JSON text). */
absl::Status appendPatchOps(const Json& blocks, Json& ops) {
  for (const Json& block : blocks.is_array() ? blocks : Json::array()) {
    Json op = Json::object();
    op["op"] = common::jsonString(block, "op");
    op["path"] = common::jsonString(block, "path");
    if (block.contains("from")) {
      op["from"] = block["from"];
    }
    if (block.contains("value")) {
      const Json& v = block["value"];
      if (v.is_string()) {
        try {
          op["value"] = Json::parse(v.get<std::string>());
        } catch (const std::exception&) {
          op["value"] = v;  // a plain string value
        }
      } else {
        op["value"] = v;
      }
    }
    ops.push_back(std::move(op));
  }
  return absl::OkStatus();
}

absl::StatusOr<ContainerPatches> loadContainerPatches(const Annotations& a,
                                                      const InjectorOptions& o,
                                                      const InjectorLookups& lookups) {
  std::vector<std::string> names = o.injector.containerPatches;
  if (auto more = a.list(kContainerPatches); more.has_value()) {
    names.insert(names.end(), more->begin(), more->end());
  }
  ContainerPatches out;
  std::vector<std::string> missing;
  for (const std::string& name : names) {
    if (!lookups.containerPatch) {
      missing.push_back(absl::StrCat("\"", name, "\""));
      continue;
    }
    KUMA_ASSIGN_OR_RETURN(std::optional<Json> spec, lookups.containerPatch(name));
    if (!spec.has_value()) {
      missing.push_back(absl::StrCat("\"", name, "\""));
      continue;
    }
    const Json& sidecar = common::jsonMember(*spec, "sidecarPatch");
    if (sidecar.is_array() && !sidecar.empty()) {
      out.sidecarNames.push_back(name);
      KUMA_RETURN_IF_ERROR(appendPatchOps(sidecar, out.sidecar));
    }
    const Json& init = common::jsonMember(*spec, "initPatch");
    if (init.is_array() && !init.empty()) {
      out.initNames.push_back(name);
      KUMA_RETURN_IF_ERROR(appendPatchOps(init, out.init));
    }
  }
  if (!missing.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("it appears some expected container patches are missing: [",
                     absl::StrJoin(missing, " "), "]"));
  }
  return out;
}

absl::StatusOr<Json> applyPatches(Json container, const Json& ops,
                                  const std::vector<std::string>& names) {
  if (ops.empty()) {
    return container;
  }
  try {
    return container.patch(ops);
  } catch (const std::exception& e) {
    std::vector<std::string> quoted;
    for (const std::string& n : names) {
      quoted.push_back(absl::StrCat("\"", n, "\""));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("could not apply patches [", absl::StrJoin(quoted, " "), "]: ", e.what()));
  }
}

}  // namespace

absl::StatusOr<int64_t> quantityMilliValue(const std::string& quantity) {
  const absl::string_view q = quantity;
  // <signedNumber><suffix>: suffix binary (Ki..Ei), decimal SI (n u m "" k M G T P E) or an
  // exponent (e3, E-2).
  size_t i = 0;
  if (i < q.size() && (q[i] == '+' || q[i] == '-')) {
    ++i;
  }
  const size_t numberStart = 0;
  while (i < q.size() && (absl::ascii_isdigit(q[i]) || q[i] == '.')) {
    ++i;
  }
  const absl::string_view number = q.substr(numberStart, i);
  const absl::string_view suffix = q.substr(i);
  double value = 0;
  if (number.empty() || number == "+" || number == "-" || number == "." ||
      !absl::SimpleAtod(number, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("quantities must match the regular expression "
                     "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
                     ": \"",
                     quantity, "\""));
  }
  static const std::map<std::string, double, std::less<>> kSuffixes = {
      {"", 1},
      {"n", 1e-9},
      {"u", 1e-6},
      {"m", 1e-3},
      {"k", 1e3},
      {"M", 1e6},
      {"G", 1e9},
      {"T", 1e12},
      {"P", 1e15},
      {"E", 1e18},
      {"Ki", 1024.0},
      {"Mi", 1048576.0},
      {"Gi", 1073741824.0},
      {"Ti", 1099511627776.0},
      {"Pi", 1125899906842624.0},
      {"Ei", 1152921504606846976.0}};
  double scale = 0;
  if (auto it = kSuffixes.find(suffix); it != kSuffixes.end()) {
    scale = it->second;
  } else if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    int exponent = 0;
    if (!absl::SimpleAtoi(suffix.substr(1), &exponent) || exponent > 18 || exponent < -18) {
      return absl::InvalidArgumentError(
          absl::StrCat("unable to parse quantity's suffix: \"", quantity, "\""));
    }
    scale = std::pow(10.0, exponent);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unable to parse quantity's suffix: \"", quantity, "\""));
  }
  const double milli = value * scale * 1000.0;
  if (!std::isfinite(milli) || std::fabs(milli) > 9.2e18) {
    return absl::InvalidArgumentError(absl::StrCat("quantity out of range: \"", quantity, "\""));
  }
  // MilliValue rounds up (away from zero for positive values).
  return static_cast<int64_t>(std::ceil(milli - 1e-9));
}

absl::StatusOr<std::optional<int64_t>> sidecarConcurrency(const Json& podAnnotations,
                                                          const std::string& cpuLimit) {
  Annotations a(stringMap(podAnnotations));
  KUMA_ASSIGN_OR_RETURN(std::optional<uint32_t> explicitCount,
                        a.uint32(kSidecarConcurrencyAnnotation));
  if (explicitCount.has_value()) {
    return std::optional<int64_t>(*explicitCount);
  }
  KUMA_ASSIGN_OR_RETURN(int64_t milli, quantityMilliValue(cpuLimit));
  if (milli == 0) {
    return std::optional<int64_t>();
  }
  // "Only autotune down to 2 to mitigate the latency risk if a worker thread blocks."
  return std::optional<int64_t>(std::max<int64_t>(milli / 1000, 2));
}

absl::StatusOr<InjectionResult> injectSidecar(const Json& podIn, const Json& ns,
                                              const InjectorOptions& o,
                                              const InjectorLookups& lookups) {
  KUMA_RETURN_IF_ERROR(checkQuantity("sidecarContainer.resources.limits.cpu",
                                     o.injector.sidecarContainer.resources.limits.cpu));
  KUMA_RETURN_IF_ERROR(checkQuantity("initContainer.resources.limits.cpu",
                                     o.injector.initContainer.resources.limits.cpu));
  InjectionResult result;
  result.pod = podIn;
  KUMA_ASSIGN_OR_RETURN(std::string mesh, meshToInject(podIn, ns, o, lookups));
  if (mesh.empty()) {
    return result;
  }
  Json pod = podIn;
  if (!pod.contains("metadata") || !pod["metadata"].is_object()) {
    pod["metadata"] = Json::object();
  }
  Json& meta = pod["metadata"];
  if (!meta.contains("annotations") || !meta["annotations"].is_object()) {
    meta["annotations"] = Json::object();
  }
  if (!pod.contains("spec") || !pod["spec"].is_object()) {
    pod["spec"] = Json::object();
  }
  Json& spec = pod["spec"];
  const Json containers = common::jsonMember(spec, "containers");
  if (containers.is_array() && containers.size() == 1 &&
      !meta["annotations"].contains(kDefaultContainer)) {
    meta["annotations"][kDefaultContainer] = common::jsonString(containers[0], "name");
  }
  const Annotations given(stringMap(meta["annotations"]));

  KUMA_ASSIGN_OR_RETURN(ContainerPatches patches, loadContainerPatches(given, o, lookups));
  KUMA_ASSIGN_OR_RETURN(Json sidecar, sidecarContainer(pod, mesh, given, o));

  Json volumes = common::jsonMember(spec, "volumes").is_array() ? spec["volumes"] : Json::array();
  volumes.push_back(emptyDirVolume(kInitTmpVolume));
  volumes.push_back(emptyDirVolume(kSidecarTmpVolume));
  KUMA_ASSIGN_OR_RETURN(bool spire, enabledOr(given, kSpireSupport, o.injector.spire.enabled));
  if (spire) {
    volumes.push_back(Json{{"name", kSpireVolume},
                           {"csi", Json{{"driver", "csi.spiffe.io"}, {"readOnly", true}}}});
  }
  KUMA_ASSIGN_OR_RETURN(sidecar,
                        applyPatches(std::move(sidecar), patches.sidecar, patches.sidecarNames));

  if (!o.injector.transparentProxyConfigMap.empty()) {
    return absl::UnimplementedError(
        "runtime.kubernetes.injector.transparentProxyConfigMap is not supported by kuma-cpp");
  }
  KUMA_ASSIGN_OR_RETURN(StringMap added, injectedAnnotations(given, o));
  for (const auto& [key, value] : added) {
    meta["annotations"][key] = value;
  }
  if (!meta.contains("labels") || !meta["labels"].is_object()) {
    meta["labels"] = Json::object();
  }
  meta["labels"][runtime::kMeshLabel] = mesh;
  const Annotations merged(stringMap(meta["annotations"]));
  std::optional<Json> injectedInit;
  if (!o.injector.cniEnabled) {
    KUMA_ASSIGN_OR_RETURN(Json args, initContainerArgs(merged));
    KUMA_ASSIGN_OR_RETURN(injectedInit, applyPatches(initContainer(std::move(args), o),
                                                     patches.init, patches.initNames));
  } else {
    KUMA_ASSIGN_OR_RETURN(auto gateway, merged.enabled(kGateway));
    if (!(gateway.second && gateway.first)) {
      KUMA_ASSIGN_OR_RETURN(injectedInit, applyPatches(validationContainer(merged, o), patches.init,
                                                       patches.initNames));
    }
  }
  if (o.injector.ebpf.enabled) {
    volumes.push_back(
        Json{{"name", "sys-fs-cgroup"}, {"hostPath", Json{{"path", o.injector.ebpf.cgroupPath}}}});
    volumes.push_back(
        Json{{"name", "bpf-fs"}, {"hostPath", Json{{"path", o.injector.ebpf.bpffsPath}}}});
  }
  spec["volumes"] = std::move(volumes);

  KUMA_ASSIGN_OR_RETURN(auto initFirst, merged.enabled(kInitFirst));
  Json prepend = Json::array();
  Json append = Json::array();
  if (injectedInit.has_value()) {
    (initFirst.first || o.sidecarContainersEnabled ? prepend : append)
        .push_back(std::move(*injectedInit));
  }
  if (o.sidecarContainersEnabled) {
    sidecar["restartPolicy"] = "Always";
    sidecar["lifecycle"] =
        Json{{"preStop",
              Json{{"exec", Json{{"command", Json::array({"killall", "-USR2", "kuma-dp"})}}}}}};
    prepend.push_back(std::move(sidecar));
  } else {
    Json all = Json::array({std::move(sidecar)});
    for (const Json& c : containers.is_array() ? containers : Json::array()) {
      all.push_back(c);
    }
    spec["containers"] = std::move(all);
  }
  Json inits = std::move(prepend);
  const Json& existing = common::jsonMember(spec, "initContainers");
  for (const Json& c : existing.is_array() ? existing : Json::array()) {
    inits.push_back(c);
  }
  for (Json& c : append) {
    inits.push_back(std::move(c));
  }
  spec["initContainers"] = std::move(inits);

  KUMA_ASSIGN_OR_RETURN(std::optional<uint32_t> proxyPort, merged.uint32(kAppProbeProxyPort));
  if (!proxyPort.has_value() || *proxyPort == 0) {
    KUMA_ASSIGN_OR_RETURN(auto vp, merged.enabled(kVirtualProbes));
    if (vp.first) {
      KUMA_ASSIGN_OR_RETURN(uint32_t vpPort, uint32Or(merged, kVirtualProbesPort, 0));
      KUMA_RETURN_IF_ERROR(rewriteProbes(
          spec, [vpPort](const Json& c, Json& probe) { return virtualProbe(c, probe, vpPort); }));
    }
  } else {
    const uint32_t port = *proxyPort;
    KUMA_RETURN_IF_ERROR(rewriteProbes(
        spec, [port](const Json& c, Json& probe) { return proxyProbe(c, probe, port); }));
  }
  result.pod = std::move(pod);
  result.injected = true;
  result.mesh = mesh;
  return result;
}

Json jsonPatch(const Json& before, const Json& after) {
  using Pointer = Json::json_pointer;  // escapes '~' and '/' in member names itself
  Json ops = Json::array();
  std::function<void(const Pointer&, const Json&, const Json&, int)> diff =
      [&](const Pointer& path, const Json& a, const Json& b, int depth) {
        if (a == b) {
          return;
        }
        // Objects are diffed by member to two levels (metadata.annotations, spec.volumes);
        // anything else is replaced whole.
        if (depth < 2 && a.is_object() && b.is_object()) {
          for (const auto& [key, value] : a.items()) {
            if (!b.contains(key)) {
              ops.push_back(Json{{"op", "remove"}, {"path", (path / key).to_string()}});
            }
          }
          for (const auto& [key, value] : b.items()) {
            const Pointer child = path / key;
            if (!a.contains(key)) {
              ops.push_back(Json{{"op", "add"}, {"path", child.to_string()}, {"value", value}});
            } else {
              diff(child, a[key], value, depth + 1);
            }
          }
          return;
        }
        ops.push_back(Json{{"op", "replace"}, {"path", path.to_string()}, {"value", b}});
      };
  diff(Pointer(), before, after, 0);
  return ops;
}

}  // namespace kuma::k8s::webhooks
