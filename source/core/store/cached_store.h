#pragma once

// File: cached_store.h
// A read cache in front of a ResourceStore (Kuma's store.cache,
// `KUMA_STORE_CACHE_EXPIRATION_TIME`): whole-collection lists (one type, one mesh or all meshes, no
// other filter) are kept for at most the expiration time, and dropped at once when the underlying
// store reports a change of that type, so readers never see a change later than its event. Writes,
// gets and filtered or paged lists go straight through. The xDS mesh-context loader reads through
// it; the REST API does not.

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kuma/store/resource_store.h"

namespace kuma::store {

struct CacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;
};

class CachedStore : public ResourceStore {
 public:
  using Clock = std::function<absl::Time()>;

  /** @param inner must outlive this store. @param clock nullptr: absl::Now(). */
  CachedStore(ResourceStore& inner, absl::Duration expiration, Clock clock = nullptr);
  ~CachedStore() override;

  CacheStats stats() const;

  // kuma::store::ResourceStore
  absl::StatusOr<model::ResourceConstSharedPtr> create(model::Resource resource,
                                                       const CreateOptions& options) override;
  absl::StatusOr<model::ResourceConstSharedPtr> update(model::Resource resource) override;
  absl::Status remove(const model::ResourceTypeDescriptor& type, const ResourceKey& key) override;
  absl::StatusOr<model::ResourceConstSharedPtr> get(const model::ResourceTypeDescriptor& type,
                                                    const ResourceKey& key) override;
  absl::StatusOr<ResourceList> list(const model::ResourceTypeDescriptor& type,
                                    const ListOptions& options) override;
  SubscriptionPtr subscribe(std::function<void(const ChangeEvent&)> handler) override;

 private:
  struct Entry {
    ResourceList list;
    absl::Time expires;
  };
  using CacheKey = std::pair<const model::ResourceTypeDescriptor*, std::string>;  // type, mesh

  void invalidate(const ChangeEvent& event);

  ResourceStore& inner_;
  const absl::Duration expiration_;
  const Clock clock_;
  mutable absl::Mutex mu_;
  std::map<CacheKey, Entry> entries_ ABSL_GUARDED_BY(mu_);
  // Bumped on every change of a type: a list read that raced with a change is not cached.
  std::map<const model::ResourceTypeDescriptor*, uint64_t> generations_ ABSL_GUARDED_BY(mu_);
  CacheStats stats_ ABSL_GUARDED_BY(mu_);
  SubscriptionPtr subscription_;
};

}  // namespace kuma::store
