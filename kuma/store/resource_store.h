#pragma once

// File: resource_store.h
// The storage contract every backend (memory, postgres, ...) implements, and that the
// conformance suite in test/store_conformance checks.
//
// Error vocabulary (absl canonical codes; see source/core/store/errors.h for helpers):
//   NotFound       the resource (or its owner) does not exist
//   AlreadyExists  create of a resource that exists
//   Aborted        optimistic-concurrency conflict: the version given to update() is stale
//   InvalidArgument the request itself is wrong (missing name, mesh on a global type, ...):
//                  replaying it unchanged can never succeed
//   Unavailable    transient backend failure (database down): retrying may succeed

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kuma/model/resource.h"

namespace kuma::store {

struct ResourceKey {
  std::string name;
  std::string mesh;  // empty for Global scope
  bool operator==(const ResourceKey&) const = default;
  auto operator<=>(const ResourceKey&) const = default;
};

/** Identifies a resource of some type, e.g. the owner of another resource. */
struct TypedResourceKey {
  const model::ResourceTypeDescriptor* type = nullptr;
  ResourceKey key;
};

struct CreateOptions {
  /** Deleting the owner deletes this resource too (Kuma's owner reference). */
  std::optional<TypedResourceKey> owner;
};

struct ListOptions {
  /** Only this mesh; empty: every mesh (and the only choice for Global types). */
  std::string mesh;
  /** Substring the name must contain; empty: any. */
  std::string nameContains;
  /** Labels that must all be present with exactly these values. */
  std::map<std::string, std::string> labels;
  /** Extra predicate applied after the above (before pagination); may be empty. */
  std::function<bool(const model::Resource&)> predicate;
  /** Page size; 0: everything from `offset` on. */
  size_t pageSize = 0;
  /** Index of the first item to return in the (mesh, name)-sorted result. */
  size_t offset = 0;
};

struct ResourceList {
  /** Items sorted by (mesh, name). */
  std::vector<model::ResourceConstSharedPtr> items;
  /** Matching items before pagination. */
  size_t total = 0;
  /** Offset of the next page when more items remain. */
  std::optional<size_t> nextOffset;
};

enum class EventType { Create, Update, Delete };

struct ChangeEvent {
  EventType type;
  const model::ResourceTypeDescriptor* resourceType;
  ResourceKey key;
};

/** Keeps a subscription alive; destroying it unsubscribes (blocks until no call is running). */
class Subscription {
 public:
  virtual ~Subscription() = default;
};
using SubscriptionPtr = std::unique_ptr<Subscription>;

class ResourceStore {
 public:
  virtual ~ResourceStore() = default;

  /**
   * Creates a resource. Version and times are set by the store (given ones are ignored).
   * @return the stored resource. AlreadyExists, NotFound (owner missing), InvalidArgument.
   * Thread: any; all methods are safe to call concurrently.
   */
  virtual absl::StatusOr<model::ResourceConstSharedPtr> create(model::Resource resource,
                                                               const CreateOptions& options) = 0;

  /**
   * Replaces the spec and labels of an existing resource. `resource.meta.version` must be the
   * current version. @return the stored resource with a new version. NotFound, Aborted (stale).
   */
  virtual absl::StatusOr<model::ResourceConstSharedPtr> update(model::Resource resource) = 0;

  /** Deletes a resource and, recursively, everything it owns. NotFound when missing. */
  virtual absl::Status remove(const model::ResourceTypeDescriptor& type,
                              const ResourceKey& key) = 0;

  /** @return the resource or NotFound (InvalidArgument for a key that breaks the type's scope). */
  virtual absl::StatusOr<model::ResourceConstSharedPtr> get(
      const model::ResourceTypeDescriptor& type, const ResourceKey& key) = 0;

  /** Lists resources of one type with filters and pagination (see ListOptions). */
  virtual absl::StatusOr<ResourceList> list(const model::ResourceTypeDescriptor& type,
                                            const ListOptions& options) = 0;

  /**
   * Calls `handler` after every committed change (including cascade deletes), from the writing
   * thread or a store thread; the handler must not block and must not call back into
   * subscribe/unsubscribe.
   */
  virtual SubscriptionPtr subscribe(std::function<void(const ChangeEvent&)> handler) = 0;
};
using ResourceStorePtr = std::unique_ptr<ResourceStore>;

}  // namespace kuma::store
