#pragma once

// File: pg_test_env.h
// One throwaway PostgreSQL per test binary (started on first use, removed at exit) and helpers
// to get settings, fresh databases and stores on it.

#include <memory>
#include <string>

#include "kuma/store/resource_store.h"
#include "source/plugins/resources/postgres/connection.h"
#include "source/plugins/resources/postgres/postgres_store.h"
#include "test/test_common/postgres_server.h"

namespace kuma::store::postgres::testing {

/** The shared server, or nullptr (see launchError()) when it cannot run here. */
test::PostgresServer* server();
/** Why server() is null. */
std::string launchError();

/** Settings for `database` on the shared server (connectionTimeout 5 s). */
ConnectionSettings settingsFor(const std::string& database = "kuma");

/** Creates a new empty database (unique name with `prefix`) and migrates it unless told not. */
std::string freshDatabase(const std::string& prefix, bool migrate = true);

/** Store options for `database` resolving the conformance test types. */
StoreOptions storeOptionsFor(const std::string& database);

/** A store on the (migrated) shared `kuma` database after `TRUNCATE resources`; null on error. */
ResourceStorePtr makeCleanStore();

}  // namespace kuma::store::postgres::testing
