#include "test/plugins/resources/postgres/pg_test_env.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/plugins/resources/postgres/migrations.h"
#include "test/store_conformance/test_types.h"

namespace kuma::store::postgres::testing {
namespace {

struct Shared {
  std::unique_ptr<test::PostgresServer> server;
  std::string error;
  bool kumaMigrated = false;
};

Shared& shared() {
  static Shared* s = [] {
    auto* out = new Shared();
    absl::StatusOr<std::unique_ptr<test::PostgresServer>> launched = test::PostgresServer::launch();
    if (launched.ok()) {
      out->server = std::move(*launched);
    } else {
      out->error = launched.status().ToString();
    }
    return out;
  }();
  return *s;
}

// The server is stopped and its directory removed at process exit.
struct Reaper {
  ~Reaper() { shared().server.reset(); }
} reaper;

}  // namespace

test::PostgresServer* server() {
  return shared().server.get();
}

std::string launchError() {
  return shared().error;
}

ConnectionSettings settingsFor(const std::string& database) {
  ConnectionSettings s;
  test::PostgresServer* pg = server();
  if (pg != nullptr) {
    s.host = pg->host();
    s.port = pg->port();
    s.user = pg->user();
    s.password = pg->password();
  }
  s.dbName = database;
  s.connectionTimeoutSeconds = 5;
  return s;
}

std::string freshDatabase(const std::string& prefix, bool migrate) {
  static std::atomic<int> counter{0};
  const std::string name = absl::StrCat(prefix, "_", counter++);
  test::PostgresServer* pg = server();
  if (pg == nullptr) {
    ADD_FAILURE() << "no PostgreSQL: " << launchError();
    return name;
  }
  absl::Status created = pg->createDatabase(name);
  EXPECT_TRUE(created.ok()) << created;
  if (migrate) {
    absl::StatusOr<MigrateOutcome> migrated = migrateUp(settingsFor(name));
    EXPECT_TRUE(migrated.ok()) << migrated.status();
  }
  return name;
}

StoreOptions storeOptionsFor(const std::string& database) {
  StoreOptions options;
  options.connection = settingsFor(database);
  options.typeResolver = [](std::string_view name) -> const model::ResourceTypeDescriptor* {
    if (name == "TestMesh") {
      return &conformance::testMeshType();
    }
    if (name == "TestItem") {
      return &conformance::testItemType();
    }
    return nullptr;
  };
  options.listenerInitialBackoff = absl::Milliseconds(100);
  options.listenerMaxBackoff = absl::Milliseconds(500);
  return options;
}

ResourceStorePtr makeCleanStore() {
  test::PostgresServer* pg = server();
  if (pg == nullptr) {
    ADD_FAILURE() << "no PostgreSQL: " << launchError();
    return nullptr;
  }
  if (!shared().kumaMigrated) {
    absl::StatusOr<MigrateOutcome> migrated = migrateUp(settingsFor("kuma"));
    if (!migrated.ok()) {
      ADD_FAILURE() << migrated.status();
      return nullptr;
    }
    shared().kumaMigrated = true;
  }
  absl::StatusOr<std::vector<std::string>> wiped = pg->superuserQuery("TRUNCATE resources", "kuma");
  if (!wiped.ok()) {
    ADD_FAILURE() << wiped.status();
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<PostgresStore>> store = newPostgresStore(storeOptionsFor("kuma"));
  if (!store.ok()) {
    ADD_FAILURE() << store.status();
    return nullptr;
  }
  return std::move(*store);
}

}  // namespace kuma::store::postgres::testing
