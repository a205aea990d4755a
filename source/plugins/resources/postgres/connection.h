#pragma once

// File: connection.h
// How kuma-cp reaches PostgreSQL: the connection settings taken from `store.postgres.*`, their
// libpq keyword form (Kuma's connection string, spec §12.6), opening one connection with bounded
// time, and the mapping of libpqxx exceptions onto the store's absl::Status vocabulary. Every
// other file of this plugin talks to libpqxx only through try/catch + statusFromException().
//
//   absl::StatusOr<ConnectionSettings> settings = connectionSettingsFromConfig(cfg.store.postgres);
//   absl::StatusOr<ConnectionPtr> conn = openConnection(*settings);

#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pqxx/connection"

namespace kuma::config {
struct PostgresStoreConfig;
}

namespace kuma::store::postgres {

/** store.postgres.tls.mode; mapped to libpq's sslmode. */
enum class TlsMode { Disable, VerifyNone, VerifyCa, VerifyFull };

struct ConnectionSettings {
  std::string host = "127.0.0.1";
  int port = 15432;
  std::string user = "kuma";
  std::string password = "kuma";
  std::string dbName = "kuma";
  /** Seconds allowed to establish one connection (libpq connect_timeout); 0: no limit. */
  int connectionTimeoutSeconds = 5;
  TlsMode tlsMode = TlsMode::Disable;
  std::string certPath;
  std::string keyPath;
  std::string caPath;
  bool disableSslSni = false;
  /** Per-statement limit (server-side statement_timeout); zero: none. */
  absl::Duration statementTimeout = absl::ZeroDuration();
};

/**
 * Parses a `store.postgres.tls.mode` value (disable, verifyNone, verifyCa, verifyFull).
 * @return InvalidArgument for anything else.
 */
absl::StatusOr<TlsMode> parseTlsMode(std::string_view mode);

/**
 * Builds and validates settings from the config section (Kuma's rules: host, user, password and
 * dbName non-empty; verifyCa/verifyFull need caPath; cert and key given together).
 * @return InvalidArgument naming the offending key.
 */
absl::StatusOr<ConnectionSettings> connectionSettingsFromConfig(
    const config::PostgresStoreConfig& config);

/** Validates settings built by hand (same rules as connectionSettingsFromConfig). */
absl::Status validateConnectionSettings(const ConnectionSettings& settings);

/**
 * The libpq keyword/value connection string: host port user password dbname connect_timeout
 * sslmode [sslcert sslkey sslrootcert] [sslsni=0]. Values are single-quoted with `\` and `'`
 * escaped, so any password works.
 */
std::string connectionString(const ConnectionSettings& settings);

/** The same with the password replaced by ***** (for logs and error messages). */
std::string redactedConnectionString(const ConnectionSettings& settings);

using ConnectionPtr = std::unique_ptr<pqxx::connection>;

/**
 * Opens one connection, bounded by connectionTimeoutSeconds (libpq enforces at least 2 s for a
 * non-zero value). libpqxx's transparent reconnection is disabled: a broken connection stays
 * broken and its owner decides what to do. @return Unavailable "cannot connect to DB: ..." on
 * failure.
 */
absl::StatusOr<ConnectionPtr> openConnection(const ConnectionSettings& settings);

/**
 * True when an idle connection is known to be unusable: closed by libpqxx, or its socket has
 * pending input/EOF (an idle session never receives data unless the server is going away).
 * Never blocks.
 */
bool looksBroken(pqxx::connection& conn);

/**
 * Maps an exception thrown by libpqxx (or anything else) to the store's vocabulary:
 * broken connection, admin shutdown, too many connections, statement timeout → Unavailable;
 * unique violation → AlreadyExists; foreign key violation → NotFound; data too long or invalid
 * input → InvalidArgument; serialization failure/deadlock → Aborted; in-doubt commit → Unknown;
 * other SQL errors → Internal. `context` prefixes the message.
 */
absl::Status statusFromException(const std::exception& e, std::string_view context);

/** True for statuses that mean "the connection is gone" (it must not go back to a pool). */
bool isConnectionLoss(const std::exception& e);

}  // namespace kuma::store::postgres
