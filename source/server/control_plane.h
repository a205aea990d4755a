#pragma once

// File: control_plane.h
// kuma-cp assembled from its configuration: store → manager → defaults → API server →
// diagnostics, started in that order and stopped in reverse (architecture.md).
// store.type memory: this instance is always leader. store.type postgres: the database must be
// migrated (checked in create()), and leader-only components run only while a LeaderElector
// holds Kuma's `kuma-cp-lock` (docs/postgres.md).

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "source/core/ca/ca_manager.h"
#include "source/core/config/config.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/metrics/instrumented_store.h"
#include "source/core/metrics/metrics.h"
#include "source/core/metrics/xds_metrics.h"
#include "source/core/runtime/component_manager.h"
#include "source/core/store/cached_store.h"
#include "kuma/runtime/leader_elector.h"
#include "source/dp_server/dp_server.h"
#include "source/envoy_admin/envoy_admin_client.h"
#include "source/hds/hds_server.h"
#include "source/plugins/resources/kubernetes/kubernetes_store.h"
#include "source/plugins/resources/postgres/postgres_store.h"
#include "source/server/leader_gate.h"
#include "source/xds/cache/snapshot_cache.h"
#include "source/xds/context/vip_persistence.h"
#include "source/xds/server/ads_server.h"
#include "source/xds/sync/composite_callbacks.h"
#include "source/xds/sync/dataplane_callbacks.h"
#include "source/xds/sync/insight_tracker.h"
#include "source/xds/sync/reconciler.h"

namespace kuma::server {

class ControlPlane {
 public:
  /**
   * Builds every component. InvalidArgument / Unimplemented for configurations this build
   * cannot serve (e.g. a store type not implemented yet).
   */
  static absl::StatusOr<std::unique_ptr<ControlPlane>> create(
      std::shared_ptr<const config::KumaCpConfig> config);
  ~ControlPlane();

  absl::Status start() { return components_.start(); }
  void stop() { components_.stop(); }
  bool ready() const { return components_.ready(); }

  manager::ResourceManager& manager() { return *manager_; }

  /** Whether this instance is leader (always with the memory store). Any thread. */
  bool leader() const;

  /**
   * Why the control plane cannot serve although it started (the PostgreSQL store is
   * unreachable); empty when it can. Shown by /ready. Any thread, never blocks.
   */
  std::string unreadyReason() const;

  /** The Prometheus registry served on the diagnostics port's /metrics (spec §13). */
  metrics::Metrics& metrics() { return *metrics_; }

  /**
   * The DP server (dpServer.port): register gRPC services (ADS, HDS) on it with
   * DpServer::addGrpcService() / addGrpcBuilderHook() before start(). Owned by the components.
   */
  dp_server::DpServer& dpServer() { return *dpServer_; }

 private:
  static runtime::ComponentPtr kubernetesControllers(ControlPlane& cp,
                                                     const config::KumaCpConfig& cfg,
                                                     k8s::KubernetesStore& kubeStore,
                                                     const model::TypeRegistry& registry);
  static absl::StatusOr<runtime::ComponentPtr> admissionServer(ControlPlane& cp,
                                                               const config::KumaCpConfig& cfg,
                                                               k8s::KubernetesStore& kubeStore,
                                                               const model::TypeRegistry& registry);
  ControlPlane() = default;

  std::shared_ptr<const config::KumaCpConfig> config_;
  // Metrics first: every instrumented object below holds references into them.
  std::unique_ptr<metrics::Metrics> metrics_;
  std::unique_ptr<metrics::XdsStreamMetrics> xdsMetrics_;
  std::unique_ptr<store::ResourceStore> store_;
  // store_ when it is the PostgreSQL store (pool metrics, health), else nullptr.
  store::postgres::PostgresStore* postgres_ = nullptr;
  // store_ timed (`store`, `store_conflicts`): what the manager and the xDS cache use.
  std::unique_ptr<metrics::InstrumentedStore> timedStore_;
  // Counts `store_cache` around cachedStore_.
  std::unique_ptr<metrics::StoreCacheProbe> cacheProbe_;
  std::unique_ptr<manager::ResourceManager> manager_;
  // xDS (declared before the components so that they outlive the gRPC server).
  std::unique_ptr<store::CachedStore> cachedStore_;
  std::unique_ptr<xds::cache::SnapshotCache> snapshots_;
  // Mesh mTLS: the CA backends (hooked into manager_) and the proxies' identities.
  std::unique_ptr<ca::CaManagers> cas_;
  std::unique_ptr<xds::DataplaneSecrets> secrets_;
  std::unique_ptr<xds::EnvoyAdminTls> envoyAdminTls_;
  std::unique_ptr<envoy_admin::EnvoyAdminClient> envoyAdminClient_;
  std::unique_ptr<xds::VipPersistence> vips_;  // outlives the reconciler that uses it
  std::unique_ptr<xds::sync::Reconciler> reconciler_;
  std::unique_ptr<xds::sync::DataplaneCallbacks> xdsCallbacks_;
  std::unique_ptr<xds::sync::InsightTracker> insights_;
  std::unique_ptr<xds::sync::CompositeCallbacks> streamCallbacks_;
  std::unique_ptr<xds::server::AdsServer> ads_;
  std::unique_ptr<hds::HdsServer> hds_;  // null: dpServer.hds.enabled is false
  // Leader-only components and, with PostgreSQL, the election that drives them.
  std::unique_ptr<LeaderGate> leaderGate_;
  std::unique_ptr<runtime::LeaderElector> elector_;
  runtime::ComponentManager components_;
  dp_server::DpServer* dpServer_ = nullptr;
  // Store events for the Kubernetes pod controller (dropped before the components stop).
  store::SubscriptionPtr meshEvents_;
};

}  // namespace kuma::server
