#pragma once

// File: reconciler.h
// Keeps every connected proxy's snapshot up to date (Kuma's DataplaneWatchdog, event-driven):
//   - one immutable MeshContext per mesh, rebuilt only after a store change in that mesh;
//   - a store change in a mesh queues one rebuild of its context (changes arriving meanwhile are
//     coalesced into the next build); the new context is compared with the old one and only the
//     proxies that read something that differs are queued (every proxy when the Mesh or a policy
//     changed; the readers of a service when its endpoints, protocol or VIP changed; the proxies
//     of a Dataplane when that Dataplane changed), not every proxy of the mesh;
//   - a proxy is also reconciled when it connects, and on the refresh interval when something
//     can change without a store event (its identity certificate ages) or its last pass reached
//     no config; a pass where nothing the proxy reads changed costs a hash comparison;
//   - per-type versions: a type whose resources are unchanged keeps its version, a changed type
//     gets a new UUID; when clusters change, endpoints get a new version too (Kuma 2.14).
// Threads: one scheduler thread plus a bounded pool of workers; each proxy is reconciled by one
// worker at a time.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kuma/store/resource_store.h"
#include "nlohmann/json.hpp"
#include "source/core/model/registry.h"
#include "source/xds/cache/snapshot_cache.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/generator/generator.h"
#include "source/xds/secrets/dataplane_secrets.h"
#include "source/xds/secrets/envoy_admin_tls.h"

namespace kuma::xds {
class VipPersistence;
}  // namespace kuma::xds

namespace kuma::xds::sync {

/** How a reconcile pass ended (Kuma's `xds_generation` result, or `xds_generation_errors`). */
enum class PassResult { kSkipped, kUnchanged, kPublished, kError };

struct ReconcilerOptions {
  /** xdsServer.dataplaneConfigurationRefreshInterval: the safety-net tick. */
  std::chrono::nanoseconds refreshInterval = std::chrono::seconds(1);
  /** Worker threads generating configs. */
  size_t workers = 2;
  /** `dnsServer.CIDR`: the legacy VIPs' range (§7.3.1). */
  std::string vipCidr = "240.0.0.0/4";
  /** `dnsServer.serviceVipPort`: the port of every VIP's default outbound. */
  uint32_t vipPort = 80;
  /**
   * After a mesh context build that took T, the next build of that mesh for the proxies starts
   * no earlier than `rebuildGapFactor` × T later; changes arriving meanwhile are coalesced into
   * it. Bounds the share of CPU spent rebuilding a large mesh under constant churn (a ramp-up,
   * a reconnect storm) to 1 / (1 + factor) while adding at most factor × T of latency (about
   * 30 ms at 5000 Dataplanes); a small mesh builds in microseconds, so it is not delayed.
   */
  double rebuildGapFactor = 3.0;
  /**
   * Optional: told of every pass that reached a result, with its duration (metrics). Runs on a
   * worker thread, outside the reconciler's locks; must be thread-safe and quick.
   */
  std::function<void(PassResult result, std::chrono::nanoseconds duration)> onPass;
  /**
   * Optional: issues the proxies' identity certificates of mTLS meshes. Asked on every pass
   * (the refresh tick included), so a certificate past 4/5 of its lifetime is reissued and
   * published even when nothing else changed. Must outlive the reconciler.
   */
  DataplaneSecrets* secrets = nullptr;
  /**
   * Optional: issues the server certificates of the proxies' `kuma:envoy:admin` listeners
   * (mTLS with the control plane's client certificate), asked on every pass of a proxy that has
   * that listener. Without it the listener only has its plaintext `/ready` chain. A proxy whose
   * certificate cannot be issued (the Envoy Admin CA does not exist yet) gets no config, as in
   * Kuma; the refresh tick retries. Must outlive the reconciler.
   */
  EnvoyAdminTls* envoyAdminTls = nullptr;
  /**
   * The policy plugins every generation runs (ProxyOptions::plugins; the control plane passes
   * policies::makeXdsPolicyPlugins()). nullptr: none.
   */
  PolicyPluginListConstSharedPtr plugins = nullptr;
  /**
   * Optional: the meshes' persisted VIPs (Config `kuma-<mesh>-dns-vips`). Read before a mesh's
   * first context build, so VIPs stay where they were before a restart; given every new context
   * to write a moved allocation. Must outlive the reconciler.
   */
  VipPersistence* vipPersistence = nullptr;
};

/**
 * Counters for tests and metrics; they make the cost model visible. Every pass ends in one of
 * Kuma's `xds_generation` results: `skipped` ("skip"), `unchanged` ("generated") or `published`
 * ("changed"), or in `errors`.
 */
struct ReconcilerStats {
  uint64_t reconciles = 0;     // passes run
  uint64_t skipped = 0;        // passes where neither the mesh context nor the Dataplane changed
  uint64_t generations = 0;    // passes that generated resources (unchanged + published)
  uint64_t unchanged = 0;      // generated, but every type kept its version: nothing published
  uint64_t published = 0;      // snapshots published with at least one new version
  uint64_t contextBuilds = 0;  // MeshContext builds (at most one per mesh change)
  uint64_t errors = 0;         // failed generations
  // Mesh-context lookups (Kuma's `mesh_cache`): served from the cache, served after waiting for
  // another thread's build, built, or failed to build.
  uint64_t contextHits = 0;
  uint64_t contextHitWaits = 0;
  uint64_t contextMisses = 0;
  uint64_t contextErrors = 0;
};

/**
 * Kuma's inspect rendering of resources: `{"<typeUrl>": {"<name>": <Envoy JSON>}}`, types and
 * names sorted, types without resources left out. Secret material is replaced by Kuma's stand-ins
 * (redactSecretMaterial()): nothing that renders here may carry a key or a certificate.
 * @return InvalidArgument when a resource does not render (unknown type, corrupt bytes).
 */
absl::StatusOr<nlohmann::ordered_json> xdsConfigJson(const GeneratedResources& resources);

/** Per-type versioning of `generated` against `previous` (may be null). Exposed for tests. */
SnapshotConstSharedPtr versionSnapshot(const GeneratedResources& generated,
                                       const SnapshotConstSharedPtr& previous);

class Reconciler {
 public:
  Reconciler(store::ResourceStore& store, const model::TypeRegistry& registry,
             cache::SnapshotCache& cache, ReconcilerOptions options);
  ~Reconciler();

  void start();
  void stop();

  /** Starts keeping `nodeId`'s snapshot for Dataplane `name` in `mesh`. Any thread. */
  void addProxy(const std::string& nodeId, const std::string& mesh, const std::string& name,
                ProxyOptions options);
  /** Stops reconciling `nodeId` and clears its snapshot. Any thread. */
  void removeProxy(const std::string& nodeId);

  ReconcilerStats stats() const;

  /**
   * The current MeshContext of `mesh`: the cached one, or built now when the mesh changed since
   * (the same build the proxies use, so it counts in stats().contextBuilds). Any thread.
   * @return NotFound when the mesh does not exist; the store's or the build's error.
   */
  absl::StatusOr<MeshContextConstSharedPtr> currentMeshContext(const std::string& mesh);

  /**
   * Generates, now, the resources of Dataplane `name` in `mesh` from the mesh's current context
   * (the `_config` inspect endpoint): works whether or not the proxy is connected. Uses the
   * ProxyOptions of a connected proxy of that Dataplane, else `notConnected`. Publishes nothing.
   * @return NotFound when the mesh or the Dataplane does not exist; generation errors as is.
   */
  absl::StatusOr<GeneratedResources> inspect(const std::string& mesh, const std::string& name,
                                             const ProxyOptions& notConnected = {});

  /**
   * The resources currently served to a connected proxy of Dataplane `name` in `mesh` (its
   * latest snapshot). @return NotFound when no such proxy has a snapshot.
   */
  absl::StatusOr<GeneratedResources> served(const std::string& mesh, const std::string& name);

 private:
  struct Proxy {
    std::string mesh;
    std::string name;
    ProxyOptions options;
    // Inputs of the last generation: skip when they are unchanged.
    uint64_t contextHash = 0;
    std::string dataplaneVersion;
    ProxyTlsSecretsConstSharedPtr tls;
    EnvoyAdminTlsCertsConstSharedPtr adminTls;
    bool generated = false;
    // What the last generation read of its context (see ContextDependencies): a new context
    // whose base, VIPs (when read) and destination services hash the same gives the same config.
    uint64_t baseHash = 0;
    uint64_t vipsHash = 0;
    ContextDependencies dependencies;
    std::vector<uint64_t> serviceHashes;  // parallel to dependencies.services
  };
  /** Would generating `proxy` from `context` give what it generated last time? */
  static bool sameInputs(const Proxy& proxy, const MeshContext& context);
  /** The admin listener's certificates of `dataplane` (nullptr when it has no such listener). */
  absl::StatusOr<EnvoyAdminTlsCertsConstSharedPtr> adminTlsOf(const model::Resource& dataplane,
                                                              const ProxyOptions& options);
  using NodeSet = absl::flat_hash_set<std::string>;
  struct MeshEntry {
    MeshContextConstSharedPtr context;
    /**
     * The context is stale: a change arrived since it was built, or it is being rebuilt. Stays
     * set during a rebuild so that other workers wait for the new context instead of taking the
     * old one and skipping their proxies until the next refresh tick.
     */
    bool dirty = true;
    /** Count of changes seen; a build is current when none arrived while it read the store. */
    uint64_t changes = 0;
    /** Earliest start of the next build for the proxies (see rebuildGapFactor). */
    absl::Time nextBuild = absl::InfinitePast();
    // Who reads what, from each proxy's last generation: a new context enqueues only the
    // proxies whose inputs it changed (see enqueueAffected), not every proxy of the mesh.
    NodeSet proxies;                                        // every connected proxy of the mesh
    absl::flat_hash_map<std::string, NodeSet> byDataplane;  // Dataplane name → proxies
    absl::flat_hash_map<std::string, NodeSet> dependents;   // destination service → readers
    NodeSet readAllVips;                                    // proxies that read the whole VIP map
    NodeSet pending;  // not generated yet (or failed): retried on every new context
  };

  void onStoreEvent(const store::ChangeEvent& event);
  static void markChanged(MeshEntry& entry);
  void enqueue(const std::string& nodeId) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /**
   * Asks a worker to rebuild `mesh`'s context (and so enqueue the affected proxies), at the
   * entry's nextBuild at the earliest.
   */
  void enqueueMeshBuild(const std::string& mesh) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /**
   * `after` replaces `before` (null: the first context) in `entry`: enqueues the proxies that
   * may read something that differs, plus the running and never generated ones.
   */
  void enqueueAffected(const MeshEntry& entry, const MeshContext* before, const MeshContext& after)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /** Adds (`add`) or removes `proxy`'s recorded dependencies in its mesh's indexes. */
  void indexDependencies(const std::string& nodeId, const Proxy& proxy, bool add)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /** Removes `nodeId` from every index of its mesh. */
  void unindexProxy(const std::string& nodeId, const Proxy& proxy)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /** Connected proxies of Dataplane `name` in `mesh`. */
  std::vector<std::string> nodesOf(const std::string& mesh, const std::string& name) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void workerLoop();
  void tickerLoop();
  void reconcile(const std::string& nodeId);
  /**
   * The context of `mesh`. `fresh`: rebuilt now when a change arrived since the last build
   * (mesh build jobs, inspection); otherwise the latest built one, even if a change is pending:
   * its build job re-queues whatever proxies the change affects. Built now when there is none.
   */
  absl::StatusOr<MeshContextConstSharedPtr> meshContext(const std::string& mesh, bool fresh);

  store::ResourceStore& store_;
  const model::TypeRegistry& registry_;
  cache::SnapshotCache& cache_;
  const ReconcilerOptions options_;
  const model::ResourceTypeDescriptor* const dataplaneType_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Proxy> proxies_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  NodeSet queued_ ABSL_GUARDED_BY(mu_);
  NodeSet running_ ABSL_GUARDED_BY(mu_);
  NodeSet rerun_ ABSL_GUARDED_BY(mu_);
  // Meshes whose context a worker should rebuild (taken before proxies), with the time the
  // build may start; meshJobsAdded_ counts insertions (wakes workers waiting for a later one).
  std::map<std::string, absl::Time> meshJobs_ ABSL_GUARDED_BY(mu_);
  uint64_t meshJobsAdded_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, MeshEntry> meshes_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  ReconcilerStats stats_ ABSL_GUARDED_BY(mu_);

  absl::Mutex buildMu_;  // serializes MeshContext builds
  store::SubscriptionPtr subscription_;
  std::vector<std::thread> threads_;
};

}  // namespace kuma::xds::sync
