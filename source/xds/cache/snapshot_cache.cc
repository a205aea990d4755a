#include "source/xds/cache/snapshot_cache.h"

#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace kuma::xds::cache {
namespace internal {

struct Watch {
  std::string nodeId;
  std::weak_ptr<CacheState> cache;
  // Serializes deliveries with each other and with cancel(); held while the watcher runs.
  std::mutex mu;
  bool active = true;
  uint64_t deliveredGeneration = 0;
  SnapshotWatcher watcher;
};

struct NodeEntry {
  SnapshotConstSharedPtr snapshot;
  // Bumped on every change, so late deliveries of an older snapshot can be dropped.
  uint64_t generation = 0;
  std::vector<std::shared_ptr<Watch>> watches;
};

struct CacheState {
  mutable std::mutex mu;
  std::unordered_map<std::string, NodeEntry> nodes;
  size_t snapshotCount = 0;
  size_t watchCount = 0;

  void removeWatch(const std::shared_ptr<Watch>& watch) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = nodes.find(watch->nodeId);
    if (it == nodes.end()) {
      return;
    }
    auto& watches = it->second.watches;
    for (auto w = watches.begin(); w != watches.end(); ++w) {
      if (*w == watch) {
        watches.erase(w);
        --watchCount;
        break;
      }
    }
    if (watches.empty() && it->second.snapshot == nullptr) {
      nodes.erase(it);
    }
  }
};

}  // namespace internal

namespace {

bool sameVersions(const Snapshot& a, const Snapshot& b) {
  if (a.types.size() != b.types.size()) {
    return false;
  }
  for (auto ia = a.types.begin(), ib = b.types.begin(); ia != a.types.end(); ++ia, ++ib) {
    if (ia->first != ib->first || ia->second.version != ib->second.version) {
      return false;
    }
  }
  return true;
}

}  // namespace

WatchHandle::~WatchHandle() {
  cancel();
}

WatchHandle& WatchHandle::operator=(WatchHandle&& other) noexcept {
  if (this != &other) {
    cancel();
    watch_ = std::move(other.watch_);
  }
  return *this;
}

void WatchHandle::cancel() {
  if (watch_ == nullptr) {
    return;
  }
  std::shared_ptr<internal::Watch> watch = std::move(watch_);
  {
    // Waits for a running delivery to finish.
    std::lock_guard<std::mutex> lock(watch->mu);
    watch->active = false;
    watch->watcher = nullptr;
  }
  if (auto cache = watch->cache.lock()) {
    cache->removeWatch(watch);
  }
}

SnapshotCache::SnapshotCache() : state_(std::make_shared<internal::CacheState>()) {}

SnapshotCache::~SnapshotCache() = default;

void SnapshotCache::setSnapshot(const std::string& nodeId, SnapshotConstSharedPtr snapshot) {
  if (snapshot == nullptr) {
    clearSnapshot(nodeId);
    return;
  }
  publish(nodeId, std::move(snapshot));
}

void SnapshotCache::clearSnapshot(const std::string& nodeId) {
  publish(nodeId, nullptr);
}

void SnapshotCache::publish(const std::string& nodeId, SnapshotConstSharedPtr snapshot) {
  std::vector<std::shared_ptr<internal::Watch>> toNotify;
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    auto it = state_->nodes.find(nodeId);
    if (it == state_->nodes.end()) {
      if (snapshot == nullptr) {
        return;
      }
      it = state_->nodes.emplace(nodeId, internal::NodeEntry{}).first;
    }
    internal::NodeEntry& entry = it->second;
    const SnapshotConstSharedPtr& current = entry.snapshot;
    if (current == snapshot ||
        (current != nullptr && snapshot != nullptr && sameVersions(*current, *snapshot))) {
      return;
    }
    if (current == nullptr) {
      ++state_->snapshotCount;
    } else if (snapshot == nullptr) {
      --state_->snapshotCount;
    }
    entry.snapshot = snapshot;
    generation = ++entry.generation;
    toNotify = entry.watches;
    if (snapshot == nullptr && entry.watches.empty()) {
      state_->nodes.erase(it);
    }
  }
  for (const auto& watch : toNotify) {
    std::lock_guard<std::mutex> lock(watch->mu);
    if (!watch->active || watch->deliveredGeneration >= generation) {
      continue;
    }
    watch->deliveredGeneration = generation;
    watch->watcher(snapshot);
  }
}

SnapshotConstSharedPtr SnapshotCache::getSnapshot(const std::string& nodeId) const {
  std::lock_guard<std::mutex> lock(state_->mu);
  auto it = state_->nodes.find(nodeId);
  return it == state_->nodes.end() ? nullptr : it->second.snapshot;
}

WatchHandle SnapshotCache::watch(const std::string& nodeId, SnapshotWatcher watcher) {
  auto watch = std::make_shared<internal::Watch>();
  watch->nodeId = nodeId;
  watch->cache = state_;
  watch->watcher = std::move(watcher);
  std::lock_guard<std::mutex> lock(state_->mu);
  internal::NodeEntry& entry = state_->nodes[nodeId];
  // The registrant reads the current snapshot itself; only later changes are delivered.
  watch->deliveredGeneration = entry.generation;
  entry.watches.push_back(watch);
  ++state_->watchCount;
  return WatchHandle(std::move(watch));
}

size_t SnapshotCache::size() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->snapshotCount;
}

size_t SnapshotCache::watchCount() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->watchCount;
}

}  // namespace kuma::xds::cache
