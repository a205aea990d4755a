#pragma once

// File: config.h
// kuma-cp configuration: one plain aggregate per section of Kuma 2.14's kuma-cp.defaults.yaml,
// composed into KumaCpConfig. Member initializers are Kuma's compiled-in defaults
// (DefaultConfig()), so `KumaCpConfig{}` is the configuration of a kuma-cp started without
// `-c` and without KUMA_* variables.
//
// Field names follow Kuma's JSON tags (camelCase) so that `cfg.xdsServer.nackBackoff` reads like
// the YAML key `xdsServer.nackBackoff`. The mapping between members, YAML paths and environment
// variables lives in exactly one place: the field table in fields.h.
//
//   KUMA_ASSIGN_OR_RETURN(auto loaded, kuma::config::loadConfig(file, processEnvironment()));
//   const kuma::config::KumaCpConfig& cfg = loaded.config;
//   std::chrono::nanoseconds tick = cfg.xdsServer.dataplaneConfigurationRefreshInterval;
//
// The config is immutable once loaded; share it as `std::shared_ptr<const KumaCpConfig>`.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"

namespace kuma::config {

using Duration = std::chrono::nanoseconds;
using StringList = std::vector<std::string>;
using StringMap = std::map<std::string, std::string>;
using PortList = std::vector<uint32_t>;

using namespace std::chrono_literals;

/** A token-validation public key (YAML only: `[{kid, key | keyFile, mesh}]`). */
struct PublicKey {
  std::string kid;
  std::string key;
  std::string keyFile;
  /** Only meaningful for data plane tokens (mesh-scoped keys). */
  std::string mesh;
  bool operator==(const PublicKey&) const = default;
};
using PublicKeyList = std::vector<PublicKey>;

// ---------------------------------------------------------------------------------------------
// store
// ---------------------------------------------------------------------------------------------

struct KubernetesStoreConfig {
  std::string systemNamespace = "kuma-system";
};

struct PostgresTlsConfig {
  /** disable | verifyNone | verifyCa | verifyFull */
  std::string mode = "disable";
  std::string certPath;
  std::string keyPath;
  std::string caPath;
  bool disableSSLSNI = false;
};

struct PostgresReadReplicaConfig {
  std::string host;
  uint32_t port = 5432;
  /** Percentage [0, 100] of SELECT queries sent to the replica. */
  uint32_t ratio = 100;
};

struct PostgresStoreConfig {
  std::string host = "127.0.0.1";
  int32_t port = 15432;
  std::string user = "kuma";
  /** Secret: rendered as "*****" by toJson(). */
  std::string password = "kuma";
  std::string dbName = "kuma";
  std::string driverName = "pgx";
  /** Seconds (an integer, not a duration, exactly like Kuma). */
  int32_t connectionTimeout = 5;
  Duration maxConnectionIdleTime = 30min;
  Duration maxConnectionLifetime = 1h;
  Duration maxConnectionLifetimeJitter = 1min;
  Duration healthCheckInterval = 30s;
  int32_t minOpenConnections = 0;
  int32_t maxOpenConnections = 50;
  int32_t maxIdleConnections = 50;
  uint32_t maxListQueryElements = 0;
  PostgresTlsConfig tls;
  bool tolerateNewerDBVersions = false;
  PostgresReadReplicaConfig readReplica;
};

struct StoreCacheConfig {
  bool enabled = true;
  Duration expirationTime = 1s;
};

struct UpsertConfig {
  Duration conflictRetryBaseBackoff = 200ms;
  uint32_t conflictRetryMaxTimes = 10;
  uint32_t conflictRetryJitterPercent = 30;
};

struct StoreConfig {
  /** memory | postgres | kubernetes */
  std::string type = "memory";
  KubernetesStoreConfig kubernetes;
  PostgresStoreConfig postgres;
  StoreCacheConfig cache;
  UpsertConfig upsert;
  bool unsafeDelete = false;
};

// ---------------------------------------------------------------------------------------------
// bootstrapServer, monitoringAssignmentServer, xdsServer
// ---------------------------------------------------------------------------------------------

struct BootstrapParamsConfig {
  std::string adminAddress = "127.0.0.1";
  uint32_t adminPort = 9901;
  bool envoyAdminUnixSocket = true;
  uint32_t readinessPort = 9902;
  std::string adminAccessLogPath = "/dev/null";
  /** Empty: the Host of the /bootstrap request. */
  std::string xdsHost;
  /** 0: autoconfigured from dpServer.port (see autoconfigure()). */
  uint32_t xdsPort = 0;
  Duration xdsConnectTimeout = 1s;
  uint32_t xdsGrpcMaxReceiveMessageBytes = 4194304;
  /** Must name an existing file when set. */
  std::string corefileTemplatePath;
};

struct BootstrapServerConfig {
  BootstrapParamsConfig params;
};

struct MonitoringAssignmentServerConfig {
  bool enabled = true;
  uint32_t port = 5676;
  StringList apiVersions = {"v1"};
  Duration assignmentRefreshInterval = 1s;
  Duration defaultFetchTimeout = 30s;
  std::string tlsCertFile;
  std::string tlsKeyFile;
  std::string tlsMinVersion = "TLSv1_2";
  std::string tlsMaxVersion;
  StringList tlsCipherSuites;
};

struct XdsServerConfig {
  Duration dataplaneConfigurationRefreshInterval = 1s;
  Duration dataplaneStatusFlushInterval = 10s;
  Duration nackBackoff = 5s;
  /** 0 disables the delay. */
  Duration dataplaneDeregistrationDelay = 10s;
};

// ---------------------------------------------------------------------------------------------
// apiServer
// ---------------------------------------------------------------------------------------------

struct ApiServerHttpConfig {
  bool enabled = true;
  std::string interface = "0.0.0.0";
  uint32_t port = 5681;
};

struct ApiServerHttpsConfig {
  bool enabled = true;
  std::string interface = "0.0.0.0";
  uint32_t port = 5682;
  /** Empty: general.tlsCertFile (see inheritGeneralTls()). */
  std::string tlsCertFile;
  std::string tlsKeyFile;
  std::string tlsCaFile;
  std::string tlsMinVersion = "TLSv1_2";
  std::string tlsMaxVersion;
  StringList tlsCipherSuites;
  bool requireClientCert = false;
};

struct ApiServerAuthConfig {
  std::string clientCertsDir;
};

struct TokenValidatorConfig {
  bool useSecrets = true;
  PublicKeyList publicKeys;
};

struct ApiServerTokensConfig {
  bool bootstrapAdminToken = true;
  bool enableIssuer = true;
  TokenValidatorConfig validator;
};

struct ApiServerAuthnConfig {
  /** tokens | adminClientCerts */
  std::string type = "tokens";
  bool localhostIsAdmin = true;
  ApiServerTokensConfig tokens;
};

struct GuiConfig {
  bool enabled = true;
  std::string rootUrl;
  std::string basePath = "/gui";
};

struct ApiServerConfig {
  ApiServerHttpConfig http;
  ApiServerHttpsConfig https;
  ApiServerAuthConfig auth;
  ApiServerAuthnConfig authn;
  bool readOnly = false;
  StringList corsAllowedDomains;
  std::string rootUrl;
  std::string basePath = "/";
  GuiConfig gui;
  Duration readHeaderTimeout = 1s;
  Duration readTimeout = 10s;
  Duration writeTimeout = 30s;
  Duration idleTimeout = 2min;
};

// ---------------------------------------------------------------------------------------------
// runtime
// ---------------------------------------------------------------------------------------------

struct NodeTaintControllerConfig {
  bool enabled = false;
  std::string cniApp;
  std::string cniNamespace = "kube-system";
};

struct AdmissionServerConfig {
  std::string address;
  uint32_t port = 5443;
  std::string certDir;
};

struct InjectorExceptionsConfig {
  StringMap labels = {{"openshift.io/build.name", "*"},
                      {"openshift.io/deployer-pod-for.name", "*"}};
};

struct ProbeConfig {
  int32_t initialDelaySeconds = 1;
  int32_t timeoutSeconds = 3;
  int32_t periodSeconds = 5;
  int32_t successThreshold = 1;
  int32_t failureThreshold = 12;
};

struct ResourceQuantities {
  std::string cpu;
  std::string memory;
};

struct ResourceRequirements {
  ResourceQuantities requests;
  ResourceQuantities limits;
};

struct SidecarContainerConfig {
  std::string image = "kuma/kuma-dp:latest";
  uint32_t redirectPortInbound = 15006;
  std::string ipFamilyMode = "dualstack";
  uint32_t redirectPortOutbound = 15001;
  int64_t uid = 5678;
  int64_t gid = 5678;
  Duration drainTime = 30s;
  ProbeConfig readinessProbe = {1, 3, 5, 1, 12};
  /** successThreshold is not configurable for liveness probes (Kubernetes requires 1). */
  ProbeConfig livenessProbe = {60, 3, 5, 1, 12};
  ProbeConfig startupProbe = {1, 3, 5, 1, 12};
  ResourceRequirements resources = {{"50m", "64Mi"}, {"0", "512Mi"}};
  StringMap envVars;
  bool waitForDataplaneReady = false;
};

struct InitContainerConfig {
  std::string image = "kuma/kuma-init:latest";
  ResourceRequirements resources = {{"20m", "20M"}, {"0", "50M"}};
};

struct ValidationContainerConfig {
  ResourceRequirements resources = {{"20m", "20M"}, {"0", "50M"}};
};

struct SidecarTrafficConfig {
  PortList excludeInboundPorts;
  PortList excludeOutboundPorts;
  StringList excludeInboundIPs;
  StringList excludeOutboundIPs;
};

struct BuiltinDnsConfig {
  bool enabled = true;
  uint32_t port = 15053;
  bool logging = false;
  bool experimentalProxy = true;
};

struct EbpfConfig {
  bool enabled = false;
  std::string instanceIPEnvVarName = "INSTANCE_IP";
  std::string bpffsPath = "/sys/fs/bpf";
  std::string cgroupPath = "/sys/fs/cgroup";
  std::string tcAttachIface;
  std::string programsSourcePath = "/tmp/kuma-ebpf";
};

struct InjectorSpireConfig {
  bool enabled = false;
  std::string mountPath = "/run/spire/sockets";
  std::string socketFileName = "socket";
};

struct InjectorConfig {
  bool cniEnabled = false;
  InjectorExceptionsConfig exceptions;
  bool virtualProbesEnabled = false;
  uint32_t virtualProbesPort = 9000;
  uint32_t applicationProbeProxyPort = 9001;
  std::string caCertFile;
  SidecarContainerConfig sidecarContainer;
  InitContainerConfig initContainer;
  ValidationContainerConfig validationContainer;
  StringList containerPatches;
  SidecarTrafficConfig sidecarTraffic;
  BuiltinDnsConfig builtinDNS;
  EbpfConfig ebpf;
  StringList ignoredServiceSelectorLabels;
  StringList nodeLabelsToCopy = {"topology.kubernetes.io/zone", "topology.kubernetes.io/region",
                                 "kubernetes.io/hostname"};
  std::string transparentProxyConfigMap;
  bool unifiedResourceNamingEnabled = false;
  bool otelPipeEnabled = true;
  InjectorSpireConfig spire;
};

struct ControllersConcurrencyConfig {
  int32_t podController = 10;
};

struct KubeClientConfig {
  int32_t qps = 100;
  int32_t burstQps = 100;
};

struct KubeLeaderElectionConfig {
  Duration leaseDuration = 15s;
  Duration renewDeadline = 10s;
};

struct KubernetesRuntimeConfig {
  std::string controlPlaneServiceName = "kuma-control-plane";
  NodeTaintControllerConfig nodeTaintController;
  AdmissionServerConfig admissionServer;
  InjectorConfig injector;
  Duration marshalingCacheExpirationTime = 5min;
  ControllersConcurrencyConfig controllersConcurrency;
  KubeClientConfig clientConfig;
  KubeLeaderElectionConfig leaderElection;
  bool skipMeshOwnerReference = false;
  bool supportGatewaySecretsInAllNamespaces = false;
  StringList workloadLabels;
  bool disallowMultipleMeshesPerNamespace = false;
};

struct UniversalSpireConfig {
  std::string socketPath = "/tmp/spire-agent/public/api.sock";
};

struct UniversalWorkloadConfig {
  Duration generationInterval = 2s;
};

struct UniversalRuntimeConfig {
  Duration dataplaneCleanupAge = 72h;
  Duration zoneResourceCleanupAge = 72h;
  Duration vipRefreshInterval = 500ms;
  UniversalSpireConfig spire;
  UniversalWorkloadConfig workload;
};

struct RuntimeConfig {
  KubernetesRuntimeConfig kubernetes;
  UniversalRuntimeConfig universal;
};

// ---------------------------------------------------------------------------------------------
// defaults, metrics, reports, general, dnsServer
// ---------------------------------------------------------------------------------------------

struct DefaultsConfig {
  bool skipMeshCreation = false;
  /** true skips *all* default-resource creation. */
  bool skipTenantResources = false;
  bool createMeshRoutingResources = false;
  /** Kuma's JSON tag is literally `SkipHostnameGenerators`. */
  bool skipHostnameGenerators = false;
};

struct DataplaneMetricsConfig {
  int32_t subscriptionLimit = 2;
  Duration idleTimeout = 5min;
};

struct ZoneMetricsConfig {
  int32_t subscriptionLimit = 10;
  Duration idleTimeout = 5min;
  bool compactFinishedSubscriptions = false;
};

struct MeshMetricsConfig {
  Duration minResyncInterval = 1s;
  Duration fullResyncInterval = 20s;
  int32_t bufferSize = 1000;
  int32_t eventProcessors = 1;
};

struct ControlPlaneMetricsConfig {
  bool reportResourcesCount = true;
};

struct OpenTelemetryMetricsConfig {
  bool enabled = true;
};

struct MetricsConfig {
  DataplaneMetricsConfig dataplane;
  ZoneMetricsConfig zone;
  MeshMetricsConfig mesh;
  ControlPlaneMetricsConfig controlPlane;
  OpenTelemetryMetricsConfig openTelemetry;
};

struct ReportsConfig {
  bool enabled = false;
};

struct GeneralConfig {
  Duration dnsCacheTTL = 10s;
  /** Empty: autogenerated at start (not by this library). */
  std::string tlsCertFile;
  std::string tlsKeyFile;
  std::string tlsMinVersion = "TLSv1_2";
  std::string tlsMaxVersion;
  StringList tlsCipherSuites;
  /** Empty: $HOME/.kuma (see autoconfigure()). */
  std::string workDir;
  Duration resilientComponentBaseBackoff = 5s;
  Duration resilientComponentMaxBackoff = 1min;
  Duration certGenerationBaseBackoff = 5s;
  Duration certGenerationMaxBackoff = 5min;
  uint32_t certGenerationCircuitBreakerMinProxies = 10;
};

struct DnsServerConfig {
  std::string domain = "mesh";
  /** JSON key `CIDR`. */
  std::string cidr = "240.0.0.0/4";
  bool serviceVipEnabled = true;
  uint32_t serviceVipPort = 80;
};

// ---------------------------------------------------------------------------------------------
// multizone
// ---------------------------------------------------------------------------------------------

struct KdsTracingConfig {
  bool enabled = true;
};

struct GlobalKdsConfig {
  uint32_t grpcPort = 5685;
  Duration refreshInterval = 1s;
  Duration zoneInsightFlushInterval = 10s;
  bool tlsEnabled = true;
  std::string tlsCertFile;
  std::string tlsKeyFile;
  std::string tlsMinVersion = "TLSv1_2";
  std::string tlsMaxVersion;
  StringList tlsCipherSuites;
  uint32_t maxMsgSize = 10485760;
  Duration msgSendTimeout = 60s;
  Duration nackBackoff = 5s;
  Duration responseBackoff = 0s;
  bool logPayloads = false;
  KdsTracingConfig tracing;
};

struct GlobalConfig {
  GlobalKdsConfig kds;
};

struct ZoneKdsConfig {
  Duration refreshInterval = 1s;
  std::string rootCaFile;
  bool tlsSkipVerify = false;
  uint32_t maxMsgSize = 10485760;
  Duration msgSendTimeout = 60s;
  Duration nackBackoff = 5s;
  Duration responseBackoff = 0s;
  bool logPayloads = false;
};

struct ZoneConfig {
  /** Becomes the `kuma.io/zone` tag/label everywhere. */
  std::string name = "default";
  /** Set: federated zone. */
  std::string globalAddress;
  ZoneKdsConfig kds;
  bool disableOriginLabelValidation = false;
  Duration ingressUpdateInterval = 1s;
};

struct MultizoneConfig {
  GlobalConfig global;
  ZoneConfig zone;
};

// ---------------------------------------------------------------------------------------------
// diagnostics, dpServer, interCp
// ---------------------------------------------------------------------------------------------

struct DiagnosticsConfig {
  uint32_t serverPort = 5680;
  bool debugEndpoints = false;
  bool tlsEnabled = false;
  std::string tlsCertFile;
  std::string tlsKeyFile;
  std::string tlsMinVersion = "TLSv1_2";
  std::string tlsMaxVersion;
  StringList tlsCipherSuites;
};

struct DpTokenConfig {
  bool enableIssuer = true;
  TokenValidatorConfig validator;
};

struct DpProxyAuthnConfig {
  /** "" (→ dpToken / serviceAccountToken) | dpToken | serviceAccountToken | none */
  std::string type;
  DpTokenConfig dpToken;
};

struct ZoneProxyAuthnConfig {
  /** "" (→ zoneToken / serviceAccountToken) | zoneToken | serviceAccountToken | none */
  std::string type;
  DpTokenConfig zoneToken;
};

struct DpServerAuthnConfig {
  DpProxyAuthnConfig dpProxy;
  ZoneProxyAuthnConfig zoneProxy;
  bool enableReloadableTokens = false;
};

struct HdsCheckConfig {
  Duration timeout = 2s;
  Duration interval = 1s;
  Duration noTrafficInterval = 1s;
  uint32_t healthyThreshold = 1;
  uint32_t unhealthyThreshold = 1;
};

struct HdsConfig {
  bool enabled = true;
  Duration interval = 5s;
  Duration refreshInterval = 10s;
  HdsCheckConfig checkDefaults;
};

struct DpServerConfig {
  uint32_t port = 5678;
  /** Empty: general.tlsCertFile (see inheritGeneralTls()). */
  std::string tlsCertFile;
  std::string tlsKeyFile;
  std::string tlsMinVersion = "TLSv1_2";
  std::string tlsMaxVersion;
  StringList tlsCipherSuites;
  Duration readHeaderTimeout = 5s;
  Duration gracefulShutdownTimeout = 10s;
  DpServerAuthnConfig authn;
  HdsConfig hds;
};

struct CatalogConfig {
  /** Empty: first non-loopback IP (autoconfigured by the runtime, not by this library). */
  std::string instanceAddress;
  Duration heartbeatInterval = 5s;
  Duration writerInterval = 15s;
};

struct InterCpServerConfig {
  uint32_t port = 5683;
  std::string tlsMinVersion = "TLSv1_2";
  std::string tlsMaxVersion;
  StringList tlsCipherSuites;
};

struct InterCpConfig {
  CatalogConfig catalog;
  InterCpServerConfig server;
};

// ---------------------------------------------------------------------------------------------
// access
// ---------------------------------------------------------------------------------------------

struct AccessRule {
  StringList users;
  StringList groups;
};

struct StaticAccessConfig {
  AccessRule adminResources = {{"mesh-system:admin"}, {"mesh-system:admin"}};
  AccessRule generateDpToken = {{"mesh-system:admin"}, {"mesh-system:admin"}};
  AccessRule generateUserToken = {{"mesh-system:admin"}, {"mesh-system:admin"}};
  AccessRule generateZoneToken = {{"mesh-system:admin"}, {"mesh-system:admin"}};
  AccessRule viewConfigDump = {{}, {"mesh-system:unauthenticated", "mesh-system:authenticated"}};
  AccessRule viewStats = {{}, {"mesh-system:unauthenticated", "mesh-system:authenticated"}};
  AccessRule viewClusters = {{}, {"mesh-system:unauthenticated", "mesh-system:authenticated"}};
  AccessRule controlPlaneMetadata = {{},
                                     {"mesh-system:unauthenticated", "mesh-system:authenticated"}};
};

struct AccessConfig {
  /** Only "static" exists. */
  std::string type = "static";
  /** YAML key `static` (a C++ keyword, hence the member name). */
  StaticAccessConfig staticAccess;
};

// ---------------------------------------------------------------------------------------------
// experimental, proxy, tracing, eventBus, policies, coreResources, ipam, meshService
// ---------------------------------------------------------------------------------------------

struct KdsEventBasedWatchdogConfig {
  bool enabled = false;
  Duration flushInterval = 5s;
  Duration fullResyncInterval = 60s;
  bool delayFullResync = false;
};

struct ExperimentalConfig {
  bool kubeOutboundsAsVIPs = true;
  bool useTagFirstVirtualOutboundModel = false;
  StringList ingressTagFilters;
  bool exposeZoneProxyMetrics = false;
  KdsEventBasedWatchdogConfig kdsEventBasedWatchdog;
  bool autoReachableServices = false;
  bool sidecarContainers = true;
  bool deltaXds = false;
  bool inboundTagsDisabled = false;
};

struct GatewayProxyConfig {
  uint32_t globalDownstreamMaxConnections = 50000;
};

struct ProxyConfig {
  GatewayProxyConfig gateway;
};

struct OpenTelemetryTracingConfig {
  std::string endpoint;
};

struct TracingConfig {
  OpenTelemetryTracingConfig openTelemetry;
};

struct EventBusConfig {
  uint32_t bufferSize = 100;
};

struct PoliciesConfig {
  StringList pluginPoliciesEnabled = {
      "meshaccesslogs",      "meshcircuitbreakers",
      "meshfaultinjections", "meshhealthchecks",
      "meshhttproutes",      "meshloadbalancingstrategies",
      "meshmetrics",         "meshpassthroughs",
      "meshproxypatches",    "meshratelimits",
      "meshretries",         "meshtcproutes",
      "meshtimeouts",        "meshtlses",
      "meshtraces",          "meshtrafficpermissions",
  };
};

struct CoreResourcesStatusConfig {
  Duration meshMultiZoneServiceInterval = 5s;
  Duration meshServiceInterval = 5s;
  Duration meshIdentityInterval = 5s;
  Duration workloadInterval = 5s;
  Duration meshOpenTelemetryBackendInterval = 5s;
};

struct CoreResourcesConfig {
  CoreResourcesStatusConfig status;
  StringList enabled = {
      "hostnamegenerators",
      "meshexternalservices",
      "meshidentities",
      "meshmultizoneservices",
      "meshopentelemetrybackends",
      "meshservices",
      "meshtrusts",
      "meshzoneaddresses",
      "workloads",
  };
};

struct IpamCidrConfig {
  std::string cidr;
};

struct IpamConfig {
  IpamCidrConfig meshService = {"241.0.0.0/8"};
  IpamCidrConfig meshExternalService = {"242.0.0.0/8"};
  IpamCidrConfig meshMultiZoneService = {"243.0.0.0/8"};
  Duration allocationInterval = 5s;
  StringList knownInternalCIDRs = {"10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12", "fc00::/7",
                                   "fd00::/8",   "127.0.0.1/32",   "::1/128"};
};

struct LabelPropagationConfig {
  bool enabled = false;
  StringList allowedLabelKeys;
};

struct MeshServiceConfig {
  Duration generationInterval = 2s;
  Duration deletionGracePeriod = 1h;
  LabelPropagationConfig labelPropagation;
};

// ---------------------------------------------------------------------------------------------
// KumaCpConfig
// ---------------------------------------------------------------------------------------------

/** The whole kuma-cp configuration (Kuma's `kuma_cp.Config`). */
struct KumaCpConfig {
  /** universal | kubernetes */
  std::string environment = "universal";
  /** zone | global | standalone (deprecated alias of zone) */
  std::string mode = "zone";
  StoreConfig store;
  BootstrapServerConfig bootstrapServer;
  MonitoringAssignmentServerConfig monitoringAssignmentServer;
  XdsServerConfig xdsServer;
  ApiServerConfig apiServer;
  RuntimeConfig runtime;
  DefaultsConfig defaults;
  MetricsConfig metrics;
  ReportsConfig reports;
  GeneralConfig general;
  DnsServerConfig dnsServer;
  MultizoneConfig multizone;
  DiagnosticsConfig diagnostics;
  DpServerConfig dpServer;
  InterCpConfig interCp;
  AccessConfig access;
  ExperimentalConfig experimental;
  ProxyConfig proxy;
  TracingConfig tracing;
  EventBusConfig eventBus;
  PoliciesConfig policies;
  CoreResourcesConfig coreResources;
  IpamConfig ipam;
  MeshServiceConfig meshService;
};

/**
 * Kuma's Config.Validate(): checks enums, ranges and cross-field rules.
 * @return OK, or InvalidArgument listing every violation as `path: message` (joined by "; "),
 *         the violations also attached as a kuma::validators::ValidationError payload.
 */
absl::Status validate(const KumaCpConfig& config);

/**
 * The effective configuration as served by `GET /config`: Kuma's key names and nesting, durations
 * as Go duration strings ("1s", "1m0s"), secrets (store.postgres.password) replaced by "*****".
 */
nlohmann::ordered_json toJson(const KumaCpConfig& config);

/** Kuma's placeholder for sanitized secrets in `GET /config`. */
inline constexpr char kSanitizedValue[] = "*****";

}  // namespace kuma::config
