#include "source/server/control_plane.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_format.h"
#include "source/api_server/api_server.h"
#include "source/common/logging.h"
#include "source/common/json_yaml.h"
#include "source/common/tls/cert.h"
#include "source/common/version.h"
#include "source/core/ca/mesh_ca.h"
#include "source/core/defaults/defaults.h"
#include "source/core/model/proto_spec.h"
#include "source/core/store/cached_store.h"
#include "source/core/tokens/dataplane_token.h"
#include "source/diagnostics/diagnostics_server.h"
#include "source/core/resources/mesh.h"
#include "source/core/resources/mesh_types.h"
#include "source/core/resources/policies.h"
#include "source/core/resources/system_types.h"
#include "source/plugins/identity/controllers/identity_controllers.h"
#include "source/plugins/policies/xds_plugins.h"
#include "source/plugins/resources/kubernetes/kubernetes_store.h"
#include "source/plugins/runtime/kubernetes/controllers.h"
#include "source/plugins/runtime/kubernetes/lease_elector.h"
#include "source/plugins/runtime/kubernetes/service_account_authenticator.h"
#include "source/plugins/runtime/kubernetes/webhooks/admission_server.h"
#include "source/plugins/resources/memory/memory_store.h"
#include "source/plugins/resources/postgres/leader_elector.h"
#include "source/plugins/resources/postgres/migrations.h"
#include "source/plugins/services/controllers/hostname_generator.h"
#include "source/plugins/services/controllers/meshservice_status.h"
#include "source/plugins/services/controllers/service_resource.h"
#include "source/plugins/services/controllers/service_controllers.h"
#include "source/server/all_types.h"
#include "kuma/runtime/function_component.h"
#include "source/common/status_macros.h"
#include "source/xds/bootstrap/handler.h"
#include "source/xds/envoy/redaction.h"
#include "source/xds/inspect/policy_inspect.h"
#include "source/xds/inspect/rule_attachments.h"

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

/**
 * Kuma's Config `kuma-cluster-id`: a UUID created by the first start and read by every later one
 * (and by every instance on the same database), so the index's `clusterId` and the metrics'
 * `cluster_id` survive restarts. Falls back to a fresh UUID (logged) when the store fails.
 */
std::string persistentClusterId(store::ResourceStore& store, const model::TypeRegistry& registry) {
  constexpr char kName[] = "kuma-cluster-id";
  const model::ResourceTypeDescriptor* type = registry.byName(resources::kConfigType);
  absl::Status failure = absl::NotFoundError("no Config type");
  for (int attempt = 0; type != nullptr && attempt < 2; ++attempt) {
    auto existing = store.get(*type, {kName, ""});
    if (existing.ok()) {
      const auto* spec = model::protoSpecOf<system::v1alpha1::Config>(**existing);
      if (spec != nullptr && !spec->config().empty()) {
        return spec->config();
      }
      failure = absl::InvalidArgumentError("the stored cluster id is empty");
      break;
    }
    if (!absl::IsNotFound(existing.status())) {
      failure = existing.status();
      break;
    }
    system::v1alpha1::Config config;
    config.set_config(uuid());
    model::Resource resource;
    resource.descriptor = type;
    resource.meta.name = kName;
    resource.spec = resources::makeConfigSpec(config);
    auto created = store.create(std::move(resource), {});
    if (created.ok()) {
      logging::logger("cluster-id")->info("created cluster ID {}", config.config());
      return config.config();
    }
    failure = created.status();
    if (!absl::IsAlreadyExists(failure)) {
      break;  // AlreadyExists: another instance was first, read its id
    }
  }
  logging::logger("cluster-id")
      ->warn("could not read or store the cluster ID ({}); using a new one",
             std::string(failure.message()));
  return uuid();
}

uint16_t port(uint32_t p) {
  return static_cast<uint16_t>(p);
}

/** Adds what an operator needs to a connection failure: the timeout and the key that sets it. */
absl::Status connectionError(const absl::Status& status,
                             const store::postgres::ConnectionSettings& settings) {
  if (status.code() != absl::StatusCode::kUnavailable) {
    return status;
  }
  return absl::UnavailableError(absl::StrCat(status.message(), "; connection timeout ",
                                             settings.connectionTimeoutSeconds,
                                             "s (store.postgres.connectionTimeout)"));
}

/**
 * store.type postgres: settings → boot gate (Kuma's migration check, §12.2) → the store with
 * its LISTEN connection. Nothing listens yet when this fails, like Kuma's "unable to set up
 * Control Plane runtime".
 */
absl::StatusOr<std::unique_ptr<store::postgres::PostgresStore>> openPostgresStore(
    const config::PostgresStoreConfig& pg, const model::TypeRegistry& registry) {
  namespace postgres = store::postgres;
  KUMA_ASSIGN_OR_RETURN(postgres::ConnectionSettings settings,
                        postgres::connectionSettingsFromConfig(pg));
  KUMA_ASSIGN_OR_RETURN(postgres::PoolOptions pool, postgres::poolOptionsFromConfig(pg));
  absl::StatusOr<postgres::MigrationState> state = postgres::migrationState(settings);
  if (!state.ok()) {
    return connectionError(state.status(), settings);
  }
  KUMA_RETURN_IF_ERROR(postgres::checkMigrated(*state, pg.tolerateNewerDBVersions));
  postgres::StoreOptions options;
  options.connection = settings;
  options.pool = pool;
  options.typeResolver = [&registry](std::string_view name) { return registry.byName(name); };
  // Kuma restarts its listener after 5 s..1 min; a shorter cap makes the recovery after a
  // database restart (resync, /ready back to 200) visible within seconds.
  options.listenerInitialBackoff = absl::Milliseconds(250);
  options.listenerMaxBackoff = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<postgres::PostgresStore>> store =
      postgres::newPostgresStore(std::move(options));
  if (!store.ok()) {
    return connectionError(store.status(), settings);
  }
  return store;
}

/**
 * store.type kubernetes: the API server from $KUBECONFIG or the in-cluster service account,
 * throttled at runtime.kubernetes.clientConfig.qps/burstQps; every registered type with a
 * Kubernetes representation is watched, and the store is ready once each has been listed.
 */
absl::StatusOr<std::unique_ptr<k8s::KubernetesStore>> openKubernetesStore(
    const config::KumaCpConfig& cfg, const model::TypeRegistry& registry) {
  KUMA_ASSIGN_OR_RETURN(k8s::KubeConnection connection, k8s::discoverConnection(""));
  k8s::KubeClientOptions clientOptions;
  clientOptions.qps = cfg.runtime.kubernetes.clientConfig.qps;
  clientOptions.burst = cfg.runtime.kubernetes.clientConfig.burstQps;
  KUMA_ASSIGN_OR_RETURN(std::unique_ptr<k8s::KubeClient> client,
                        k8s::KubeClient::create(std::move(connection), clientOptions));
  k8s::KubernetesStoreOptions options;
  options.client = std::move(client);
  options.systemNamespace = cfg.store.kubernetes.systemNamespace;
  for (const model::ResourceTypeDescriptor* type : registry.all()) {
    options.types.push_back(type);
  }
  KUMA_ASSIGN_OR_RETURN(std::unique_ptr<k8s::KubernetesStore> store,
                        k8s::newKubernetesStore(std::move(options)));
  KUMA_RETURN_IF_ERROR(store->waitForSync(absl::Seconds(60)));
  return store;
}

/** The Kubernetes client's request and throttling counters (docs/kubernetes.md). */
metrics::Collector kubeClientCollector(const k8s::KubernetesStore& store) {
  const k8s::KubeClient* client = store.client();
  return [client](std::vector<prometheus::MetricFamily>& out) {
    const k8s::KubeClientStats stats = client->stats();
    const auto counter = prometheus::MetricType::Counter;
    out.push_back(metrics::makeFamily("kube_client_requests_total",
                                      "Requests sent to the Kubernetes API server", counter,
                                      {{{}, static_cast<double>(stats.requests)}}));
    out.push_back(
        metrics::makeFamily("kube_client_throttled_requests_total",
                            "Kubernetes API requests that waited for the client's rate limiter "
                            "(runtime.kubernetes.clientConfig.qps/burstQps)",
                            counter, {{{}, static_cast<double>(stats.throttled)}}));
    out.push_back(
        metrics::makeFamily("kube_client_throttled_seconds_total",
                            "Time Kubernetes API requests waited for the client's rate limiter",
                            counter, {{{}, absl::ToDoubleSeconds(stats.throttledTime)}}));
  };
}

/** Kuma's pool gauges (§13.2, pool="rw"), read at scrape time; docs/postgres.md. */
metrics::Collector postgresPoolCollector(const store::postgres::PostgresStore& store, int max) {
  return [&store, max](std::vector<prometheus::MetricFamily>& out) {
    const store::postgres::PoolStats stats = store.stats();
    const auto pool = [](std::vector<std::pair<std::string, std::string>> extra) {
      prometheus::Labels labels{{"pool", "rw"}};
      for (auto& [k, v] : extra) {
        labels[k] = v;
      }
      return labels;
    };
    const auto gauge = prometheus::MetricType::Gauge;
    out.push_back(metrics::makeFamily(
        "store_postgres_connections", "Current number of postgres store connections", gauge,
        {{pool({{"type", "open_connections"}}), static_cast<double>(stats.open)},
         {pool({{"type", "in_use"}}), static_cast<double>(stats.inUse)},
         {pool({{"type", "idle"}}), static_cast<double>(stats.idle)},
         {pool({{"type", "new"}}), static_cast<double>(stats.opened)}}));
    out.push_back(metrics::makeFamily(
        "store_postgres_connections_max", "Max postgres store open connections", gauge,
        {{pool({}), max == 0 ? 2147483647.0 : static_cast<double>(max)}}));
    out.push_back(
        metrics::makeFamily("store_postgres_connection_wait_count",
                            "Total number of connections waited for in the postgres store", gauge,
                            {{pool({}), static_cast<double>(stats.waitCount)}}));
    out.push_back(metrics::makeFamily(
        "store_postgres_connection_closed", "Total number of closed postgres store connections",
        gauge, {{pool({{"type", "closed"}}), static_cast<double>(stats.closed)}}));
    out.push_back(metrics::makeFamily(
        "store_postgres_connection_acquire",
        "Postgres store connection acquires that gave up (all connections in use until the "
        "deadline)",
        gauge, {{pool({{"type", "canceled"}}), static_cast<double>(stats.acquireTimeouts)}}));
    // kuma-cpp: callers blocked on a free connection right now (not a Kuma metric).
    out.push_back(metrics::makeFamily("store_postgres_connections_waiting",
                                      "Callers currently waiting for a free postgres connection",
                                      gauge, {{pool({}), static_cast<double>(stats.waiting)}}));
  };
}

/** The admin API address of Dataplane `name` of `mesh`, as stored (inspect, pod status). */
absl::StatusOr<envoy_admin::EnvoyAdminTarget> storedAdminTarget(
    manager::ResourceManager& manager, const model::ResourceTypeDescriptor& dataplaneType,
    const std::string& mesh, const std::string& name, uint32_t defaultAdminPort) {
  KUMA_ASSIGN_OR_RETURN(model::ResourceConstSharedPtr dataplane,
                        manager.get(dataplaneType, {name, mesh}));
  const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*dataplane);
  if (spec == nullptr) {
    return absl::InternalError(absl::StrCat("Dataplane ", name, " has no spec"));
  }
  return envoy_admin::envoyAdminTarget(*spec, defaultAdminPort);
}

}  // namespace

/** Kuma's leader election on Kubernetes: the Lease cp-leader-lease in the system namespace. */
static std::unique_ptr<runtime::LeaderElector> leaseElector(const config::KumaCpConfig& cfg,
                                                            k8s::KubernetesStore& kubeStore,
                                                            std::function<void()> onElected,
                                                            std::function<void()> onLost) {
  k8s::runtime::LeaseElectorOptions options;
  // A client and rate limit of its own (client-go's leader election has its clientset); each
  // attempt bounded well within the renew deadline, retried by the elector, not the client.
  k8s::KubeClientOptions clientOptions = kubeStore.client()->options();
  clientOptions.requestTimeout = absl::Seconds(5);
  clientOptions.maxRetries = 0;
  options.client = kubeStore.client()->withOwnRateLimit(clientOptions);
  options.ns = cfg.store.kubernetes.systemNamespace;
  options.identity = k8s::runtime::leaseIdentity(hostname());
  options.leaseDuration = absl::FromChrono(cfg.runtime.kubernetes.leaderElection.leaseDuration);
  options.renewDeadline = absl::FromChrono(cfg.runtime.kubernetes.leaderElection.renewDeadline);
  return std::make_unique<k8s::runtime::LeaseElector>(options, std::move(onElected),
                                                      std::move(onLost));
}

/** Kuma's pod and service controllers (environment: kubernetes), fed by the store's Mesh events. */
runtime::ComponentPtr ControlPlane::kubernetesControllers(ControlPlane& cp,
                                                          const config::KumaCpConfig& cfg,
                                                          k8s::KubernetesStore& kubeStore,
                                                          const model::TypeRegistry& registry) {
  k8s::runtime::KubernetesControllersOptions options;
  options.client = kubeStore.client()->sibling();
  options.eventsClient = kubeStore.client()->withOwnRateLimit();
  options.workers = cfg.runtime.kubernetes.controllersConcurrency.podController;
  options.cniEnabled = cfg.runtime.kubernetes.injector.cniEnabled;
  // The pod status controller: Envoy of a finished Job's Pod told to quit through its admin API.
  options.quitEnvoy = [&cp, dataplaneType = registry.byName("Dataplane"),
                       defaultAdminPort = cfg.bootstrapServer.params.adminPort](
                          const std::string& mesh, const std::string& name) -> absl::Status {
    if (cp.envoyAdminClient_ == nullptr) {
      return absl::UnavailableError("the Envoy admin client is not ready");
    }
    KUMA_ASSIGN_OR_RETURN(
        envoy_admin::EnvoyAdminTarget target,
        storedAdminTarget(*cp.manager_, *dataplaneType, mesh, name, defaultAdminPort));
    return cp.envoyAdminClient_->postQuit(target);
  };
  options.hostname = hostname();
  options.converter.zone = cfg.multizone.zone.name;
  options.converter.systemNamespace = cfg.store.kubernetes.systemNamespace;
  options.converter.inboundTagsDisabled = cfg.experimental.inboundTagsDisabled;
  options.converter.nodeLabelsToCopy = cfg.runtime.kubernetes.injector.nodeLabelsToCopy;
  options.converter.workloadLabels = cfg.runtime.kubernetes.workloadLabels;
  options.ignoredServiceSelectorLabels =
      cfg.runtime.kubernetes.injector.ignoredServiceSelectorLabels;
  options.meshServices =
      std::find(cfg.coreResources.enabled.begin(), cfg.coreResources.enabled.end(),
                "meshservices") != cfg.coreResources.enabled.end();
  options.inboundTagsDisabled = cfg.experimental.inboundTagsDisabled;
  const model::ResourceTypeDescriptor* meshType = registry.byName(resources::kMeshType);
  manager::ResourceManager* manager = cp.manager_.get();
  options.meshServicesMode =
      [manager,
       meshType](const std::string& mesh) -> absl::StatusOr<k8s::runtime::MeshServicesMode> {
    KUMA_ASSIGN_OR_RETURN(model::ResourceConstSharedPtr found, manager->get(*meshType, {mesh, ""}));
    const auto* spec = model::protoSpecOf<mesh::v1alpha1::Mesh>(*found);
    switch (spec == nullptr ? mesh::v1alpha1::Mesh::MeshServices::Disabled
                            : spec->mesh_services().mode()) {
      case mesh::v1alpha1::Mesh::MeshServices::Everywhere:
        return k8s::runtime::MeshServicesMode::kEverywhere;
      case mesh::v1alpha1::Mesh::MeshServices::ReachableBackends:
        return k8s::runtime::MeshServicesMode::kReachableBackends;
      case mesh::v1alpha1::Mesh::MeshServices::Exclusive:
        return k8s::runtime::MeshServicesMode::kExclusive;
      default:
        return k8s::runtime::MeshServicesMode::kDisabled;
    }
  };
  options.ensureMeshDefaults = [manager, meshType](const std::string& mesh) -> absl::Status {
    KUMA_ASSIGN_OR_RETURN(model::ResourceConstSharedPtr found, manager->get(*meshType, {mesh, ""}));
    return manager->runMeshCreatedHooks(*found);
  };
  auto controller = std::make_unique<k8s::runtime::KubernetesControllers>(std::move(options));
  k8s::runtime::KubernetesControllers* pods = controller.get();
  cp.metrics_->addCollector(
      [pods](std::vector<prometheus::MetricFamily>& out) { pods->collect(out); });
  cp.meshEvents_ = cp.store_->subscribe([pods, meshType](const store::ChangeEvent& event) {
    if (event.resourceType == meshType) {  // a deleted Mesh's mode is forgotten
      pods->onMeshChanged(event.key.name);
    }
  });
  return controller;
}

/** Kuma's admission webhooks (environment: kubernetes): sidecar injection and validation. */
absl::StatusOr<runtime::ComponentPtr> ControlPlane::admissionServer(
    ControlPlane& cp, const config::KumaCpConfig& cfg, k8s::KubernetesStore& kubeStore,
    const model::TypeRegistry& registry) {
  const config::KubernetesRuntimeConfig& rk = cfg.runtime.kubernetes;
  k8s::webhooks::AdmissionServerOptions options;
  options.address = rk.admissionServer.address;
  options.port = static_cast<uint16_t>(rk.admissionServer.port);
  options.certDir = rk.admissionServer.certDir;
  k8s::webhooks::InjectorOptions& injector = options.injector;
  injector.injector = rk.injector;
  injector.controlPlaneUrl =
      absl::StrCat("https://", rk.controlPlaneServiceName, ".",
                   cfg.store.kubernetes.systemNamespace, ":", cfg.dpServer.port);
  if (!rk.injector.caCertFile.empty()) {
    std::ifstream in(rk.injector.caCertFile);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat("could not read provided CA cert file ", rk.injector.caCertFile));
    }
    injector.caCert.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  injector.envoyAdminPort = cfg.bootstrapServer.params.adminPort;
  injector.readinessPort = cfg.bootstrapServer.params.readinessPort;
  injector.envoyAdminUnixSocket = cfg.bootstrapServer.params.envoyAdminUnixSocket;
  injector.deltaXds = cfg.experimental.deltaXds;
  std::shared_ptr<k8s::KubeClient> client = kubeStore.client()->sibling();
  // Sidecar containers (restartable init containers) need Kubernetes 1.29, as Kuma checks.
  injector.sidecarContainersEnabled = cfg.experimental.sidecarContainers;
  if (injector.sidecarContainersEnabled) {
    KUMA_ASSIGN_OR_RETURN(k8s::KubeResponse version, client->request("GET", "/version"));
    if (version.status != 200) {
      return k8s::kubeApiError("the API server's version", version);
    }
    const nlohmann::json v = nlohmann::json::parse(version.body, nullptr, false);
    int major = 0;
    int minor = 0;
    if (v.is_object() && absl::SimpleAtoi(common::jsonString(v, "major"), &major) &&
        absl::SimpleAtoi(absl::StripSuffix(common::jsonString(v, "minor"), "+"), &minor) &&
        (major < 1 || (major == 1 && minor < 29))) {
      logging::logger("admission-server")
          ->warn(
              "WARNING: sidecarContainers feature is enabled but Kubernetes server does not "
              "support it");
      injector.sidecarContainersEnabled = false;
    }
  }
  const std::string systemNamespace = cfg.store.kubernetes.systemNamespace;
  options.getNamespace = [client](const std::string& name) -> absl::StatusOr<nlohmann::json> {
    KUMA_ASSIGN_OR_RETURN(k8s::KubeResponse r,
                          client->request("GET", absl::StrCat("/api/v1/namespaces/", name)));
    if (r.status == 404) {
      return absl::NotFoundError(absl::StrCat("namespaces \"", name, "\" not found"));
    }
    if (r.status != 200) {
      return k8s::kubeApiError(absl::StrCat("namespace ", name), r);
    }
    return nlohmann::json::parse(r.body, nullptr, false);
  };
  const model::ResourceTypeDescriptor* meshType = registry.byName(resources::kMeshType);
  manager::ResourceManager* manager = cp.manager_.get();
  options.injectorLookups.meshExists = [manager,
                                        meshType](const std::string& mesh) -> absl::StatusOr<bool> {
    absl::StatusOr<model::ResourceConstSharedPtr> found = manager->get(*meshType, {mesh, ""});
    if (absl::IsNotFound(found.status())) {
      return false;
    }
    KUMA_RETURN_IF_ERROR(found.status());
    return true;
  };
  options.injectorLookups.servicesOf =
      [client](const std::string& ns) -> absl::StatusOr<std::vector<nlohmann::json>> {
    KUMA_ASSIGN_OR_RETURN(
        k8s::KubeResponse r,
        client->request("GET", absl::StrCat("/api/v1/namespaces/", ns, "/services")));
    if (r.status != 200) {
      return k8s::kubeApiError(absl::StrCat("services of ", ns), r);
    }
    const nlohmann::json list = nlohmann::json::parse(r.body, nullptr, false);
    std::vector<nlohmann::json> out;
    if (list.is_object() && list.contains("items") && list["items"].is_array()) {
      for (const nlohmann::json& item : list["items"]) {
        out.push_back(item);
      }
    }
    return out;
  };
  options.injectorLookups.containerPatch =
      [client,
       systemNamespace](const std::string& name) -> absl::StatusOr<std::optional<nlohmann::json>> {
    KUMA_ASSIGN_OR_RETURN(
        k8s::KubeResponse r,
        client->request("GET", absl::StrCat("/apis/kuma.io/v1alpha1/namespaces/", systemNamespace,
                                            "/containerpatches/", name)));
    if (r.status == 404) {
      return std::optional<nlohmann::json>();
    }
    if (r.status != 200) {
      return k8s::kubeApiError(absl::StrCat("ContainerPatch ", name), r);
    }
    const nlohmann::json object = nlohmann::json::parse(r.body, nullptr, false);
    return std::optional<nlohmann::json>(common::jsonMember(object, "spec"));
  };
  options.typeOfKind = [&registry](const std::string& kind) { return registry.byName(kind); };
  k8s::KubernetesStore* store = &kubeStore;
  options.decode = [store](const model::ResourceTypeDescriptor& type,
                           const nlohmann::json& object) { return store->decode(type, object); };
  auto server = std::make_unique<k8s::webhooks::AdmissionServer>(std::move(options));
  k8s::webhooks::AdmissionServer* webhooks = server.get();
  cp.metrics_->addCollector(
      [webhooks](std::vector<prometheus::MetricFamily>& out) { webhooks->collect(out); });
  return server;
}

ControlPlane::~ControlPlane() {
  stop();
}

bool ControlPlane::leader() const {
  return elector_ == nullptr || elector_->isLeader();
}

std::string ControlPlane::unreadyReason() const {
  if (postgres_ == nullptr) {
    return "";
  }
  absl::Status health = postgres_->health();
  return health.ok() ? "" : std::string(health.message());
}

absl::StatusOr<std::unique_ptr<ControlPlane>> ControlPlane::create(
    std::shared_ptr<const config::KumaCpConfig> config) {
  const config::KumaCpConfig& cfg = *config;
  const bool kubernetes = cfg.environment == "kubernetes";
  if (kubernetes && cfg.store.type != "kubernetes") {
    return absl::InvalidArgumentError(
        "environment \"kubernetes\" needs store.type \"kubernetes\" (KUMA_STORE_TYPE)");
  }
  if (cfg.mode == "global") {
    return absl::UnimplementedError("mode \"global\" (multizone) is not supported yet");
  }
  std::unique_ptr<ControlPlane> cp(new ControlPlane());
  cp->config_ = config;
  if (cfg.store.type != "memory" && cfg.store.type != "postgres" &&
      cfg.store.type != "kubernetes") {
    return absl::UnimplementedError(
        absl::StrCat("store type \"", cfg.store.type, "\" is not supported"));
  }
  const model::TypeRegistry& registry = allTypes();
  const std::string instanceId = absl::StrCat(hostname(), "-", randomHex(4));
  metrics::MetricsOptions metricsOptions;
  metricsOptions.zone = cfg.multizone.zone.name.empty() ? "Zone" : cfg.multizone.zone.name;
  cp->metrics_ = std::make_unique<metrics::Metrics>(metricsOptions);
  cp->xdsMetrics_ = std::make_unique<metrics::XdsStreamMetrics>(*cp->metrics_);
  k8s::KubernetesStore* kubeStore = nullptr;
  if (cfg.store.type == "postgres") {
    KUMA_ASSIGN_OR_RETURN(std::unique_ptr<store::postgres::PostgresStore> pg,
                          openPostgresStore(cfg.store.postgres, registry));
    cp->postgres_ = pg.get();
    cp->store_ = std::move(pg);
    cp->metrics_->addCollector(
        postgresPoolCollector(*cp->postgres_, cfg.store.postgres.maxOpenConnections));
  } else if (cfg.store.type == "kubernetes") {
    KUMA_ASSIGN_OR_RETURN(std::unique_ptr<k8s::KubernetesStore> kube,
                          openKubernetesStore(cfg, registry));
    cp->metrics_->addCollector(kubeClientCollector(*kube));
    kubeStore = kube.get();
    cp->store_ = std::move(kube);
  } else {
    cp->store_ = memory::newMemoryStore();
  }
  cp->timedStore_ = std::make_unique<metrics::InstrumentedStore>(*cp->store_, *cp->metrics_);
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

  // Kuma's RateLimit manager: a RateLimit on an ExternalService selects by kuma.io/service only.
  cp->manager_->setWriteValidator(
      std::string(resources::kRateLimitType),
      [manager = cp->manager_.get(), &registry](const model::Resource& resource) -> absl::Status {
        const auto* spec = model::protoSpecOf<mesh::v1alpha1::RateLimit>(resource);
        const model::ResourceTypeDescriptor* esType =
            registry.byName(resources::kExternalServiceType);
        if (spec == nullptr || esType == nullptr) {
          return absl::OkStatus();
        }
        store::ListOptions options;
        options.mesh = resource.meta.mesh;
        auto list = manager->store().list(*esType, options);
        if (!list.ok()) {
          return list.status();
        }
        std::set<std::string> services;
        for (const auto& es : list->items) {
          if (const auto* e = model::protoSpecOf<mesh::v1alpha1::ExternalService>(*es)) {
            if (auto it = e->tags().find("kuma.io/service"); it != e->tags().end()) {
              services.insert(it->second);
            }
          }
        }
        validators::ValidationError errors;
        resources::validateRateLimitForExternalServices(*spec, services, errors);
        return errors.toStatus();
      });
  // ... and Kuma's ExternalService manager, the same rule from the ExternalService's side.
  cp->manager_->setWriteValidator(
      std::string(resources::kExternalServiceType),
      [manager = cp->manager_.get(), &registry](const model::Resource& resource) -> absl::Status {
        const auto* spec = model::protoSpecOf<mesh::v1alpha1::ExternalService>(resource);
        const model::ResourceTypeDescriptor* rlType = registry.byName(resources::kRateLimitType);
        if (spec == nullptr || rlType == nullptr) {
          return absl::OkStatus();
        }
        store::ListOptions options;
        options.mesh = resource.meta.mesh;
        auto list = manager->store().list(*rlType, options);
        if (!list.ok()) {
          return list.status();
        }
        std::vector<std::pair<std::string, const mesh::v1alpha1::RateLimit*>> rateLimits;
        for (const auto& rl : list->items) {
          if (const auto* r = model::protoSpecOf<mesh::v1alpha1::RateLimit>(*rl)) {
            rateLimits.emplace_back(rl->meta.name, r);
          }
        }
        auto service = spec->tags().find("kuma.io/service");
        validators::ValidationError errors;
        resources::validateExternalServiceForRateLimits(
            service == spec->tags().end() ? std::string() : service->second, rateLimits, errors);
        return errors.toStatus();
      });

  // Mesh mTLS CAs: provided CAs validated on every Mesh write, builtin CAs' Secrets ensured
  // right after it.
  cp->cas_ = std::make_unique<ca::CaManagers>(ca::defaultCaManagers(*cp->manager_, registry));
  ca::installMeshCa(*cp->manager_, *cp->cas_);

  defaults::DefaultsOptions defaultsOptions;
  defaultsOptions.skipMeshCreation = cfg.defaults.skipMeshCreation;
  defaultsOptions.skipTenantResources = cfg.defaults.skipTenantResources;
  defaultsOptions.createMeshRoutingResources = cfg.defaults.createMeshRoutingResources;
  defaultsOptions.skipHostnameGenerators = cfg.defaults.skipHostnameGenerators;
  defaultsOptions.kubernetes = kubernetes;
  defaultsOptions.zone = cfg.multizone.zone.name.empty() ? "default" : cfg.multizone.zone.name;
  defaults::installMeshDefaults(*cp->manager_, registry, defaultsOptions);
  auto defaultsComponent =
      std::make_unique<defaults::DefaultsComponent>(*cp->manager_, registry, defaultsOptions);
  // Service discovery's controllers (MeshService generator, VIPs, hostnames, status).
  services::ServiceControllersOptions serviceOptions;
  serviceOptions.zone = cfg.multizone.zone.name;
  serviceOptions.generator.zone = cfg.multizone.zone.name;
  serviceOptions.generator.deletionGracePeriod =
      absl::FromChrono(cfg.meshService.deletionGracePeriod);
  serviceOptions.generator.inboundTagsDisabled = cfg.experimental.inboundTagsDisabled;
  serviceOptions.generator.labelPropagation = cfg.meshService.labelPropagation.enabled;
  serviceOptions.generator.allowedLabelKeys = cfg.meshService.labelPropagation.allowedLabelKeys;
  // As Kuma: with the Kubernetes store the MeshServices come from the Services (the Kubernetes
  // MeshService controller), not from the Dataplanes.
  serviceOptions.generationInterval = cfg.store.type == "kubernetes"
                                          ? absl::ZeroDuration()
                                          : absl::FromChrono(cfg.meshService.generationInterval);
  serviceOptions.allocationInterval = absl::FromChrono(cfg.ipam.allocationInterval);
  serviceOptions.statusInterval = absl::FromChrono(cfg.coreResources.status.meshServiceInterval);
  serviceOptions.multiZoneStatusInterval =
      absl::FromChrono(cfg.coreResources.status.meshMultiZoneServiceInterval);
  serviceOptions.meshServiceCidr = cfg.ipam.meshService.cidr;
  serviceOptions.meshExternalServiceCidr = cfg.ipam.meshExternalService.cidr;
  serviceOptions.meshMultiZoneServiceCidr = cfg.ipam.meshMultiZoneService.cidr;
  serviceOptions.enabledTypes = cfg.coreResources.enabled;
  auto serviceControllers =
      std::make_unique<services::ServiceControllers>(*cp->manager_, registry, serviceOptions);
  cp->metrics_->addCollector(
      [dropped = &serviceControllers->droppedLabels()](std::vector<prometheus::MetricFamily>& out) {
        out.push_back(metrics::makeFamily(
            "component_meshservice_generator_dropped_labels_total",
            "Number of Dataplane label/tag keys dropped during MeshService generation.",
            prometheus::MetricType::Counter,
            {{{{"reason", "invalid"}}, static_cast<double>(dropped->invalid.load())},
             {{{"reason", "inbound_conflict"}},
              static_cast<double>(dropped->inboundConflict.load())}}));
      });
  // The identity types' controllers (Workload generator and status, MeshIdentity status).
  identity::IdentityControllersOptions identityOptions;
  identityOptions.zone = cfg.multizone.zone.name;
  identityOptions.workloadGenerationInterval =
      absl::FromChrono(cfg.runtime.universal.workload.generationInterval);
  identityOptions.workloadStatusInterval =
      absl::FromChrono(cfg.coreResources.status.workloadInterval);
  identityOptions.meshIdentityInterval =
      absl::FromChrono(cfg.coreResources.status.meshIdentityInterval);
  identityOptions.kubernetesStore = cfg.store.type == "kubernetes";
  identityOptions.enabledTypes = cfg.coreResources.enabled;
  auto identityControllers =
      std::make_unique<identity::IdentityControllers>(*cp->manager_, registry, identityOptions);
  runtime::ComponentPtr podControllers;
  if (kubernetes && kubeStore != nullptr) {
    podControllers = kubernetesControllers(*cp, cfg, *kubeStore, registry);
    // The webhooks answer on every instance (the API server calls any of them).
    KUMA_ASSIGN_OR_RETURN(runtime::ComponentPtr webhooks,
                          admissionServer(*cp, cfg, *kubeStore, registry));
    cp->components_.add(std::move(webhooks));
  }
  if (cp->postgres_ == nullptr && kubeStore == nullptr) {
    // Memory store: this instance is always leader.
    cp->components_.add(std::move(defaultsComponent));
    cp->components_.add(std::move(serviceControllers));
    cp->components_.add(std::move(identityControllers));
  } else {
    // Leader-only components run while this instance leads (spec §12.5): it holds Kuma's lock
    // row in PostgreSQL, or on Kubernetes the Lease cp-leader-lease, where Kuma's controllers
    // (controller-runtime's) are leader-only too.
    cp->leaderGate_ = std::make_unique<LeaderGate>();
    cp->leaderGate_->add(std::move(defaultsComponent));
    cp->leaderGate_->add(std::move(serviceControllers));
    cp->leaderGate_->add(std::move(identityControllers));
    if (podControllers != nullptr) {
      cp->leaderGate_->add(std::move(podControllers));
    }
    LeaderGate* gate = cp->leaderGate_.get();
    auto onElected = [gate, instanceId] {
      logging::logger("leader")->info("{} is now the leader", instanceId);
      gate->elected();
    };
    auto onLost = [gate, instanceId] {
      logging::logger("leader")->info("{} is no longer the leader", instanceId);
      gate->lost();
    };
    if (cp->postgres_ != nullptr) {
      store::postgres::LeaderElectorOptions electorOptions;
      KUMA_ASSIGN_OR_RETURN(electorOptions.connection,
                            store::postgres::connectionSettingsFromConfig(cfg.store.postgres));
      electorOptions.owner = instanceId;
      cp->elector_ =
          std::make_unique<store::postgres::LeaderElector>(electorOptions, onElected, onLost);
    } else {
      cp->elector_ = leaseElector(cfg, *kubeStore, onElected, onLost);
    }
    runtime::LeaderElector* elector = cp->elector_.get();
    cp->components_.add(std::make_unique<runtime::FunctionComponent>(
        "leader-election",
        [gate, elector] {
          gate->start();
          elector->start();
          return absl::OkStatus();
        },
        [gate, elector] {
          // The leader-only components stop while this instance still leads; then the
          // leadership is given up, so that a peer takes over at once and never overlaps.
          gate->stop();
          elector->stop();
        }));
  }
  // Envoy Admin CA (GlobalSecret envoy-admin-ca, created by the defaults): the proxies' admin
  // listener certificates and the client certificate the inspect endpoints present to them.
  {
    manager::ResourceManager* manager = cp->manager_.get();
    cp->envoyAdminTls_ = std::make_unique<xds::EnvoyAdminTls>(
        [manager, &registry] { return xds::loadEnvoyAdminCa(*manager, registry); });
    xds::EnvoyAdminTls* adminTls = cp->envoyAdminTls_.get();
    cp->envoyAdminClient_ = std::make_unique<envoy_admin::EnvoyAdminClient>(
        [adminTls] { return adminTls->clientCerts(); });
  }
  // The policy plugins: every generation runs them, the inspect API asks them where the legacy
  // policies attach.
  const xds::PolicyPluginListConstSharedPtr plugins = policies::makeXdsPolicyPlugins();
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
    api.clusterId = persistentClusterId(*cp->timedStore_, registry);
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
      defaults.dnsDomain = config->dnsServer.domain;
      KUMA_ASSIGN_OR_RETURN(auto generated, inspected->reconciler_->inspect(mesh, name, defaults));
      return xds::sync::xdsConfigJson(generated);
    };
    // Inspect (`_rules`, matched policies, the MeshService views): the mesh's current context,
    // matched as the generator matches.
    const auto currentContext =
        [inspected](const std::string& mesh) -> absl::StatusOr<xds::MeshContextConstSharedPtr> {
      if (inspected->reconciler_ == nullptr) {
        return absl::UnavailableError("the xDS reconciler is not running");
      }
      return inspected->reconciler_->currentMeshContext(mesh);
    };
    using Inspect = std::function<absl::StatusOr<nlohmann::ordered_json>(
        const xds::MeshContext&, const model::Resource&, const mesh::v1alpha1::Dataplane&)>;
    const auto inspectWith = [currentContext](Inspect inspect) {
      return [currentContext, inspect](
                 const std::string& mesh,
                 const model::Resource& dataplane) -> absl::StatusOr<nlohmann::ordered_json> {
        const auto* spec = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dataplane);
        if (spec == nullptr) {
          return absl::InternalError("the Dataplane has no spec");
        }
        KUMA_ASSIGN_OR_RETURN(auto context, currentContext(mesh));
        return inspect(*context, dataplane, *spec);
      };
    };
    api.dataplaneRules = inspectWith(&xds::inspectRules);
    api.dataplaneLegacyRules =
        inspectWith([domain = config->dnsServer.domain](const xds::MeshContext& context,
                                                        const model::Resource& dataplane,
                                                        const mesh::v1alpha1::Dataplane& spec) {
          return xds::inspectRuleAttachments(context, dataplane, spec, domain);
        });
    api.dataplanePolicies =
        inspectWith([plugins](const xds::MeshContext& context, const model::Resource& dataplane,
                              const mesh::v1alpha1::Dataplane& spec) {
          return xds::inspectMatchedPolicies(context, dataplane, spec, plugins.get());
        });
    api.dataplaneLayout = inspectWith(&xds::inspectLayout);
    api.dataplanePolicyViews = [inspectWith](const std::string& mesh,
                                             const model::Resource& dataplane,
                                             const api_server::DataplanePolicyView& view) {
      return inspectWith(
          [&view](const xds::MeshContext& context, const model::Resource& dp,
                  const mesh::v1alpha1::Dataplane& spec) -> absl::StatusOr<nlohmann::ordered_json> {
            using Kind = api_server::DataplanePolicyView::Kind;
            switch (view.kind) {
              case Kind::kProxy:
                return xds::inspectProxyPolicies(context, dp, spec);
              case Kind::kInbound:
                return xds::inspectInboundPolicies(context, dp, spec, view.target.sectionName);
              case Kind::kOutbound:
                return xds::inspectOutboundPolicies(context, dp, spec, view.target, nullptr);
              case Kind::kOutboundRoutes:
                return xds::inspectOutboundRoutes(context, dp, spec, view.target, view.targetType);
              case Kind::kRoute:
                return xds::inspectOutboundPolicies(context, dp, spec, view.target, &view.route);
            }
            return absl::InternalError("unknown policy view");
          })(mesh, dataplane);
    };
    api.legacyPolicyDataplanes =
        [currentContext, plugins](
            const std::string& mesh,
            const model::Resource& policy) -> absl::StatusOr<nlohmann::ordered_json> {
      KUMA_ASSIGN_OR_RETURN(auto context, currentContext(mesh));
      return xds::inspectLegacyPolicyDataplanes(*context, plugins.get(), policy.descriptor->name,
                                                policy.meta.name);
    };
    api.policySelects = [](const model::Resource& policy, const model::Resource& dataplane) {
      return xds::policySelectsDataplane(policy, dataplane);
    };
    api.zone = cfg.multizone.zone.name;
    api.insights.minResyncInterval = absl::FromChrono(cfg.metrics.mesh.minResyncInterval);
    api.insights.dnsDomain = cfg.dnsServer.domain;
    api.insights.vipPort = cfg.dnsServer.serviceVipPort;
    api.servedDataplaneConfig =
        [inspected](const std::string& mesh,
                    const std::string& name) -> absl::StatusOr<nlohmann::ordered_json> {
      if (inspected->reconciler_ == nullptr) {
        return absl::NotFoundError("the xDS reconciler is not running");
      }
      KUMA_ASSIGN_OR_RETURN(auto served, inspected->reconciler_->served(mesh, name));
      return xds::sync::xdsConfigJson(served);
    };
    // Inspect through the proxy's Envoy admin (`xds`, `stats`, `clusters`): over its
    // kuma:envoy:admin listener with the control plane's client certificate.
    const model::ResourceTypeDescriptor* dataplaneType = registry.byName("Dataplane");
    manager::ResourceManager* manager = cp->manager_.get();
    const envoy_admin::EnvoyAdminClient* adminClient = cp->envoyAdminClient_.get();
    const uint32_t defaultAdminPort = cfg.bootstrapServer.params.adminPort;
    api.envoyAdmin = [dataplaneType, manager, adminClient, defaultAdminPort](
                         const std::string& mesh, const std::string& name, const std::string& path,
                         const std::string& query) -> absl::StatusOr<std::string> {
      KUMA_ASSIGN_OR_RETURN(
          envoy_admin::EnvoyAdminTarget target,
          storedAdminTarget(*manager, *dataplaneType, mesh, name, defaultAdminPort));
      KUMA_ASSIGN_OR_RETURN(
          std::string body,
          adminClient->get(target, absl::StrCat("/", path, query.empty() ? "" : "?", query)));
      if (path == "config_dump") {
        // No key, certificate or token leaves through the inspect API.
        return xds::redactConfigDump(body);
      }
      return body;
    };
    api.meshServiceSelects = [](const model::Resource& service, const model::Resource& dp) {
      return services::meshServiceSelects(services::specAndStatusOf(service).spec, dp);
    };
    api.serviceHostnames = [manager, &registry,
                            zone = cfg.multizone.zone.name](const model::Resource& service) {
      return services::inspectHostnames(*manager, registry, zone, service);
    };
    api.issueDataplaneToken = tokens::dataplaneTokenEndpoint(
        *cp->manager_, registry, cfg.dpServer.authn.dpProxy.dpToken.enableIssuer);
    cp->components_.add(
        std::make_unique<api_server::ApiServer>(std::move(api), *cp->manager_, registry));
  }

  // xDS: snapshots kept by the reconciler, served by the ADS service on the DP server's gRPC.
  cp->snapshots_ = std::make_unique<xds::cache::SnapshotCache>();
  xds::sync::ReconcilerOptions reconcilerOptions;
  reconcilerOptions.plugins = plugins;
  reconcilerOptions.refreshInterval = cfg.xdsServer.dataplaneConfigurationRefreshInterval;
  reconcilerOptions.workers = std::max(2u, std::thread::hardware_concurrency());
  reconcilerOptions.vipCidr = cfg.dnsServer.cidr;
  reconcilerOptions.vipPort = cfg.dnsServer.serviceVipPort;
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
  reconcilerOptions.envoyAdminTls = cp->envoyAdminTls_.get();
  // The meshes' VIPs persist as Kuma's Config `kuma-<mesh>-dns-vips`; the leader writes them.
  cp->vips_ = std::make_unique<xds::VipPersistence>(*cp->timedStore_, registry,
                                                    [state = cp.get()] { return state->leader(); });
  reconcilerOptions.vipPersistence = cp->vips_.get();
  cp->reconciler_ = std::make_unique<xds::sync::Reconciler>(
      cp->cacheProbe_->front(*cp->cachedStore_), registry, *cp->snapshots_, reconcilerOptions);
  xds::sync::DataplaneCallbacksOptions callbacksOptions;
  callbacksOptions.authnType = cfg.dpServer.authn.dpProxy.type;
  callbacksOptions.deregistrationDelay = cfg.xdsServer.dataplaneDeregistrationDelay;
  callbacksOptions.proxyDefaults.internalCidrs = cfg.ipam.knownInternalCIDRs;
  callbacksOptions.proxyDefaults.dnsDomain = cfg.dnsServer.domain;
  callbacksOptions.proxyDefaults.zone = cfg.multizone.zone.name;
  if (kubernetes && kubeStore != nullptr) {
    std::shared_ptr<k8s::KubeClient> client = kubeStore->client()->sibling();
    callbacksOptions.serviceAccountTokenAuthenticator =
        [client](const std::string& token, const std::string&, const std::string& name) {
          return k8s::runtime::authenticateServiceAccountToken(*client, token, name);
        };
  }
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
  // The insight's mTLS block (Kuma: secrets.Info; supported backends = the enabled one).
  insightOptions.identityCert =
      [secrets = cp->secrets_.get()](
          const std::string& mesh,
          const std::string& name) -> std::optional<xds::sync::IdentityCertInfo> {
    auto identity = secrets->info(mesh, name);
    if (!identity.ok()) {
      return std::nullopt;
    }
    return xds::sync::IdentityCertInfo{
        identity->issuedAt, identity->notAfter, identity->backend, {identity->backend}};
  };
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
    // Kuma 2.14 adds `hdsConfig` when dpServer.hds.enabled (default true): Envoy then opens an
    // HDS stream to the DP server (source/hds/hds_server.h).
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
    if (cfg.dpServer.hds.enabled) {
      hds::HdsServerOptions hdsOptions;
      hdsOptions.refreshInterval = cfg.dpServer.hds.refreshInterval;
      hdsOptions.specifier.interval = cfg.dpServer.hds.interval;
      hdsOptions.specifier.checks.timeout = cfg.dpServer.hds.checkDefaults.timeout;
      hdsOptions.specifier.checks.interval = cfg.dpServer.hds.checkDefaults.interval;
      hdsOptions.specifier.checks.noTrafficInterval =
          cfg.dpServer.hds.checkDefaults.noTrafficInterval;
      hdsOptions.specifier.checks.healthyThreshold =
          cfg.dpServer.hds.checkDefaults.healthyThreshold;
      hdsOptions.specifier.checks.unhealthyThreshold =
          cfg.dpServer.hds.checkDefaults.unhealthyThreshold;
      hdsOptions.specifier.defaultAdminPort = params.adminPort;
      // The ADS server's authentication, against the stored Dataplane (Kuma's HDS authn).
      xds::sync::DataplaneCallbacks* authn = cp->xdsCallbacks_.get();
      hdsOptions.authenticate = [authn](const std::string& mesh, const std::string& name,
                                        const std::multimap<std::string, std::string>& metadata) {
        xds::server::StreamInfo info;
        info.metadata = metadata;
        return authn->authenticate(info, mesh, name, nullptr);
      };
      cp->hds_ = std::make_unique<hds::HdsServer>(*cp->manager_, registry, std::move(hdsOptions));
      KUMA_RETURN_IF_ERROR(server->addGrpcService(cp->hds_.get()));
    }
    cp->components_.add(std::move(server));
    // Stopped before the DP server: end ADS (and HDS) streams at once (without deregistering
    // proxies) so that the gRPC server does not wait for them.
    xds::server::AdsServer* ads = cp->ads_.get();
    xds::sync::DataplaneCallbacks* callbacks = cp->xdsCallbacks_.get();
    hds::HdsServer* hdsServer = cp->hds_.get();
    cp->components_.add(std::make_unique<runtime::FunctionComponent>("xds-streams", nullptr,
                                                                     [ads, callbacks, hdsServer] {
                                                                       callbacks->shutdown();
                                                                       ads->shutdown();
                                                                       if (hdsServer != nullptr) {
                                                                         hdsServer->shutdown();
                                                                       }
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
  diag.unreadyReason = [self] { return self->unreadyReason(); };
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
    ControlPlane* state = cp.get();
    const bool lease = kubeStore != nullptr;
    cp->metrics_->addCollector([state, lease](std::vector<prometheus::MetricFamily>& out) {
      out.push_back(metrics::makeFamily("leader", "Whether this instance is the leader",
                                        prometheus::MetricType::Gauge,
                                        {{{}, state->leader() ? 1.0 : 0.0}}));
      if (lease) {  // client-go's leader-election metric, as Kuma's manager registers it
        out.push_back(metrics::makeFamily(
            "leader_election_master_status",
            "Gauge of if the reporting system is master of the relevant lease, 0 indicates "
            "backup, 1 indicates master. 'name' is the string used to identify the lease. Please "
            "make sure to group by name.",
            prometheus::MetricType::Gauge,
            {{{{"name", "cp-leader-lease"}}, state->leader() ? 1.0 : 0.0}}));
      }
    });
    if (cfg.metrics.controlPlane.reportResourcesCount) {
      // The raw store: counting must not show up in the `store` histogram. Leader only (like
      // Kuma), and not while the database is known to be down (each list would wait for it).
      metrics::ResourceCounter cached;
      if (kubeStore != nullptr) {  // no LIST per type and scrape: the informers' counts
        cached = [kubeStore](const model::ResourceTypeDescriptor& type) {
          return kubeStore->cachedCount(type);
        };
      }
      metrics::Collector count =
          metrics::resourcesCountCollector(*cp->store_, registry.all(), std::move(cached));
      cp->metrics_->addCollector(
          [state, count = std::move(count)](std::vector<prometheus::MetricFamily>& out) {
            if (state->leader() && state->unreadyReason().empty()) {
              count(out);
            }
          });
    }
  }
  metrics::Metrics* served = cp->metrics_.get();
  diag.metrics = [served] { return served->scrape(); };
  cp->components_.add(std::make_unique<diagnostics::DiagnosticsServer>(std::move(diag)));
  return cp;
}

}  // namespace kuma::server
