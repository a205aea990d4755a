#pragma once

// File: snapshot_cache.h
// The per-proxy snapshot store between config generation and the ADS server. The generator
// publishes a node's snapshot; every stream serving that node is told through a watch, without a
// thread per watcher: the watcher runs on the publishing thread and is expected to only schedule
// work (the ADS streams compute and start their writes there, which never blocks).
//
//   SnapshotCache cache;
//   WatchHandle watch = cache.watch("default.dp-1", [](const SnapshotConstSharedPtr& s) { ... });
//   SnapshotConstSharedPtr current = cache.getSnapshot("default.dp-1"); // after watch(): no gap
//   cache.setSnapshot("default.dp-1", snapshot);                        // notifies the watcher

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "kuma/xds/snapshot.h"

namespace kuma::xds::cache {

/**
 * Called with the node's latest snapshot (nullptr once cleared). Runs on the thread that changed
 * the snapshot and must not block. Deliveries to one watcher never run concurrently and never go
 * backwards: a watcher that already saw a newer snapshot is not handed an older one.
 */
using SnapshotWatcher = std::function<void(const SnapshotConstSharedPtr&)>;

namespace internal {
struct Watch;
struct CacheState;
}  // namespace internal

/**
 * Keeps one watch registered. cancel() (or destruction) returns only once the watcher is not
 * running and guarantees it never runs again, so the watcher may capture raw pointers to the
 * owner. Consequently it must not be cancelled from inside its own watcher, nor while holding a
 * lock that the watcher takes.
 */
class WatchHandle {
 public:
  WatchHandle() = default;
  ~WatchHandle();
  WatchHandle(WatchHandle&& other) noexcept = default;
  WatchHandle& operator=(WatchHandle&& other) noexcept;
  WatchHandle(const WatchHandle&) = delete;
  WatchHandle& operator=(const WatchHandle&) = delete;

  /** Unregisters the watcher; idempotent. */
  void cancel();
  bool active() const { return watch_ != nullptr; }

 private:
  friend class SnapshotCache;
  explicit WatchHandle(std::shared_ptr<internal::Watch> watch) : watch_(std::move(watch)) {}
  std::shared_ptr<internal::Watch> watch_;
};

/** Thread-safe map node id → latest snapshot, with change notification. */
class SnapshotCache {
 public:
  SnapshotCache();
  ~SnapshotCache();
  SnapshotCache(const SnapshotCache&) = delete;
  SnapshotCache& operator=(const SnapshotCache&) = delete;

  /**
   * Publishes the node's snapshot and notifies its watchers. Publishing the same pointer, or a
   * snapshot whose types and per-type versions equal the current one, is a cheap no-op (the
   * current snapshot is kept and nobody is woken): versions change whenever content changes.
   * @param snapshot must not be null (use clearSnapshot()).
   */
  void setSnapshot(const std::string& nodeId, SnapshotConstSharedPtr snapshot);

  /** @return the node's snapshot, or nullptr if none was published (or it was cleared). */
  SnapshotConstSharedPtr getSnapshot(const std::string& nodeId) const;

  /** Forgets the node's snapshot; watchers are notified with nullptr. */
  void clearSnapshot(const std::string& nodeId);

  /**
   * Registers a watcher for one node id (the node need not have a snapshot yet). The current
   * snapshot is not delivered: call getSnapshot() after watch() to read it without a gap.
   */
  WatchHandle watch(const std::string& nodeId, SnapshotWatcher watcher);

  /** Number of nodes that have a snapshot. */
  size_t size() const;

  /** Number of registered watchers, over all nodes. */
  size_t watchCount() const;

 private:
  void publish(const std::string& nodeId, SnapshotConstSharedPtr snapshot);

  std::shared_ptr<internal::CacheState> state_;
};

}  // namespace kuma::xds::cache
