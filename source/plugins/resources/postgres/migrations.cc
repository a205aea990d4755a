#include "source/plugins/resources/postgres/migrations.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "pqxx/pqxx"
#include "source/common/absl_compat.h"

namespace kuma::store::postgres {
namespace {

using common::av;

// The SQL below is written for this project from the facts of the final schema (§12.1); each
// step keeps Kuma's version number so that the bookkeeping row means the same thing to both
// implementations. Steps use IF NOT EXISTS where PostgreSQL allows it so that a re-run after a
// manual repair does not fail.

constexpr std::string_view kCreateResources = R"sql(
CREATE TABLE IF NOT EXISTS resources (
  name    varchar(100) NOT NULL,
  mesh    varchar(100) NOT NULL,
  type    varchar(100) NOT NULL,
  version integer      NOT NULL,
  spec    text,
  PRIMARY KEY (name, mesh, type)
);
)sql";

constexpr std::string_view kAddTimes = R"sql(
ALTER TABLE resources ADD COLUMN IF NOT EXISTS creation_time timestamp NOT NULL DEFAULT now();
ALTER TABLE resources ADD COLUMN IF NOT EXISTS modification_time timestamp NOT NULL DEFAULT now();
)sql";

constexpr std::string_view kAddOwner = R"sql(
ALTER TABLE resources ADD COLUMN IF NOT EXISTS owner_name varchar(100);
ALTER TABLE resources ADD COLUMN IF NOT EXISTS owner_mesh varchar(100);
ALTER TABLE resources ADD COLUMN IF NOT EXISTS owner_type varchar(100);
ALTER TABLE resources DROP CONSTRAINT IF EXISTS owner_fk;
ALTER TABLE resources ADD CONSTRAINT owner_fk FOREIGN KEY (owner_name, owner_mesh, owner_type)
  REFERENCES resources (name, mesh, type) ON DELETE CASCADE;
)sql";

constexpr std::string_view kAddLocks = R"sql(
CREATE TABLE IF NOT EXISTS locks (
  name                  varchar(255) PRIMARY KEY,
  record_version_number bigint,
  data                  bytea,
  owner                 varchar(255)
);
CREATE SEQUENCE IF NOT EXISTS locks_rvn OWNED BY locks.record_version_number;
)sql";

// Kuma 1.0 moved global-scoped rows to the empty mesh; a database that old cannot be served by
// this implementation anyway, so the step only keeps its version number.
constexpr std::string_view kAdjustGlobalResources = R"sql(
SELECT 1;
)sql";

constexpr std::string_view kNotifyFunction = R"sql(
CREATE OR REPLACE FUNCTION notify_event() RETURNS trigger AS $body$
DECLARE
  changed record;
BEGIN
  IF TG_OP = 'DELETE' THEN
    changed := OLD;
  ELSE
    changed := NEW;
  END IF;
  PERFORM pg_notify('resource_events', json_build_object(
    'action', TG_OP,
    'data', json_build_object('name', changed.name, 'mesh', changed.mesh, 'type', changed.type)
  )::text);
  RETURN NULL;
END;
$body$ LANGUAGE plpgsql;
)sql";

constexpr std::string_view kAddTriggerTail = R"sql(
DROP TRIGGER IF EXISTS products_notify_event ON resources;
CREATE TRIGGER products_notify_event AFTER INSERT OR UPDATE OR DELETE ON resources
  FOR EACH ROW EXECUTE PROCEDURE notify_event();
)sql";

constexpr std::string_view kNameLimit = R"sql(
ALTER TABLE resources ALTER COLUMN name TYPE varchar(253);
)sql";

constexpr std::string_view kOwnerIndex = R"sql(
CREATE INDEX IF NOT EXISTS owner_fk_index ON resources (owner_type, owner_mesh, owner_name);
)sql";

constexpr std::string_view kAddLabels = R"sql(
ALTER TABLE resources ADD COLUMN IF NOT EXISTS labels jsonb DEFAULT '{}';
)sql";

constexpr std::string_view kAddStatus = R"sql(
ALTER TABLE resources ADD COLUMN IF NOT EXISTS status jsonb NOT NULL DEFAULT '{}';
)sql";

const std::string& addTriggerSql() {
  static const std::string* sql =
      new std::string(absl::StrCat(av(kNotifyFunction), av(kAddTriggerTail)));
  return *sql;
}

constexpr std::string_view kVersionTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)";

std::string kumaVersionMessage(int64_t db) {
  return absl::StrCat("DB is migrated to newer version than Kuma. DB migration version ", db,
                      ". Kuma migration version ", kRequiredSchemaVersion,
                      ". Run newer version of Kuma");
}

/** A connection holding golang-migrate's advisory lock, with the version table ensured. */
class LockedSession {
 public:
  static absl::StatusOr<std::unique_ptr<LockedSession>> open(const ConnectionSettings& settings) {
    absl::StatusOr<ConnectionPtr> conn = openConnection(settings);
    if (!conn.ok()) {
      return conn.status();
    }
    std::unique_ptr<LockedSession> session(new LockedSession(std::move(*conn)));
    try {
      pqxx::nontransaction tx(*session->conn_);
      pqxx::row names = tx.exec1("SELECT current_schema(), current_database()");
      session->lockId_ =
          migrationLockId(names[0].is_null() ? "" : names[0].c_str(), names[1].c_str());
      tx.exec_params("SELECT pg_advisory_lock($1::bigint)", session->lockId_);
      session->locked_ = true;
      tx.exec(std::string(kVersionTable));
    } catch (const std::exception& e) {
      return statusFromException(e, "cannot prepare the schema_migrations table");
    }
    return session;
  }

  ~LockedSession() {
    if (!locked_) {
      return;
    }
    try {
      pqxx::nontransaction tx(*conn_);
      tx.exec_params("SELECT pg_advisory_unlock($1::bigint)", lockId_);
    } catch (const std::exception&) {
      // Closing the session releases the lock anyway.
    }
  }

  pqxx::connection& conn() { return *conn_; }

  absl::StatusOr<MigrationState> read() {
    try {
      pqxx::nontransaction tx(*conn_);
      pqxx::result r = tx.exec("SELECT version, dirty FROM schema_migrations LIMIT 1");
      MigrationState state;
      if (!r.empty()) {
        state.version = r[0][0].as<int64_t>();
        state.dirty = r[0][1].as<bool>();
      }
      return state;
    } catch (const std::exception& e) {
      return statusFromException(e, "cannot read schema_migrations");
    }
  }

  /** golang-migrate's SetVersion: one transaction replacing the single row. */
  absl::Status setVersion(int64_t version, bool dirty) {
    try {
      pqxx::work tx(*conn_);
      tx.exec("TRUNCATE schema_migrations");
      tx.exec_params("INSERT INTO schema_migrations (version, dirty) VALUES ($1, $2)", version,
                     dirty);
      tx.commit();
      return absl::OkStatus();
    } catch (const std::exception& e) {
      return statusFromException(e, "cannot update schema_migrations");
    }
  }

 private:
  explicit LockedSession(ConnectionPtr conn) : conn_(std::move(conn)) {}
  ConnectionPtr conn_;
  std::string lockId_;
  bool locked_ = false;
};

}  // namespace

const std::vector<Migration>& migrations() {
  static const auto* all = new std::vector<Migration>{
      {1579518998, "create_resources", kCreateResources},
      {1580128050, "add_creation_modification_time", kAddTimes},
      {1589041445, "add_unique_id_and_owner", kAddOwner},
      {1592232449, "add_leader_table", kAddLocks},
      {1604501001, "adjust_global_resources", kAdjustGlobalResources},
      {1605012491, "add_trigger", addTriggerSql()},
      {1610445956, "update_notify_event", kNotifyFunction},
      {1677096751, "update_resources_name_limit", kNameLimit},
      {1693473198, "add_foreign_key_idx", kOwnerIndex},
      {1701180642, "add_labels", kAddLabels},
      {kRequiredSchemaVersion, "add_status", kAddStatus},
  };
  return *all;
}

uint32_t crc32Ieee(std::string_view data) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) {
        c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      }
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc = table[(crc ^ byte) & 0xFFu] ^ (crc >> 8);
  }
  return crc ^ 0xFFFFFFFFu;
}

std::string migrationLockId(std::string_view schema, std::string_view database) {
  std::string key;
  key.append(schema);
  key.push_back('\0');
  key.append("schema_migrations");
  key.push_back('\0');
  key.append(database);
  const uint32_t id = crc32Ieee(key) * 1486364155u;
  return std::to_string(id);
}

absl::StatusOr<MigrationState> migrationState(const ConnectionSettings& settings) {
  absl::StatusOr<std::unique_ptr<LockedSession>> session = LockedSession::open(settings);
  if (!session.ok()) {
    return session.status();
  }
  return (*session)->read();
}

absl::Status checkMigrated(const MigrationState& state, bool tolerateNewerDBVersions) {
  const absl::Status notMigrated = absl::FailedPreconditionError(
      "database is not migrated. Run \"kuma-cp migrate up\" to update database to the newest "
      "schema");
  if (!state.version) {
    return notMigrated;
  }
  if (tolerateNewerDBVersions) {
    if (state.dirty) {
      return absl::FailedPreconditionError(
          absl::StrCat("database schema_migrations row is dirty at version ", *state.version,
                       " (a migration is in progress or failed); refusing to boot even with "
                       "TolerateNewerDBVersions enabled"));
    }
    return *state.version >= kRequiredSchemaVersion ? absl::OkStatus() : notMigrated;
  }
  // Kuma does not look at the dirty flag here: exactly the newest version passes.
  return *state.version == kRequiredSchemaVersion ? absl::OkStatus() : notMigrated;
}

absl::StatusOr<MigrateOutcome> migrateUp(const ConnectionSettings& settings,
                                         bool tolerateNewerDBVersions) {
  absl::StatusOr<std::unique_ptr<LockedSession>> opened = LockedSession::open(settings);
  if (!opened.ok()) {
    return opened.status();
  }
  LockedSession& session = **opened;
  absl::StatusOr<MigrationState> state = session.read();
  if (!state.ok()) {
    return state.status();
  }
  if (state->version && state->dirty) {
    return absl::FailedPreconditionError(
        absl::StrCat("error while executing up migration: Dirty database version ", *state->version,
                     ". Fix and force version."));
  }
  const int64_t current = state->version.value_or(0);
  if (current > kRequiredSchemaVersion) {
    if (tolerateNewerDBVersions) {
      return MigrateOutcome::AlreadyMigrated;
    }
    return absl::FailedPreconditionError(kumaVersionMessage(current));
  }
  bool applied = false;
  for (const Migration& m : migrations()) {
    if (m.version <= current) {
      continue;
    }
    if (absl::Status s = session.setVersion(m.version, true); !s.ok()) {
      return s;
    }
    try {
      pqxx::work tx(session.conn());
      tx.exec(std::string(m.sql));
      tx.commit();
    } catch (const std::exception& e) {
      absl::Status failed =
          statusFromException(e, absl::StrCat("migration ", m.version, "_", av(m.name), " failed"));
      return absl::IsUnavailable(failed) ? failed : absl::InternalError(failed.message());
    }
    if (absl::Status s = session.setVersion(m.version, false); !s.ok()) {
      return s;
    }
    applied = true;
  }
  return applied ? MigrateOutcome::Migrated : MigrateOutcome::AlreadyMigrated;
}

}  // namespace kuma::store::postgres
