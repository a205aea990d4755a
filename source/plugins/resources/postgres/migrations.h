#pragma once

// File: migrations.h
// Kuma's PostgreSQL schema (spec §12.1) and its golang-migrate bookkeeping (§12.2), so that a
// database written by Kuma 2.14 is recognised and one migrated here is accepted by Kuma 2.14:
// the same eleven up-only steps with the same version numbers, the `schema_migrations` table with
// its single (version, dirty) row, and the same advisory lock id.
//
//   kuma-cp migrate up:  absl::StatusOr<MigrateOutcome> r = migrateUp(settings);
//   kuma-cp run (gate):  absl::StatusOr<MigrationState> s = migrationState(settings);
//                        if (s.ok()) status = checkMigrated(*s, cfg.tolerateNewerDBVersions);

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "source/plugins/resources/postgres/connection.h"

namespace kuma::store::postgres {

/** The newest migration: the version this control plane requires (Kuma 2.14's add_status). */
inline constexpr int64_t kRequiredSchemaVersion = 1710856785;

/** One up-only step; `version` is golang-migrate's numeric file prefix. */
struct Migration {
  int64_t version;
  std::string_view name;
  std::string_view sql;
};

/** All steps, oldest first. */
const std::vector<Migration>& migrations();

/** The `schema_migrations` row. */
struct MigrationState {
  /** nullopt: no row (a database never migrated). */
  std::optional<int64_t> version;
  bool dirty = false;
};

/**
 * Reads the migration state (creating an empty `schema_migrations` table when missing, like
 * golang-migrate does). Unavailable "cannot connect to DB: ..." when the database is unreachable.
 */
absl::StatusOr<MigrationState> migrationState(const ConnectionSettings& settings);

/**
 * The boot gate of `kuma-cp run` (Kuma's rules and messages, §12.2): OK when migrated;
 * FailedPrecondition `database is not migrated. Run "kuma-cp migrate up" ...` otherwise, and with
 * `tolerateNewerDBVersions` a dirty row is refused with its own message.
 */
absl::Status checkMigrated(const MigrationState& state, bool tolerateNewerDBVersions);

enum class MigrateOutcome {
  /** Pending steps were applied. */
  Migrated,
  /** Nothing to do (or a newer database tolerated). */
  AlreadyMigrated,
};

/**
 * Applies every pending step (`kuma-cp migrate up`), serialised with other migrators through
 * golang-migrate's advisory lock. Each step: mark (v, dirty) → run its SQL in a transaction →
 * mark (v, clean); a failure leaves the row dirty, as golang-migrate does.
 * Errors: FailedPrecondition for a dirty row ("Dirty database version <v>. Fix and force
 * version.") or a newer database (unless tolerated); Unavailable when unreachable; Internal for a
 * failing step.
 */
absl::StatusOr<MigrateOutcome> migrateUp(const ConnectionSettings& settings,
                                         bool tolerateNewerDBVersions = false);

/**
 * golang-migrate's advisory lock id: decimal of
 * uint32(crc32_ieee("<schema>\x00schema_migrations\x00<database>") * 1486364155).
 */
std::string migrationLockId(std::string_view schema, std::string_view database);

/** CRC-32 (IEEE 802.3, reflected 0xEDB88320), as Go's crc32.ChecksumIEEE. */
uint32_t crc32Ieee(std::string_view data);

}  // namespace kuma::store::postgres
