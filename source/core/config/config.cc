#include "source/core/config/config.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "source/common/absl_compat.h"
#include "source/core/config/fields.h"
#include "source/core/validators/validation_error.h"

namespace kuma::config {
namespace {

using common::av;
using validators::ValidationError;

bool isIp(const std::string& s) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool isCidr(const std::string& s) {
  const size_t slash = s.find('/');
  if (slash == std::string::npos) {
    return false;
  }
  const std::string ip = s.substr(0, slash);
  unsigned char buf[sizeof(struct in6_addr)];
  int maxBits;
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    maxBits = 32;
  } else if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    maxBits = 128;
  } else {
    return false;
  }
  const std::string bits = s.substr(slash + 1);
  int prefix = 0;
  if (bits.empty() || bits.size() > 3 ||
      !std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(bits, &prefix)) {
    return false;
  }
  return prefix >= 0 && prefix <= maxBits;
}

bool oneOf(const std::string& value, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

std::string quoteList(std::initializer_list<std::string_view> allowed) {
  return absl::StrJoin(allowed, ", ", [](std::string* out, std::string_view s) {
    absl::StrAppend(out, "\"", av(s), "\"");
  });
}

// Go crypto/tls cipher suite names (tls.CipherSuites() + tls.InsecureCipherSuites()).
constexpr std::string_view kCipherSuites[] = {
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
};

constexpr std::string_view kTlsVersions[] = {"TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"};

int tlsVersionRank(const std::string& v) {
  for (size_t i = 0; i < std::size(kTlsVersions); ++i) {
    if (kTlsVersions[i] == v) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

class Checker {
 public:
  void fail(const std::string& path, std::string_view message) {
    errors_.addViolation(path, message);
  }

  void check(bool ok, const std::string& path, std::string_view message) {
    if (!ok) {
      fail(path, message);
    }
  }

  void enumValue(const std::string& value, const std::string& path,
                 std::initializer_list<std::string_view> allowed) {
    if (!oneOf(value, allowed)) {
      fail(path,
           absl::StrCat("invalid value \"", value, "\": must be one of ", quoteList(allowed)));
    }
  }

  // 0 means "pick a free port" for servers; anything above 65535 is unusable.
  void port(uint32_t value, const std::string& path) {
    if (value > 65535) {
      fail(path, absl::StrCat("port ", value, " must be in the range [0, 65535]"));
    }
  }

  void positive(Duration d, const std::string& path) {
    if (d <= Duration::zero()) {
      fail(path, "must be greater than 0s");
    }
  }

  void nonNegative(Duration d, const std::string& path) {
    if (d < Duration::zero()) {
      fail(path, "must not be negative");
    }
  }

  void tls(const std::string& section, const std::string& minVersion, const std::string& maxVersion,
           const StringList& ciphers) {
    if (!minVersion.empty() && tlsVersionRank(minVersion) < 0) {
      fail(section + ".tlsMinVersion",
           absl::StrCat("invalid TLS version \"", minVersion,
                        "\": must be one of \"TLSv1_0\", \"TLSv1_1\", \"TLSv1_2\", \"TLSv1_3\""));
    }
    if (!maxVersion.empty() && tlsVersionRank(maxVersion) < 0) {
      fail(section + ".tlsMaxVersion",
           absl::StrCat("invalid TLS version \"", maxVersion,
                        "\": must be one of \"TLSv1_0\", \"TLSv1_1\", \"TLSv1_2\", \"TLSv1_3\""));
    }
    if (tlsVersionRank(minVersion) >= 0 && tlsVersionRank(maxVersion) >= 0 &&
        tlsVersionRank(minVersion) > tlsVersionRank(maxVersion)) {
      fail(section + ".tlsMinVersion", "must not be greater than tlsMaxVersion");
    }
    for (const std::string& c : ciphers) {
      if (std::find(std::begin(kCipherSuites), std::end(kCipherSuites), c) ==
          std::end(kCipherSuites)) {
        fail(section + ".tlsCipherSuites", absl::StrCat("unknown cipher suite \"", c, "\""));
      }
    }
  }

  void certPair(const std::string& section, const std::string& cert, const std::string& key) {
    if (cert.empty() != key.empty()) {
      fail(section, "tlsCertFile and tlsKeyFile must be both set or both empty");
    }
  }

  absl::Status status() const {
    if (errors_.empty()) {
      return absl::OkStatus();
    }
    return errors_.toStatus(absl::StrCat("invalid configuration: ", errors_.toString()));
  }

 private:
  ValidationError errors_;
};

void validateStore(const StoreConfig& s, Checker& c) {
  c.enumValue(s.type, "store.type", {"memory", "postgres", "kubernetes"});
  c.nonNegative(s.cache.expirationTime, "store.cache.expirationTime");
  c.nonNegative(s.upsert.conflictRetryBaseBackoff, "store.upsert.conflictRetryBaseBackoff");
  c.check(s.upsert.conflictRetryJitterPercent <= 100, "store.upsert.conflictRetryJitterPercent",
          "must be in the range [0, 100]");
  if (s.type != "postgres") {
    return;  // Kuma validates the postgres section only when it is used
  }
  const PostgresStoreConfig& p = s.postgres;
  c.check(!p.host.empty(), "store.postgres.host", "must not be empty");
  c.check(p.port >= 0 && p.port <= 65535, "store.postgres.port", "must be in the range [0, 65535]");
  c.check(!p.user.empty(), "store.postgres.user", "must not be empty");
  c.check(!p.password.empty(), "store.postgres.password", "must not be empty");
  c.check(!p.dbName.empty(), "store.postgres.dbName", "must not be empty");
  c.enumValue(p.driverName, "store.postgres.driverName", {"pgx", "postgres"});
  c.check(p.connectionTimeout >= 0, "store.postgres.connectionTimeout", "must not be negative");
  c.nonNegative(p.maxConnectionIdleTime, "store.postgres.maxConnectionIdleTime");
  c.nonNegative(p.maxConnectionLifetime, "store.postgres.maxConnectionLifetime");
  c.nonNegative(p.maxConnectionLifetimeJitter, "store.postgres.maxConnectionLifetimeJitter");
  c.positive(p.healthCheckInterval, "store.postgres.healthCheckInterval");
  c.check(p.minOpenConnections >= 0, "store.postgres.minOpenConnections", "must not be negative");
  c.check(p.maxOpenConnections >= 0, "store.postgres.maxOpenConnections", "must not be negative");
  c.enumValue(p.tls.mode, "store.postgres.tls.mode",
              {"disable", "verifyNone", "verifyCa", "verifyFull"});
  if ((p.tls.mode == "verifyCa" || p.tls.mode == "verifyFull") && p.tls.caPath.empty()) {
    c.fail("store.postgres.tls.caPath", absl::StrCat("must be set in mode ", p.tls.mode));
  }
  if (p.tls.certPath.empty() != p.tls.keyPath.empty()) {
    c.fail("store.postgres.tls", "certPath and keyPath must be both set or both empty");
  }
  c.port(p.readReplica.port, "store.postgres.readReplica.port");
  c.check(p.readReplica.ratio <= 100, "store.postgres.readReplica.ratio",
          "must be in the range [0, 100]");
}

void validateBootstrap(const BootstrapParamsConfig& b, Checker& c) {
  const std::string p = "bootstrapServer.params.";
  c.check(isIp(b.adminAddress), p + "adminAddress",
          absl::StrCat("\"", b.adminAddress, "\" must be a valid IP address"));
  c.port(b.adminPort, p + "adminPort");
  c.port(b.readinessPort, p + "readinessPort");
  c.port(b.xdsPort, p + "xdsPort");
  c.check(!b.adminAccessLogPath.empty(), p + "adminAccessLogPath", "must not be empty");
  c.nonNegative(b.xdsConnectTimeout, p + "xdsConnectTimeout");
  c.check(b.xdsGrpcMaxReceiveMessageBytes != 0, p + "xdsGrpcMaxReceiveMessageBytes",
          "must not be 0");
  if (!b.corefileTemplatePath.empty()) {
    struct stat st {};
    c.check(::stat(b.corefileTemplatePath.c_str(), &st) == 0, p + "corefileTemplatePath",
            absl::StrCat("file \"", b.corefileTemplatePath, "\" does not exist"));
  }
}

void validateApiServer(const ApiServerConfig& a, Checker& c) {
  c.check(!a.http.interface.empty(), "apiServer.http.interface", "must not be empty");
  c.port(a.http.port, "apiServer.http.port");
  c.check(!a.https.interface.empty(), "apiServer.https.interface", "must not be empty");
  c.port(a.https.port, "apiServer.https.port");
  c.certPair("apiServer.https", a.https.tlsCertFile, a.https.tlsKeyFile);
  c.tls("apiServer.https", a.https.tlsMinVersion, a.https.tlsMaxVersion, a.https.tlsCipherSuites);
  c.enumValue(a.authn.type, "apiServer.authn.type", {"tokens", "adminClientCerts"});
  c.check(!a.basePath.empty() && a.basePath[0] == '/', "apiServer.basePath",
          "must start with \"/\"");
  c.check(!a.gui.basePath.empty() && a.gui.basePath[0] == '/', "apiServer.gui.basePath",
          "must start with \"/\"");
  c.nonNegative(a.readHeaderTimeout, "apiServer.readHeaderTimeout");
  c.nonNegative(a.readTimeout, "apiServer.readTimeout");
  c.nonNegative(a.writeTimeout, "apiServer.writeTimeout");
  c.nonNegative(a.idleTimeout, "apiServer.idleTimeout");
}

void validateDpServer(const DpServerConfig& d, Checker& c) {
  c.port(d.port, "dpServer.port");
  c.certPair("dpServer", d.tlsCertFile, d.tlsKeyFile);
  c.tls("dpServer", d.tlsMinVersion, d.tlsMaxVersion, d.tlsCipherSuites);
  c.nonNegative(d.readHeaderTimeout, "dpServer.readHeaderTimeout");
  c.positive(d.gracefulShutdownTimeout, "dpServer.gracefulShutdownTimeout");
  c.enumValue(d.authn.dpProxy.type, "dpServer.authn.dpProxy.type",
              {"", "dpToken", "serviceAccountToken", "none"});
  c.enumValue(d.authn.zoneProxy.type, "dpServer.authn.zoneProxy.type",
              {"", "zoneToken", "serviceAccountToken", "none"});
  c.positive(d.hds.interval, "dpServer.hds.interval");
  c.positive(d.hds.refreshInterval, "dpServer.hds.refreshInterval");
  c.positive(d.hds.checkDefaults.timeout, "dpServer.hds.checkDefaults.timeout");
  c.positive(d.hds.checkDefaults.interval, "dpServer.hds.checkDefaults.interval");
  c.positive(d.hds.checkDefaults.noTrafficInterval, "dpServer.hds.checkDefaults.noTrafficInterval");
}

void validateMultizone(const KumaCpConfig& cfg, Checker& c) {
  const GlobalKdsConfig& g = cfg.multizone.global.kds;
  const ZoneConfig& z = cfg.multizone.zone;
  if (cfg.mode == "global") {
    c.port(g.grpcPort, "multizone.global.kds.grpcPort");
    c.positive(g.refreshInterval, "multizone.global.kds.refreshInterval");
    c.positive(g.zoneInsightFlushInterval, "multizone.global.kds.zoneInsightFlushInterval");
    c.check(g.maxMsgSize > 0, "multizone.global.kds.maxMsgSize", "must be greater than 0");
    c.certPair("multizone.global.kds", g.tlsCertFile, g.tlsKeyFile);
    c.tls("multizone.global.kds", g.tlsMinVersion, g.tlsMaxVersion, g.tlsCipherSuites);
  } else {
    c.check(!z.name.empty(), "multizone.zone.name", "must not be empty");
    if (!z.globalAddress.empty()) {
      c.check(z.globalAddress.rfind("grpcs://", 0) == 0 || z.globalAddress.rfind("grpc://", 0) == 0,
              "multizone.zone.globalAddress",
              absl::StrCat("\"", z.globalAddress, "\" must be a grpcs:// URL"));
    }
    c.positive(z.kds.refreshInterval, "multizone.zone.kds.refreshInterval");
    c.check(z.kds.maxMsgSize > 0, "multizone.zone.kds.maxMsgSize", "must be greater than 0");
  }
}

void validateKubernetesRuntime(const KubernetesRuntimeConfig& k, Checker& c) {
  c.port(k.admissionServer.port, "runtime.kubernetes.admissionServer.port");
  c.enumValue(k.injector.sidecarContainer.ipFamilyMode,
              "runtime.kubernetes.injector.sidecarContainer.ipFamilyMode",
              {"dualstack", "ipv4", "ipv6"});
  c.port(k.injector.sidecarContainer.redirectPortInbound,
         "runtime.kubernetes.injector.sidecarContainer.redirectPortInbound");
  c.port(k.injector.sidecarContainer.redirectPortOutbound,
         "runtime.kubernetes.injector.sidecarContainer.redirectPortOutbound");
  c.port(k.injector.builtinDNS.port, "runtime.kubernetes.injector.builtinDNS.port");
  c.positive(k.leaderElection.leaseDuration, "runtime.kubernetes.leaderElection.leaseDuration");
  c.positive(k.leaderElection.renewDeadline, "runtime.kubernetes.leaderElection.renewDeadline");
  c.check(k.clientConfig.qps >= 0, "runtime.kubernetes.clientConfig.qps", "must not be negative");
  c.check(k.clientConfig.burstQps >= 0, "runtime.kubernetes.clientConfig.burstQps",
          "must not be negative");
}

}  // namespace

absl::Status validate(const KumaCpConfig& cfg) {
  Checker c;
  c.enumValue(cfg.mode, "mode", {"zone", "global", "standalone"});
  c.enumValue(cfg.environment, "environment", {"universal", "kubernetes"});
  validateStore(cfg.store, c);
  validateBootstrap(cfg.bootstrapServer.params, c);

  const MonitoringAssignmentServerConfig& mads = cfg.monitoringAssignmentServer;
  c.port(mads.port, "monitoringAssignmentServer.port");
  for (const std::string& v : mads.apiVersions) {
    c.check(v == "v1", "monitoringAssignmentServer.apiVersions",
            absl::StrCat("unsupported API version \"", v, "\": must be \"v1\""));
  }
  c.positive(mads.assignmentRefreshInterval,
             "monitoringAssignmentServer.assignmentRefreshInterval");
  c.nonNegative(mads.defaultFetchTimeout, "monitoringAssignmentServer.defaultFetchTimeout");
  c.certPair("monitoringAssignmentServer", mads.tlsCertFile, mads.tlsKeyFile);
  c.tls("monitoringAssignmentServer", mads.tlsMinVersion, mads.tlsMaxVersion, mads.tlsCipherSuites);

  c.positive(cfg.xdsServer.dataplaneConfigurationRefreshInterval,
             "xdsServer.dataplaneConfigurationRefreshInterval");
  c.positive(cfg.xdsServer.dataplaneStatusFlushInterval, "xdsServer.dataplaneStatusFlushInterval");
  c.nonNegative(cfg.xdsServer.nackBackoff, "xdsServer.nackBackoff");
  c.nonNegative(cfg.xdsServer.dataplaneDeregistrationDelay,
                "xdsServer.dataplaneDeregistrationDelay");

  validateApiServer(cfg.apiServer, c);
  if (cfg.environment == "kubernetes") {
    validateKubernetesRuntime(cfg.runtime.kubernetes, c);
  } else {
    const UniversalRuntimeConfig& u = cfg.runtime.universal;
    c.positive(u.dataplaneCleanupAge, "runtime.universal.dataplaneCleanupAge");
    c.positive(u.zoneResourceCleanupAge, "runtime.universal.zoneResourceCleanupAge");
    c.positive(u.vipRefreshInterval, "runtime.universal.vipRefreshInterval");
    c.positive(u.workload.generationInterval, "runtime.universal.workload.generationInterval");
  }

  const MetricsConfig& m = cfg.metrics;
  c.check(m.dataplane.subscriptionLimit >= 0, "metrics.dataplane.subscriptionLimit",
          "must not be negative");
  c.nonNegative(m.dataplane.idleTimeout, "metrics.dataplane.idleTimeout");
  c.check(m.zone.subscriptionLimit >= 0, "metrics.zone.subscriptionLimit", "must not be negative");
  c.nonNegative(m.zone.idleTimeout, "metrics.zone.idleTimeout");
  c.positive(m.mesh.minResyncInterval, "metrics.mesh.minResyncInterval");
  c.check(m.mesh.fullResyncInterval >= m.mesh.minResyncInterval, "metrics.mesh.fullResyncInterval",
          "must not be lower than minResyncInterval");
  c.check(m.mesh.bufferSize > 0, "metrics.mesh.bufferSize", "must be greater than 0");
  c.check(m.mesh.eventProcessors > 0, "metrics.mesh.eventProcessors", "must be greater than 0");

  const GeneralConfig& g = cfg.general;
  c.certPair("general", g.tlsCertFile, g.tlsKeyFile);
  c.tls("general", g.tlsMinVersion, g.tlsMaxVersion, g.tlsCipherSuites);
  c.nonNegative(g.dnsCacheTTL, "general.dnsCacheTTL");
  c.positive(g.resilientComponentBaseBackoff, "general.resilientComponentBaseBackoff");
  c.positive(g.resilientComponentMaxBackoff, "general.resilientComponentMaxBackoff");
  c.positive(g.certGenerationBaseBackoff, "general.certGenerationBaseBackoff");
  c.positive(g.certGenerationMaxBackoff, "general.certGenerationMaxBackoff");

  c.check(!cfg.dnsServer.domain.empty(), "dnsServer.domain", "must not be empty");
  c.check(isCidr(cfg.dnsServer.cidr), "dnsServer.CIDR",
          absl::StrCat("\"", cfg.dnsServer.cidr, "\" is not a valid CIDR"));
  c.check(cfg.dnsServer.serviceVipPort >= 1 && cfg.dnsServer.serviceVipPort <= 65535,
          "dnsServer.serviceVipPort", "must be in the range [1, 65535]");

  validateMultizone(cfg, c);

  const DiagnosticsConfig& d = cfg.diagnostics;
  c.port(d.serverPort, "diagnostics.serverPort");
  c.certPair("diagnostics", d.tlsCertFile, d.tlsKeyFile);
  c.tls("diagnostics", d.tlsMinVersion, d.tlsMaxVersion, d.tlsCipherSuites);

  validateDpServer(cfg.dpServer, c);

  c.positive(cfg.interCp.catalog.heartbeatInterval, "interCp.catalog.heartbeatInterval");
  c.positive(cfg.interCp.catalog.writerInterval, "interCp.catalog.writerInterval");
  c.port(cfg.interCp.server.port, "interCp.server.port");
  c.tls("interCp.server", cfg.interCp.server.tlsMinVersion, cfg.interCp.server.tlsMaxVersion,
        cfg.interCp.server.tlsCipherSuites);

  c.enumValue(cfg.access.type, "access.type", {"static"});

  c.positive(cfg.experimental.kdsEventBasedWatchdog.flushInterval,
             "experimental.kdsEventBasedWatchdog.flushInterval");
  c.positive(cfg.experimental.kdsEventBasedWatchdog.fullResyncInterval,
             "experimental.kdsEventBasedWatchdog.fullResyncInterval");

  c.check(cfg.eventBus.bufferSize > 0, "eventBus.bufferSize", "must be greater than 0");

  for (const auto& [path, cidr] :
       {std::pair<const char*, const std::string*>{"ipam.meshService.cidr",
                                                   &cfg.ipam.meshService.cidr},
        {"ipam.meshExternalService.cidr", &cfg.ipam.meshExternalService.cidr},
        {"ipam.meshMultiZoneService.cidr", &cfg.ipam.meshMultiZoneService.cidr}}) {
    c.check(isCidr(*cidr), path, absl::StrCat("\"", *cidr, "\" is not a valid CIDR"));
  }
  for (const std::string& cidr : cfg.ipam.knownInternalCIDRs) {
    c.check(isCidr(cidr), "ipam.knownInternalCIDRs",
            absl::StrCat("\"", cidr, "\" is not a valid CIDR"));
  }
  c.positive(cfg.ipam.allocationInterval, "ipam.allocationInterval");
  c.positive(cfg.meshService.generationInterval, "meshService.generationInterval");
  c.nonNegative(cfg.meshService.deletionGracePeriod, "meshService.deletionGracePeriod");
  for (const std::string& key : cfg.meshService.labelPropagation.allowedLabelKeys) {
    // Kuma's MeshServiceConfig.Validate: reserved keys are never propagated.
    c.check(!absl::StartsWith(key, "kuma.io/") && !absl::StartsWith(key, "k8s.kuma.io/"),
            "meshService.labelPropagation.allowedLabelKeys",
            absl::StrCat("contains reserved key \"", key, "\""));
  }
  return c.status();
}

nlohmann::ordered_json toJson(const KumaCpConfig& config) {
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  for (const FieldDescriptor& f : configFields()) {
    nlohmann::ordered_json* node = &root;
    std::vector<absl::string_view> segments = absl::StrSplit(f.path, '.');
    for (size_t i = 0; i + 1 < segments.size(); ++i) {
      node = &(*node)[std::string(segments[i])];
    }
    (*node)[std::string(segments.back())] =
        f.sensitive ? nlohmann::ordered_json(kSanitizedValue) : f.toJson(config);
  }
  return root;
}

}  // namespace kuma::config
