#pragma once

// File: memory_store.h
// The in-memory ResourceStore (Kuma's `store.type: memory`): everything lives in one process and
// is lost on restart. Reads share the stored immutable resources (no spec copies); writes are
// serialized by one mutex; change events are delivered after the commit, outside that mutex.
//
//   auto store = kuma::memory::newMemoryStore();                  // real clock
//   auto test = kuma::memory::newMemoryStore([&] { return now; }); // simulated clock

#include <functional>

#include "absl/time/time.h"
#include "kuma/store/resource_store.h"

namespace kuma::memory {

/** Source of creation/modification times; injectable so tests control time. */
using Clock = std::function<absl::Time()>;

/**
 * Creates an empty memory store.
 * Versions are decimal strings per resource: "1" on create, incremented by each update.
 * @param clock time source for creationTime/modificationTime; empty: absl::Now().
 */
store::ResourceStorePtr newMemoryStore(Clock clock = nullptr);

}  // namespace kuma::memory
