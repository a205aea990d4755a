#pragma once

// File: store_helpers.h
// Backend-independent pieces of the ResourceStore contract, shared so that every backend answers
// identically: request validation (InvalidArgument rules) and ListOptions semantics (filters,
// (mesh, name) ordering, pagination). A backend that cannot push filters down to its storage
// loads the candidates and calls applyListOptions().
//
//   std::vector<model::ResourceConstSharedPtr> all = loadType(type);
//   return applyListOptions(std::move(all), options);

#include <vector>

#include "absl/status/status.h"
#include "kuma/store/resource_store.h"

namespace kuma::store {

/** The key of a resource (its name and mesh). */
ResourceKey keyOf(const model::Resource& resource);

/**
 * Checks a key against its type's scope.
 * @return InvalidArgument when the name is empty, a Mesh-scoped key has no mesh, or a Global key
 *         has one; OK otherwise.
 */
absl::Status validateKey(const model::ResourceTypeDescriptor& type, const ResourceKey& key);

/**
 * Checks what create()/update() need from a resource: a descriptor, a spec and a valid key.
 * @return InvalidArgument describing the first problem found, or OK.
 */
absl::Status validateForWrite(const model::Resource& resource);

/** True when `resource` passes the mesh, name, label and predicate filters of `options`. */
bool matchesListOptions(const model::Resource& resource, const ListOptions& options);

/**
 * Filters `candidates` by `options`, sorts them by (mesh, name) and cuts the requested page.
 * `total` counts the matches before pagination; `nextOffset` is set only when items remain after
 * the page. An offset past the end yields an empty page.
 */
ResourceList applyListOptions(std::vector<model::ResourceConstSharedPtr> candidates,
                              const ListOptions& options);

}  // namespace kuma::store
