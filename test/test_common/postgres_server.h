#pragma once

// File: postgres_server.h
// A throwaway PostgreSQL server for tests: its own data directory, its own loopback port, a
// database and a password-authenticated role, and everything removed again at destruction.
//
//   auto server = kuma::test::PostgresServer::launch();
//   ASSERT_TRUE(server.ok()) << server.status();   // clear failure when binaries are missing
//   settings.port = (*server)->port();
//   ASSERT_TRUE((*server)->stop().ok());           // simulate an outage...
//   ASSERT_TRUE((*server)->start().ok());          // ...and bring it back on the same port
//
// The server runs as the `postgres` OS user when the test runs as root (initdb and pg_ctl
// refuse root). Every wait is bounded.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kuma::test {

class PostgresServer {
 public:
  struct Options {
    /** Where initdb/pg_ctl/postgres live. */
    std::string binDir = "/usr/lib/postgresql/15/bin";
    /** Database created for the tests, owned by `user`. */
    std::string dbName = "kuma";
    /** Role created with LOGIN and CREATEDB, authenticated by password (scram-sha-256). */
    std::string user = "kuma";
    std::string password = "kuma";
    int maxConnections = 200;
  };

  /** initdb + start + create role and database. FailedPrecondition when binaries are missing. */
  static absl::StatusOr<std::unique_ptr<PostgresServer>> launch(Options options);
  static absl::StatusOr<std::unique_ptr<PostgresServer>> launch() { return launch(Options{}); }

  /** Stops the server (immediate shutdown) and removes the data directory. */
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  /** Stops the server (fast shutdown: clients are disconnected). Data is kept. */
  absl::Status stop();
  /** Starts it again on the same port (after stop()). */
  absl::Status start();
  bool running() const { return running_; }

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  const std::string& dbName() const { return options_.dbName; }
  const std::string& user() const { return options_.user; }
  const std::string& password() const { return options_.password; }
  const std::string& dataDir() const { return dataDir_; }

  /** A libpq keyword connection string for `database` (default: dbName) as `user`. */
  std::string connectionString(const std::string& database = "") const;
  /** The same as the superuser `postgres` (for pg_stat_activity, pg_terminate_backend...). */
  std::string superuserConnectionString(const std::string& database = "") const;

  /** Runs SQL as superuser on `database` (default: dbName). @return rows as text, tab-joined. */
  absl::StatusOr<std::vector<std::string>> superuserQuery(const std::string& sql,
                                                          const std::string& database = "") const;
  /** Creates another empty database owned by `user`. */
  absl::Status createDatabase(const std::string& name) const;

 private:
  explicit PostgresServer(Options options) : options_(std::move(options)) {}
  absl::Status runPgCtl(const std::vector<std::string>& args, int timeoutSeconds) const;
  std::string serverLog() const;

  Options options_;
  std::string rootDir_;
  std::string dataDir_;
  std::string host_ = "127.0.0.1";
  uint16_t port_ = 0;
  bool running_ = false;
};

}  // namespace kuma::test
