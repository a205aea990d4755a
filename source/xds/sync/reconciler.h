#pragma once

// File: reconciler.h
// Keeps every connected proxy's snapshot up to date (Kuma's DataplaneWatchdog, event-driven):
//   - one immutable MeshContext per mesh, rebuilt only after a store change in that mesh;
//   - a proxy is reconciled when it connects, right after a change in its mesh (coalesced), and
//     on every refresh interval as a safety net; a pass where neither the mesh context nor the
//     Dataplane changed costs a hash comparison, not a regeneration;
//   - per-type versions: a type whose resources are unchanged keeps its version, a changed type
//     gets a new UUID; when clusters change, endpoints get a new version too (Kuma 2.14).
// Threads: one scheduler thread plus a bounded pool of workers; each proxy is reconciled by one
// worker at a time.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "kuma/store/resource_store.h"
#include "source/core/model/registry.h"
#include "source/xds/cache/snapshot_cache.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/generator/generator.h"

namespace kuma::xds::sync {

struct ReconcilerOptions {
  /** xdsServer.dataplaneConfigurationRefreshInterval: the safety-net tick. */
  std::chrono::nanoseconds refreshInterval = std::chrono::seconds(1);
  /** Worker threads generating configs. */
  size_t workers = 2;
};

/** Counters for tests and metrics. */
struct ReconcilerStats {
  uint64_t reconciles = 0;     // passes run
  uint64_t generations = 0;    // passes that generated resources
  uint64_t published = 0;      // snapshots published with at least one new version
  uint64_t contextBuilds = 0;  // MeshContext builds
  uint64_t errors = 0;         // failed generations
};

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

 private:
  struct Proxy {
    std::string mesh;
    std::string name;
    ProxyOptions options;
    // Inputs of the last generation: skip when both are unchanged.
    uint64_t contextHash = 0;
    std::string dataplaneVersion;
    bool generated = false;
  };
  struct MeshEntry {
    MeshContextConstSharedPtr context;
    bool dirty = true;
  };

  void onStoreEvent(const store::ChangeEvent& event);
  void enqueue(const std::string& nodeId) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void enqueueMesh(const std::string& mesh) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void workerLoop();
  void tickerLoop();
  void reconcile(const std::string& nodeId);
  absl::StatusOr<MeshContextConstSharedPtr> meshContext(const std::string& mesh);

  store::ResourceStore& store_;
  const model::TypeRegistry& registry_;
  cache::SnapshotCache& cache_;
  const ReconcilerOptions options_;
  const model::ResourceTypeDescriptor* const dataplaneType_;

  mutable absl::Mutex mu_;
  std::map<std::string, Proxy> proxies_ ABSL_GUARDED_BY(mu_);
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> queued_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> running_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> rerun_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, MeshEntry> meshes_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  ReconcilerStats stats_ ABSL_GUARDED_BY(mu_);

  absl::Mutex buildMu_;  // serializes MeshContext builds
  store::SubscriptionPtr subscription_;
  std::vector<std::thread> threads_;
};

}  // namespace kuma::xds::sync
