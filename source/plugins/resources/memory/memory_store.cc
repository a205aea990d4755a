#include "source/plugins/resources/memory/memory_store.h"

#include <charconv>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "source/core/store/errors.h"
#include "source/core/store/store_helpers.h"
#include "source/core/store/subscribers.h"

namespace kuma::memory {
namespace {

using model::Resource;
using model::ResourceConstSharedPtr;
using model::ResourceTypeDescriptor;
using store::ChangeEvent;
using store::EventType;
using store::ResourceKey;

/** A resource's identity across types: (type name, mesh, name). */
struct RecordId {
  std::string type;
  ResourceKey key;
  auto operator<=>(const RecordId&) const = default;
  bool operator==(const RecordId&) const = default;
};

struct Record {
  ResourceConstSharedPtr resource;
  uint64_t version = 0;
  std::optional<RecordId> owner;
};

class MemoryStore : public store::ResourceStore {
 public:
  explicit MemoryStore(Clock clock) : clock_(std::move(clock)) {}

  // kuma::store::ResourceStore
  absl::StatusOr<ResourceConstSharedPtr> create(Resource resource,
                                                const store::CreateOptions& options) override;
  absl::StatusOr<ResourceConstSharedPtr> update(Resource resource) override;
  absl::Status remove(const ResourceTypeDescriptor& type, const ResourceKey& key) override;
  absl::StatusOr<ResourceConstSharedPtr> get(const ResourceTypeDescriptor& type,
                                             const ResourceKey& key) override;
  absl::StatusOr<store::ResourceList> list(const ResourceTypeDescriptor& type,
                                           const store::ListOptions& options) override;
  store::SubscriptionPtr subscribe(std::function<void(const ChangeEvent&)> handler) override;

 private:
  using TypeTable = std::map<ResourceKey, Record>;

  /** Delivers queued events in commit order. Only one thread drains at a time. */
  void drainEvents() ABSL_LOCKS_EXCLUDED(mu_);
  void collectOwned(const RecordId& root, std::vector<RecordId>& out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock clock_;

  absl::Mutex mu_;
  std::map<std::string, TypeTable, std::less<>> tables_ ABSL_GUARDED_BY(mu_);
  /** owner -> resources created with it as owner. */
  std::map<RecordId, std::set<RecordId>> owned_ ABSL_GUARDED_BY(mu_);
  /** Committed but undelivered events; queued under mu_ so their order is the commit order. */
  std::deque<ChangeEvent> pendingEvents_ ABSL_GUARDED_BY(mu_);
  bool draining_ ABSL_GUARDED_BY(mu_) = false;

  store::SubscriberList subscribers_;
};

std::string versionString(uint64_t version) {
  return std::to_string(version);
}

std::optional<uint64_t> parseVersion(const std::string& version) {
  uint64_t out = 0;
  const char* end = version.data() + version.size();
  auto [ptr, ec] = std::from_chars(version.data(), end, out);
  if (version.empty() || ec != std::errc() || ptr != end) {
    return std::nullopt;
  }
  return out;
}

absl::StatusOr<ResourceConstSharedPtr> MemoryStore::create(Resource resource,
                                                           const store::CreateOptions& options) {
  if (absl::Status status = store::validateForWrite(resource); !status.ok()) {
    return status;
  }
  std::optional<RecordId> owner;
  if (options.owner) {
    if (options.owner->type == nullptr) {
      return store::invalid("owner has no type descriptor");
    }
    if (absl::Status status = store::validateKey(*options.owner->type, options.owner->key);
        !status.ok()) {
      return store::invalid(absl::StrCat("invalid owner: ", status.message()));
    }
    owner = RecordId{options.owner->type->name, options.owner->key};
  }
  const ResourceKey key = store::keyOf(resource);
  const std::string& typeName = resource.descriptor->name;
  ResourceConstSharedPtr stored;
  {
    absl::MutexLock lock(&mu_);
    // Read under the lock so modification times follow the commit order.
    const absl::Time now = clock_();
    TypeTable& table = tables_[typeName];
    if (table.contains(key)) {
      return store::alreadyExists(typeName, key);
    }
    if (owner) {
      auto ownerTable = tables_.find(owner->type);
      if (ownerTable == tables_.end() || !ownerTable->second.contains(owner->key)) {
        return absl::NotFoundError(absl::StrCat("Owner of the resource not found: ",
                                                store::describeKey(owner->type, owner->key)));
      }
    }
    resource.meta.version = versionString(1);
    resource.meta.creationTime = now;
    resource.meta.modificationTime = now;
    stored = std::make_shared<const Resource>(std::move(resource));
    table.emplace(key, Record{stored, 1, owner});
    if (owner) {
      owned_[*owner].insert(RecordId{typeName, key});
    }
    pendingEvents_.push_back(ChangeEvent{EventType::Create, stored->descriptor, key});
  }
  drainEvents();
  return stored;
}

absl::StatusOr<ResourceConstSharedPtr> MemoryStore::update(Resource resource) {
  if (absl::Status status = store::validateForWrite(resource); !status.ok()) {
    return status;
  }
  const ResourceKey key = store::keyOf(resource);
  const std::string& typeName = resource.descriptor->name;
  ResourceConstSharedPtr stored;
  {
    absl::MutexLock lock(&mu_);
    // Read under the lock so modification times follow the commit order.
    const absl::Time now = clock_();
    auto table = tables_.find(typeName);
    if (table == tables_.end()) {
      return store::notFound(typeName, key);
    }
    auto it = table->second.find(key);
    if (it == table->second.end()) {
      return store::notFound(typeName, key);
    }
    Record& record = it->second;
    std::optional<uint64_t> given = parseVersion(resource.meta.version);
    if (!given || *given != record.version) {
      return store::conflict(typeName, key);
    }
    record.version++;
    resource.meta.version = versionString(record.version);
    resource.meta.creationTime = record.resource->meta.creationTime;
    resource.meta.modificationTime = now;
    stored = std::make_shared<const Resource>(std::move(resource));
    record.resource = stored;
    pendingEvents_.push_back(ChangeEvent{EventType::Update, stored->descriptor, key});
  }
  drainEvents();
  return stored;
}

void MemoryStore::collectOwned(const RecordId& root, std::vector<RecordId>& out) {
  // Iterative depth-first walk; `out` doubles as the visited set guard against cycles.
  std::vector<RecordId> stack{root};
  std::set<RecordId> seen{root};
  while (!stack.empty()) {
    RecordId current = std::move(stack.back());
    stack.pop_back();
    out.push_back(current);
    auto it = owned_.find(current);
    if (it == owned_.end()) {
      continue;
    }
    for (const RecordId& child : it->second) {
      if (seen.insert(child).second) {
        stack.push_back(child);
      }
    }
  }
}

absl::Status MemoryStore::remove(const ResourceTypeDescriptor& type, const ResourceKey& key) {
  if (absl::Status status = store::validateKey(type, key); !status.ok()) {
    return status;
  }
  {
    absl::MutexLock lock(&mu_);
    auto table = tables_.find(type.name);
    if (table == tables_.end() || !table->second.contains(key)) {
      return store::notFound(type.name, key);
    }
    std::vector<RecordId> doomed;
    collectOwned(RecordId{type.name, key}, doomed);
    for (const RecordId& id : doomed) {
      auto t = tables_.find(id.type);
      if (t == tables_.end()) {
        continue;
      }
      auto it = t->second.find(id.key);
      if (it == t->second.end()) {
        continue;
      }
      const ResourceTypeDescriptor* descriptor = it->second.resource->descriptor;
      if (it->second.owner) {
        auto siblings = owned_.find(*it->second.owner);
        if (siblings != owned_.end()) {
          siblings->second.erase(id);
          if (siblings->second.empty()) {
            owned_.erase(siblings);
          }
        }
      }
      owned_.erase(id);
      t->second.erase(it);
      pendingEvents_.push_back(ChangeEvent{EventType::Delete, descriptor, id.key});
    }
  }
  drainEvents();
  return absl::OkStatus();
}

absl::StatusOr<ResourceConstSharedPtr> MemoryStore::get(const ResourceTypeDescriptor& type,
                                                        const ResourceKey& key) {
  if (absl::Status status = store::validateKey(type, key); !status.ok()) {
    return status;
  }
  absl::ReaderMutexLock lock(&mu_);
  auto table = tables_.find(type.name);
  if (table == tables_.end()) {
    return store::notFound(type.name, key);
  }
  auto it = table->second.find(key);
  if (it == table->second.end()) {
    return store::notFound(type.name, key);
  }
  return it->second.resource;
}

absl::StatusOr<store::ResourceList> MemoryStore::list(const ResourceTypeDescriptor& type,
                                                      const store::ListOptions& options) {
  std::vector<ResourceConstSharedPtr> candidates;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto table = tables_.find(type.name);
    if (table != tables_.end()) {
      candidates.reserve(table->second.size());
      for (const auto& [key, record] : table->second) {
        if (options.mesh.empty() || key.mesh == options.mesh) {
          candidates.push_back(record.resource);
        }
      }
    }
  }
  // Filtering (and the caller's predicate) runs outside the lock.
  return store::applyListOptions(std::move(candidates), options);
}

store::SubscriptionPtr MemoryStore::subscribe(std::function<void(const ChangeEvent&)> handler) {
  return subscribers_.subscribe(std::move(handler));
}

void MemoryStore::drainEvents() {
  std::deque<ChangeEvent> batch;
  {
    absl::MutexLock lock(&mu_);
    if (draining_ || pendingEvents_.empty()) {
      // The draining thread will deliver our events after the ones before them.
      return;
    }
    draining_ = true;
    batch.swap(pendingEvents_);
  }
  while (!batch.empty()) {
    for (const ChangeEvent& event : batch) {
      subscribers_.publish(event);
    }
    batch.clear();
    absl::MutexLock lock(&mu_);
    batch.swap(pendingEvents_);
    if (batch.empty()) {
      draining_ = false;
    }
  }
}

}  // namespace

store::ResourceStorePtr newMemoryStore(Clock clock) {
  if (!clock) {
    clock = [] { return absl::Now(); };
  }
  return std::make_unique<MemoryStore>(std::move(clock));
}

}  // namespace kuma::memory
