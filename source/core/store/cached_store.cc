#include "source/core/store/cached_store.h"

#include "absl/time/clock.h"

namespace kuma::store {

CachedStore::CachedStore(ResourceStore& inner, absl::Duration expiration, Clock clock)
    : inner_(inner),
      expiration_(expiration),
      clock_(clock ? std::move(clock) : Clock([] { return absl::Now(); })) {
  subscription_ = inner_.subscribe([this](const ChangeEvent& e) { invalidate(e); });
}

CachedStore::~CachedStore() {
  subscription_.reset();
}

CacheStats CachedStore::stats() const {
  absl::MutexLock lock(&mu_);
  return stats_;
}

void CachedStore::invalidate(const ChangeEvent& event) {
  absl::MutexLock lock(&mu_);
  ++generations_[event.resourceType];
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (it->first.first == event.resourceType) {
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

absl::StatusOr<model::ResourceConstSharedPtr> CachedStore::create(model::Resource resource,
                                                                  const CreateOptions& options) {
  return inner_.create(std::move(resource), options);
}

absl::StatusOr<model::ResourceConstSharedPtr> CachedStore::update(model::Resource resource) {
  return inner_.update(std::move(resource));
}

absl::Status CachedStore::remove(const model::ResourceTypeDescriptor& type,
                                 const ResourceKey& key) {
  return inner_.remove(type, key);
}

absl::StatusOr<model::ResourceConstSharedPtr> CachedStore::get(
    const model::ResourceTypeDescriptor& type, const ResourceKey& key) {
  return inner_.get(type, key);
}

absl::StatusOr<ResourceList> CachedStore::list(const model::ResourceTypeDescriptor& type,
                                               const ListOptions& options) {
  const bool cacheable = expiration_ > absl::ZeroDuration() && options.nameContains.empty() &&
                         options.labels.empty() && !options.predicate && options.pageSize == 0 &&
                         options.offset == 0;
  if (!cacheable) {
    return inner_.list(type, options);
  }
  const CacheKey key{&type, options.mesh};
  uint64_t generation = 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.expires > clock_()) {
      ++stats_.hits;
      return it->second.list;
    }
    ++stats_.misses;
    generation = generations_[&type];
  }
  auto result = inner_.list(type, options);
  if (result.ok()) {
    absl::MutexLock lock(&mu_);
    if (generations_[&type] == generation) {
      entries_[key] = Entry{*result, clock_() + expiration_};
    }
  }
  return result;
}

SubscriptionPtr CachedStore::subscribe(std::function<void(const ChangeEvent&)> handler) {
  // Invalidate before the subscriber hears of the change, whatever order the backend calls its
  // subscribers in: a subscriber that reads back at once must not get the stale list.
  return inner_.subscribe([this, handler = std::move(handler)](const ChangeEvent& e) {
    invalidate(e);
    handler(e);
  });
}

}  // namespace kuma::store
