#include "source/server/control_plane.h"

#include <unistd.h>

#include <algorithm>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "source/api_server/api_server.h"
#include "source/common/logging.h"
#include "source/common/tls/cert.h"
#include "source/common/version.h"
#include "source/core/ca/mesh_ca.h"
#include "source/core/defaults/defaults.h"
#include "source/core/store/cached_store.h"
#include "source/core/tokens/dataplane_token.h"
#include "source/diagnostics/diagnostics_server.h"
#include "source/core/resources/mesh.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/server/all_types.h"
#include "kuma/runtime/function_component.h"
#include "source/common/status_macros.h"
#include "source/xds/bootstrap/handler.h"

namespace kuma::server {
namespace {

std::string hostname() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) {
    return "localhost";
  }
  return buf;
}

std::string randomHex(size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[rd() % 16];
  }
  return out;
}

std::string uuid() {
  const std::string h = randomHex(32);
  return absl::StrCat(h.substr(0, 8), "-", h.substr(8, 4), "-4", h.substr(13, 3), "-a",
                      h.substr(17, 3), "-", h.substr(20, 12));
}

uint16_t port(uint32_t p) {
  return static_cast<uint16_t>(p);
}

}  // namespace

ControlPlane::~ControlPlane() {
  stop();
}

absl::StatusOr<std::unique_ptr<ControlPlane>> ControlPlane::create(
    std::shared_ptr<const config::KumaCpConfig> config) {
  const config::KumaCpConfig& cfg = *config;
  if (cfg.environment != "universal") {
    return absl::UnimplementedError(absl::StrCat("environment \"", cfg.environment,
                                                 "\" is not supported yet (only universal)"));
  }
  if (cfg.mode == "global") {
    return absl::UnimplementedError("mode \"global\" (multizone) is not supported yet");
  }
  std::unique_ptr<ControlPlane> cp(new ControlPlane());
  cp->config_ = config;
  if (cfg.store.type != "memory") {
    return absl::UnimplementedError(
        absl::StrCat("store type \"", cfg.store.type, "\" is not supported yet (only memory)"));
  }
  metrics::MetricsOptions metricsOptions;
  metricsOptions.zone = cfg.multizone.zone.name.empty() ? "Zone" : cfg.multizone.zone.name;
  cp->metrics_ = std::make_unique<metrics::Metrics>(metricsOptions);
  cp->xdsMetrics_ = std::make_unique<metrics::XdsStreamMetrics>(*cp->metrics_);
  cp->store_ = memory::newMemoryStore();
  cp->timedStore_ = std::make_unique<metrics::InstrumentedStore>(*cp->store_, *cp->metrics_);
  const model::TypeRegistry& registry = allTypes();
  manager::Options managerOptions;
  managerOptions.zone = cfg.multizone.zone.name;
  managerOptions.unsafeDelete = cfg.store.unsafeDelete;
  managerOptions.upsertConflictRetries = static_cast<int>(cfg.store.upsert.conflictRetryMaxTimes);
  managerOptions.upsertRetryBaseBackoff =
      absl::FromChrono(cfg.store.upsert.conflictRetryBaseBackoff);
  cp->manager_ =
      std::make_unique<manager::ResourceManager>(*cp->timedStore_, registry, managerOptions);

  // Rules that need the previous version of a resource.
  cp->manager_->setUpdateValidator("Mesh",
                                   [](const model::Resource& old, const model::Resource& updated) {
                                     return resources::validateMeshUpdate(old, updated);
                                   });

  // Mesh mTLS CAs: provided CAs validated on every Mesh write, builtin CAs' Secrets ensured
  // right after it.
  cp->cas_ = std::make_unique<ca::CaManagers>(ca::defaultCaManagers(*cp->manager_, registry));
  ca::installMeshCa(*cp->manager_, *cp->cas_);

  defaults::DefaultsOptions defaultsOptions;
  defaultsOptions.skipMeshCreation = cfg.defaults.skipMeshCreation;
  defaultsOptions.skipTenantResources = cfg.defaults.skipTenantResources;
  defaultsOptions.createMeshRoutingResources = cfg.defaults.createMeshRoutingResources;
  defaults::installMeshDefaults(*cp->manager_, registry, defaultsOptions);
  cp->components_.add(
      std::make_unique<defaults::DefaultsComponent>(*cp->manager_, registry, defaultsOptions));

  const std::string instanceId = absl::StrCat(hostname(), "-", randomHex(4));
  if (cfg.apiServer.http.enabled) {
    api_server::ApiServerOptions api;
    api.interface = cfg.apiServer.http.interface;
    api.port = port(cfg.apiServer.http.port);
    api.readOnly = cfg.apiServer.readOnly;
    api.localhostIsAdmin = cfg.apiServer.authn.localhostIsAdmin;
    api.guiEnabled = cfg.apiServer.gui.enabled;
    api.guiBasePath = cfg.apiServer.gui.basePath;
    api.version = version::kKumaCompatible;
    api.buildVersion =
        absl::StrCat("kuma-cpp/", version::kBuildVersion, " (", version::kGitCommit, ")");
    api.hostname = hostname();
    api.instanceId = instanceId;
    api.clusterId = uuid();
    api.configJson = [config] { return config::toJson(*config); };
    // Inspect (`_config`): generated on demand by the reconciler, created below.
    ControlPlane* inspected = cp.get();
    api.dataplaneConfig = [inspected, config](
                              const std::string& mesh,
                              const std::string& name) -> absl::StatusOr<nlohmann::ordered_json> {
      if (inspected->reconciler_ == nullptr) {
        return absl::UnavailableError("the xDS reconciler is not running");
      }
      xds::ProxyOptions defaults;
      defaults.internalCidrs = config->ipam.knownInternalCIDRs;
      defaults.serviceVipPort = config->dnsServer.serviceVipPort;
      KUMA_ASSIGN_OR_RETURN(auto generated, inspected->reconciler_->inspect(mesh, name, defaults));
      return xds::sync::xdsConfigJson(generated);
    };
    api.servedDataplaneConfig =
        [inspected](const std::string& mesh,
                    const std::string& name) -> absl::StatusOr<nlohmann::ordered_json> {
      if (inspected->reconciler_ == nullptr) {
        return absl::NotFoundError("the xDS reconciler is not running");
      }
      KUMA_ASSIGN_OR_RETURN(auto served, inspected->reconciler_->served(mesh, name));
      return xds::sync::xdsConfigJson(served);
    };
    api.issueDataplaneToken = tokens::dataplaneTokenEndpoint(
        *cp->manager_, registry, cfg.dpServer.authn.dpProxy.dpToken.enableIssuer);
    cp->components_.add(
        std::make_unique<api_server::ApiServer>(std::move(api), *cp->manager_, registry));
  }

  // xDS: snapshots kept by the reconciler, served by the ADS service on the DP server's gRPC.
  cp->snapshots_ = std::make_unique<xds::cache::SnapshotCache>();
  xds::sync::ReconcilerOptions reconcilerOptions;
  reconcilerOptions.refreshInterval = cfg.xdsServer.dataplaneConfigurationRefreshInterval;
  reconcilerOptions.workers = std::max(2u, std::thread::hardware_concurrency());
  metrics::XdsStreamMetrics* xdsMetrics = cp->xdsMetrics_.get();
  reconcilerOptions.onPass = [xdsMetrics](xds::sync::PassResult result,
                                          std::chrono::nanoseconds duration) {
    switch (result) {
      case xds::sync::PassResult::kSkipped:
        return xdsMetrics->recordGeneration(metrics::GenerationResult::kSkip, duration);
      case xds::sync::PassResult::kUnchanged:
        return xdsMetrics->recordGeneration(metrics::GenerationResult::kGenerated, duration);
      case xds::sync::PassResult::kPublished:
        return xdsMetrics->recordGeneration(metrics::GenerationResult::kChanged, duration);
      case xds::sync::PassResult::kError:
        return xdsMetrics->recordGenerationError();
    }
  };
  // The mesh contexts read through the cache (store.cache.*); store events invalidate it at once.
  cp->cacheProbe_ = std::make_unique<metrics::StoreCacheProbe>(*cp->metrics_);
  cp->cachedStore_ = std::make_unique<store::CachedStore>(
      cp->cacheProbe_->back(*cp->timedStore_),
      cfg.store.cache.enabled ? absl::FromChrono(cfg.store.cache.expirationTime)
                              : absl::ZeroDuration());
  cp->secrets_ = std::make_unique<xds::DataplaneSecrets>(*cp->cas_);
  reconcilerOptions.secrets = cp->secrets_.get();
  cp->reconciler_ = std::make_unique<xds::sync::Reconciler>(
      cp->cacheProbe_->front(*cp->cachedStore_), registry, *cp->snapshots_, reconcilerOptions);
  xds::sync::DataplaneCallbacksOptions callbacksOptions;
  callbacksOptions.authnType = cfg.dpServer.authn.dpProxy.type;
  callbacksOptions.deregistrationDelay = cfg.xdsServer.dataplaneDeregistrationDelay;
  callbacksOptions.proxyDefaults.internalCidrs = cfg.ipam.knownInternalCIDRs;
  callbacksOptions.proxyDefaults.serviceVipPort = cfg.dnsServer.serviceVipPort;
  cp->xdsCallbacks_ = std::make_unique<xds::sync::DataplaneCallbacks>(
      *cp->manager_, registry, *cp->reconciler_, callbacksOptions);
  xds::server::AdsServerOptions adsOptions;
  adsOptions.controlPlaneId = instanceId;
  adsOptions.onResponseBytes = [xdsMetrics](const std::string& typeUrl, size_t bytes) {
    xdsMetrics->onResponseBytes(typeUrl, bytes);
  };
  adsOptions.nackBackoff =
      std::chrono::duration_cast<std::chrono::milliseconds>(cfg.xdsServer.nackBackoff);
  xds::sync::InsightTrackerOptions insightOptions;
  insightOptions.controlPlaneInstanceId = instanceId;
  insightOptions.flushInterval = cfg.xdsServer.dataplaneStatusFlushInterval;
  insightOptions.subscriptionLimit = cfg.metrics.dataplane.subscriptionLimit;
  cp->insights_ =
      std::make_unique<xds::sync::InsightTracker>(*cp->manager_, registry, insightOptions);
  cp->streamCallbacks_ =
      std::make_unique<xds::sync::CompositeCallbacks>(std::vector<xds::server::StreamCallbacks*>{
          cp->xdsCallbacks_.get(), cp->insights_.get(), cp->xdsMetrics_.get()});
  cp->ads_ = std::make_unique<xds::server::AdsServer>(*cp->snapshots_, adsOptions,
                                                      cp->streamCallbacks_.get());
  xds::sync::Reconciler* reconciler = cp->reconciler_.get();
  cp->components_.add(std::make_unique<runtime::FunctionComponent>(
      "xds-reconciler",
      [reconciler] {
        reconciler->start();
        return absl::OkStatus();
      },
      [reconciler] { reconciler->stop(); }));
  // Stopped after the DP server, i.e. once the ADS streams are gone: their disconnects are written
  // (within InsightTrackerOptions::stopTimeout).
  xds::sync::InsightTracker* insights = cp->insights_.get();
  cp->components_.add(std::make_unique<runtime::FunctionComponent>(
      "xds-insights", nullptr, [insights] { insights->stop(); }));

  // DP server: kuma-dp's /bootstrap and Envoy's gRPC on one TLS port (docs/dp-server.md).
  {
    auto certPem = tls::readFile(cfg.dpServer.tlsCertFile);
    if (!certPem.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dpServer.tlsCertFile: ", certPem.status().message(),
          " (certificates are autoconfigured by dp_server::autoconfigureTlsCertificate)"));
    }
    xds::bootstrap::HandlerOptions bootstrap;
    bootstrap.dpProxyAuthnType = cfg.dpServer.authn.dpProxy.type;
    bootstrap.zoneProxyAuthnType = cfg.dpServer.authn.zoneProxy.type;
    const config::BootstrapParamsConfig& params = cfg.bootstrapServer.params;
    bootstrap.xdsHost = params.xdsHost;
    bootstrap.xdsPort = params.xdsPort != 0 ? params.xdsPort : cfg.dpServer.port;
    bootstrap.serverCertPem = *certPem;
    if (!params.corefileTemplatePath.empty()) {
      auto corefile = tls::readFile(params.corefileTemplatePath);
      if (!corefile.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bootstrapServer.params.corefileTemplatePath: ", corefile.status().message()));
      }
      bootstrap.corefileTemplate = *corefile;
    }
    bootstrap.params.adminAddress = params.adminAddress;
    bootstrap.params.adminPort = params.adminPort;
    bootstrap.params.envoyAdminUnixSocket = params.envoyAdminUnixSocket;
    bootstrap.params.readinessPort = params.readinessPort;
    bootstrap.params.adminAccessLogPath = params.adminAccessLogPath;
    bootstrap.params.xdsConnectTimeout = absl::FromChrono(params.xdsConnectTimeout);
    bootstrap.params.xdsGrpcMaxReceiveMessageBytes = params.xdsGrpcMaxReceiveMessageBytes;
    bootstrap.params.hdsEnabled = cfg.dpServer.hds.enabled;
    bootstrap.params.enableReloadableTokens = cfg.dpServer.authn.enableReloadableTokens;
    auto handler = std::make_shared<xds::bootstrap::BootstrapHandler>(std::move(bootstrap),
                                                                      *cp->manager_, registry);
    dp_server::DpServerOptions dp;
    dp.port = port(cfg.dpServer.port);
    dp.certFile = cfg.dpServer.tlsCertFile;
    dp.keyFile = cfg.dpServer.tlsKeyFile;
    dp.tlsMinVersion = cfg.dpServer.tlsMinVersion;
    dp.tlsMaxVersion = cfg.dpServer.tlsMaxVersion;
    dp.tlsCipherSuites = cfg.dpServer.tlsCipherSuites;
    dp.readHeaderTimeout = absl::FromChrono(cfg.dpServer.readHeaderTimeout);
    dp.gracefulShutdownTimeout = absl::FromChrono(cfg.dpServer.gracefulShutdownTimeout);
    dp.bootstrap = [handler](const xds::bootstrap::HttpRequest& request) {
      return handler->handle(request);
    };
    auto server = std::make_unique<dp_server::DpServer>(std::move(dp));
    cp->dpServer_ = server.get();
    KUMA_RETURN_IF_ERROR(server->addGrpcService(cp->ads_.get()));
    cp->components_.add(std::move(server));
    // Stopped before the DP server: end ADS streams at once (without deregistering proxies) so
    // that the gRPC server does not wait for them.
    xds::server::AdsServer* ads = cp->ads_.get();
    xds::sync::DataplaneCallbacks* callbacks = cp->xdsCallbacks_.get();
    cp->components_.add(
        std::make_unique<runtime::FunctionComponent>("xds-streams", nullptr, [ads, callbacks] {
          callbacks->shutdown();
          ads->shutdown();
        }));
  }

  diagnostics::DiagnosticsOptions diag;
  diag.port = port(cfg.diagnostics.serverPort);
  diag.debugEndpoints = cfg.diagnostics.debugEndpoints;
  diag.tlsEnabled = cfg.diagnostics.tlsEnabled;
  diag.tlsCertFile = cfg.diagnostics.tlsCertFile;
  diag.tlsKeyFile = cfg.diagnostics.tlsKeyFile;
  diag.tlsMinVersion = cfg.diagnostics.tlsMinVersion;
  diag.tlsMaxVersion = cfg.diagnostics.tlsMaxVersion;
  ControlPlane* self = cp.get();
  diag.ready = [self] { return self->ready(); };
  // Metrics kept elsewhere are read at scrape time (docs/metrics.md).
  {
    metrics::CpInfo info;
    info.version = version::kKumaCompatible;
    info.gitCommit = std::string(version::kGitCommit).substr(0, 7);
    info.instanceId = instanceId;
    cp->metrics_->setCpInfo(info);
    xds::server::AdsServer* ads = cp->ads_.get();
    xds::sync::Reconciler* reconciled = cp->reconciler_.get();
    cp->metrics_->addCollector([ads, reconciled](std::vector<prometheus::MetricFamily>& out) {
      out.push_back(metrics::makeFamily(
          "xds_streams_active", "Number of active connections between a server and a client",
          prometheus::MetricType::Gauge, {{{}, static_cast<double>(ads->stats().streamsActive)}}));
      const xds::sync::ReconcilerStats stats = reconciled->stats();
      const auto lookup = [](const char* result) {
        return prometheus::Labels{{"operation", "get"}, {"result", result}};
      };
      out.push_back(
          metrics::makeFamily("mesh_cache", "Summary of Mesh Cache", prometheus::MetricType::Gauge,
                              {{lookup("hit"), static_cast<double>(stats.contextHits)},
                               {lookup("hit-wait"), static_cast<double>(stats.contextHitWaits)},
                               {lookup("miss"), static_cast<double>(stats.contextMisses)},
                               {lookup("error"), static_cast<double>(stats.contextErrors)}}));
    });
    if (cfg.metrics.controlPlane.reportResourcesCount) {
      // The raw store: counting must not show up in the `store` histogram.
      cp->metrics_->addCollector(metrics::resourcesCountCollector(*cp->store_, registry.all()));
    }
  }
  metrics::Metrics* served = cp->metrics_.get();
  diag.metrics = [served] { return served->scrape(); };
  cp->components_.add(std::make_unique<diagnostics::DiagnosticsServer>(std::move(diag)));
  return cp;
}

}  // namespace kuma::server
