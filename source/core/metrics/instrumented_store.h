#pragma once

// File: instrumented_store.h
// ResourceStore decorators feeding the store metrics of spec §13.2:
//   - InstrumentedStore times every call (`store`, seconds, by operation and resource type) and
//     counts optimistic-concurrency conflicts (`store_conflicts`: create → AlreadyExists,
//     update → Aborted; a type's series exists at 0 from its first create or update);
//   - StoreCacheProbe counts lookups through a CachedStore (`store_cache`): its front() wraps the
//     cache, its back() the store behind the cache; a lookup that reached back() on the same
//     thread is a miss, any other a hit. The cache has no single-flight loading, so there is
//     never a `hit-wait`; gets and filtered lists, which the cache passes through, are misses.
//
//   InstrumentedStore timed(memoryStore, metrics);          // every store call
//   StoreCacheProbe probe(metrics);
//   auto& back = probe.back(timed);                         // behind the cache
//   CachedStore cached(back, expiration);
//   auto& front = probe.front(cached);                      // what the xDS side reads

#include <memory>
#include <functional>
#include <optional>
#include <vector>

#include "kuma/store/resource_store.h"
#include "source/core/metrics/metrics.h"

namespace kuma::metrics {

/** Times every call; thread-safe as its inner store. `inner` and `metrics` must outlive it. */
class InstrumentedStore : public store::ResourceStore {
 public:
  InstrumentedStore(store::ResourceStore& inner, Metrics& metrics);

  // kuma::store::ResourceStore
  absl::StatusOr<model::ResourceConstSharedPtr> create(
      model::Resource resource, const store::CreateOptions& options) override;
  absl::StatusOr<model::ResourceConstSharedPtr> update(model::Resource resource) override;
  absl::Status remove(const model::ResourceTypeDescriptor& type,
                      const store::ResourceKey& key) override;
  absl::StatusOr<model::ResourceConstSharedPtr> get(const model::ResourceTypeDescriptor& type,
                                                    const store::ResourceKey& key) override;
  absl::StatusOr<store::ResourceList> list(const model::ResourceTypeDescriptor& type,
                                           const store::ListOptions& options) override;
  store::SubscriptionPtr subscribe(std::function<void(const store::ChangeEvent&)> handler) override;

 private:
  void observe(const char* operation, const std::string& type, double seconds);
  void conflict(const std::string& type, bool happened);

  store::ResourceStore& inner_;
  Metrics& metrics_;
};

/** See the file comment. The wrapped stores and `metrics` must outlive the probe. */
class StoreCacheProbe {
 public:
  explicit StoreCacheProbe(Metrics& metrics);
  ~StoreCacheProbe();

  /** The store the cache reads from on a miss: `inner` marked. Call once. */
  store::ResourceStore& back(store::ResourceStore& inner);
  /** The store readers use: `cache` counted. Call once. */
  store::ResourceStore& front(store::ResourceStore& cache);

 private:
  class Front;
  class Back;
  Metrics& metrics_;
  std::unique_ptr<Back> back_;
  std::unique_ptr<Front> front_;
};

}  // namespace kuma::metrics

namespace kuma::metrics {

/** A count of a type's resources without a store request (an informer's); nullopt: none. */
using ResourceCounter =
    std::function<std::optional<size_t>(const model::ResourceTypeDescriptor& type)>;

/**
 * `resources_count{resource_type, tenant=""}` read at scrape time: the number of stored
 * resources of each of `types` (readable through `store`, which should be the raw store so that
 * scrapes do not show up in the `store` histogram). Kuma recounts every minute; a scrape here
 * costs one list per type, unless `cached` counts (the Kubernetes store's informers, as Kuma
 * reads its cache there): then no request at all, and a type it has no count for is left out.
 */
Collector resourcesCountCollector(store::ResourceStore& store,
                                  std::vector<const model::ResourceTypeDescriptor*> types,
                                  ResourceCounter cached = nullptr);

}  // namespace kuma::metrics
