#include "source/plugins/resources/postgres/migrations.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/plugins/resources/postgres/pg_test_env.h"

namespace kuma::store::postgres {
namespace {

using ::testing::HasSubstr;
using testing::server;
using testing::settingsFor;

std::vector<std::string> query(const std::string& db, const std::string& sql) {
  auto rows = server()->superuserQuery(sql, db);
  EXPECT_TRUE(rows.ok()) << rows.status();
  return rows.ok() ? *rows : std::vector<std::string>{};
}

TEST(PostgresMigrationsTest, Crc32AndLockIdFollowGolangMigrate) {
  EXPECT_EQ(crc32Ieee("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32Ieee(""), 0u);
  const std::string key = std::string("public") + '\0' + "schema_migrations" + '\0' + "kuma";
  EXPECT_EQ(migrationLockId("public", "kuma"), std::to_string(crc32Ieee(key) * 1486364155u));
  EXPECT_NE(migrationLockId("public", "kuma"), migrationLockId("public", "other"));
}

TEST(PostgresMigrationsTest, FreshDatabaseIsNotMigratedThenMigrateIsIdempotent) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  const std::string db = testing::freshDatabase("mig_fresh", false);
  absl::StatusOr<MigrationState> before = migrationState(settingsFor(db));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_FALSE(before->version.has_value());
  absl::Status gate = checkMigrated(*before, false);
  EXPECT_TRUE(absl::IsFailedPrecondition(gate));
  EXPECT_THAT(std::string(gate.message()),
              HasSubstr("database is not migrated. Run \"kuma-cp migrate up\""));

  absl::StatusOr<MigrateOutcome> first = migrateUp(settingsFor(db));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, MigrateOutcome::Migrated);
  EXPECT_EQ(query(db, "SELECT version, dirty FROM schema_migrations"),
            std::vector<std::string>{"1710856785\tf"});
  absl::StatusOr<MigrationState> after = migrationState(settingsFor(db));
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->version, kRequiredSchemaVersion);
  EXPECT_TRUE(checkMigrated(*after, false).ok());

  absl::StatusOr<MigrateOutcome> second = migrateUp(settingsFor(db));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(*second, MigrateOutcome::AlreadyMigrated);
}

TEST(PostgresMigrationsTest, SchemaMatchesKuma) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  const std::string db = testing::freshDatabase("mig_schema");
  EXPECT_EQ(query(db,
                  "SELECT column_name, data_type, coalesce(character_maximum_length::text, ''), "
                  "is_nullable FROM information_schema.columns WHERE table_name = 'resources' "
                  "ORDER BY ordinal_position"),
            (std::vector<std::string>{
                "name\tcharacter varying\t253\tNO",
                "mesh\tcharacter varying\t100\tNO",
                "type\tcharacter varying\t100\tNO",
                "version\tinteger\t\tNO",
                "spec\ttext\t\tYES",
                "creation_time\ttimestamp without time zone\t\tNO",
                "modification_time\ttimestamp without time zone\t\tNO",
                "owner_name\tcharacter varying\t100\tYES",
                "owner_mesh\tcharacter varying\t100\tYES",
                "owner_type\tcharacter varying\t100\tYES",
                "labels\tjsonb\t\tYES",
                "status\tjsonb\t\tNO",
            }));
  EXPECT_EQ(query(db,
                  "SELECT conname, confdeltype FROM pg_constraint WHERE conrelid = "
                  "'resources'::regclass ORDER BY conname"),
            (std::vector<std::string>{"owner_fk\tc", "resources_pkey\t "}));
  EXPECT_EQ(query(db,
                  "SELECT tgname FROM pg_trigger WHERE tgrelid = 'resources'::regclass AND NOT "
                  "tgisinternal"),
            std::vector<std::string>{"products_notify_event"});
  EXPECT_EQ(query(db, "SELECT indexname FROM pg_indexes WHERE indexname = 'owner_fk_index'"),
            std::vector<std::string>{"owner_fk_index"});
  EXPECT_EQ(query(db,
                  "SELECT column_name FROM information_schema.columns WHERE table_name = "
                  "'locks' ORDER BY ordinal_position"),
            (std::vector<std::string>{"name", "record_version_number", "data", "owner"}));
  EXPECT_EQ(query(db, "SELECT count(*) FROM pg_class WHERE relname = 'locks_rvn'"),
            std::vector<std::string>{"1"});
}

TEST(PostgresMigrationsTest, AppliesOnlyPendingSteps) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  const std::string db = testing::freshDatabase("mig_partial");
  // A database left by an older Kuma, one step behind.
  query(db,
        "ALTER TABLE resources DROP COLUMN status; UPDATE schema_migrations SET version = "
        "1701180642");
  absl::StatusOr<MigrationState> state = migrationState(settingsFor(db));
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(checkMigrated(*state, false).ok());
  absl::StatusOr<MigrateOutcome> r = migrateUp(settingsFor(db));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, MigrateOutcome::Migrated);
  EXPECT_EQ(query(db,
                  "SELECT count(*) FROM information_schema.columns WHERE table_name = "
                  "'resources' AND column_name = 'status'"),
            std::vector<std::string>{"1"});
}

TEST(PostgresMigrationsTest, DirtyAndNewerDatabases) {
  ASSERT_NE(server(), nullptr) << testing::launchError();
  const std::string db = testing::freshDatabase("mig_dirty");
  query(db, "UPDATE schema_migrations SET dirty = true");
  absl::StatusOr<MigrateOutcome> dirty = migrateUp(settingsFor(db));
  ASSERT_FALSE(dirty.ok());
  EXPECT_THAT(std::string(dirty.status().message()),
              HasSubstr("Dirty database version 1710856785. Fix and force version."));
  absl::StatusOr<MigrationState> state = migrationState(settingsFor(db));
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->dirty);
  EXPECT_TRUE(checkMigrated(*state, false).ok());  // Kuma ignores dirty here
  EXPECT_THAT(std::string(checkMigrated(*state, true).message()),
              HasSubstr("row is dirty at version 1710856785"));

  query(db, "UPDATE schema_migrations SET dirty = false, version = 1800000000");
  absl::StatusOr<MigrateOutcome> newer = migrateUp(settingsFor(db));
  ASSERT_FALSE(newer.ok());
  EXPECT_THAT(std::string(newer.status().message()),
              HasSubstr("DB is migrated to newer version than Kuma. DB migration version "
                        "1800000000. Kuma migration version 1710856785"));
  absl::StatusOr<MigrateOutcome> tolerated = migrateUp(settingsFor(db), true);
  ASSERT_TRUE(tolerated.ok());
  EXPECT_EQ(*tolerated, MigrateOutcome::AlreadyMigrated);
  state = migrationState(settingsFor(db));
  ASSERT_TRUE(state.ok());
  EXPECT_FALSE(checkMigrated(*state, false).ok());
  EXPECT_TRUE(checkMigrated(*state, true).ok());
}

TEST(PostgresMigrationsTest, UnreachableDatabaseIsUnavailable) {
  ConnectionSettings s;
  s.host = "127.0.0.1";
  s.port = 1;  // nothing listens there
  s.connectionTimeoutSeconds = 2;
  absl::StatusOr<MigrationState> state = migrationState(s);
  ASSERT_FALSE(state.ok());
  EXPECT_TRUE(absl::IsUnavailable(state.status()));
  EXPECT_THAT(std::string(state.status().message()), HasSubstr("cannot connect to DB"));
}

}  // namespace
}  // namespace kuma::store::postgres
