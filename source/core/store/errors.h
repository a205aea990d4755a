#pragma once

// File: errors.h
// Helpers for the store error vocabulary of kuma/store/resource_store.h. Every backend builds its
// errors here so that messages look the same whichever store is configured, e.g.
//
//   return kuma::store::notFound(type.name, key);
//   // NotFound: Resource not found: type="Dataplane" name="dp-1" mesh="default"
//
//   if (kuma::store::isConflict(status)) { /* re-read and retry the whole read-modify-write */ }
//
// Invalid vs transient: InvalidArgument means replaying the request unchanged can never succeed
// (the caller must fix it); Unavailable means the backend failed and a retry may succeed;
// Aborted means the data changed under the caller, who must re-read before retrying.

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "kuma/store/resource_store.h"

namespace kuma::store {

/** `type="Dataplane" name="dp-1" mesh="default"` (the mesh part is omitted when empty). */
std::string describeKey(std::string_view type, const ResourceKey& key);

/** NotFound "Resource not found: <key>". */
absl::Status notFound(std::string_view type, const ResourceKey& key);
/** AlreadyExists "Resource already exists: <key>". */
absl::Status alreadyExists(std::string_view type, const ResourceKey& key);
/** Aborted "Resource conflict: <key>" (optimistic-concurrency failure). */
absl::Status conflict(std::string_view type, const ResourceKey& key);
/** InvalidArgument with `message`. */
absl::Status invalid(std::string_view message);
/** Unavailable "store unavailable: <message>" for transient backend failures. */
absl::Status unavailable(std::string_view message);

bool isNotFound(const absl::Status& status);
bool isAlreadyExists(const absl::Status& status);
/** True for the Aborted code: the caller's version is stale. */
bool isConflict(const absl::Status& status);
bool isInvalid(const absl::Status& status);
bool isUnavailable(const absl::Status& status);

}  // namespace kuma::store
