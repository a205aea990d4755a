#pragma once

// File: postgres_store.h
// The PostgreSQL ResourceStore (Kuma's `store.type: postgres`, spec §12): rows of Kuma's
// `resources` table, readable and writable by a real Kuma 2.14 on the same database.
//
//   StoreOptions options;
//   options.connection = *connectionSettingsFromConfig(cfg.store.postgres);
//   options.pool = *poolOptionsFromConfig(cfg.store.postgres);
//   options.typeResolver = [&](std::string_view name) { return registry.byName(name); };
//   absl::StatusOr<std::unique_ptr<PostgresStore>> store = newPostgresStore(options);
//
// Encoding: `spec` is the JSON the REST API shows for the spec (jsonpb of Flat types; the "spec"
// member of SpecStatus types, whose "status" goes to the `status` column); `labels` a JSON
// object; versions are decimal integers starting at "0"; times are UTC with microseconds.
//
// Change events come from the database, not from this process: a trigger NOTIFYs every row
// change and one dedicated LISTEN connection (outside the pool) turns them into ChangeEvents, so
// subscribers see the writes of every kuma-cp instance on the database, asynchronously.
// If that connection drops it is re-established with exponential backoff; notifications sent
// meanwhile are lost (PostgreSQL does not replay them). After every reconnect the store emits a
// *resync*: one Update event per known type whose key has an empty name and mesh, meaning
// "anything of this type may have changed". Consumers must treat it as "drop everything cached
// for this type and re-list" (CachedStore does exactly that for any event).

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kuma/store/resource_store.h"
#include "source/plugins/resources/postgres/connection.h"
#include "source/plugins/resources/postgres/pool.h"

namespace kuma::config {
struct PostgresStoreConfig;
}

namespace kuma::store::postgres {

/** Maps a type name of a change notification to its descriptor; nullptr for unknown types. */
using TypeResolver = std::function<const model::ResourceTypeDescriptor*(std::string_view name)>;

/** The pool settings of `store.postgres.*`. InvalidArgument on invalid values. */
absl::StatusOr<PoolOptions> poolOptionsFromConfig(const config::PostgresStoreConfig& config);

struct StoreOptions {
  ConnectionSettings connection;
  PoolOptions pool;
  /**
   * Resolves types in notifications written by other instances. Types this store has seen in
   * its own calls are always known; notifications of unresolvable types are dropped (logged).
   */
  TypeResolver typeResolver;
  /** Reconnect backoff of the LISTEN connection: doubles from initial up to max. */
  absl::Duration listenerInitialBackoff = absl::Milliseconds(500);
  absl::Duration listenerMaxBackoff = absl::Seconds(30);
  /** How long newPostgresStore() waits for LISTEN to be in place before returning. */
  absl::Duration listenerStartTimeout = absl::Seconds(10);
};

class PostgresStore : public ResourceStore {
 public:
  /** Pool counters (open / in use / idle / waiting ...). */
  virtual PoolStats stats() const = 0;
  /** True while the LISTEN connection is established. */
  virtual bool listening() const = 0;
  /** Number of times the LISTEN connection was (re-)established. */
  virtual uint64_t listenerConnects() const = 0;
  /**
   * OK while the LISTEN connection is established; otherwise Unavailable naming the database
   * (host:port) and the last connection error. The LISTEN connection notices a lost server at
   * once (EOF on its socket) and re-connects with the configured backoff, so this is the cheap
   * "is the database there" signal for /ready.
   */
  virtual absl::Status health() const = 0;
};

/**
 * Connects (failure: Unavailable "cannot connect to DB: ..."), starts the LISTEN thread and waits
 * up to listenerStartTimeout for it, so that subscribers do not miss the first writes. Does not
 * check migrations (see migrations.h: the caller gates on checkMigrated()).
 */
absl::StatusOr<std::unique_ptr<PostgresStore>> newPostgresStore(StoreOptions options);

}  // namespace kuma::store::postgres
