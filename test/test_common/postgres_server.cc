#include "test/test_common/postgres_server.h"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pqxx/pqxx"
#include "test/test_common/process.h"

namespace kuma::test {
namespace {

constexpr char kSuperuser[] = "postgres";
constexpr char kSuperuserPassword[] = "postgres";

bool isExecutable(const std::string& path) {
  return access(path.c_str(), X_OK) == 0;
}

/** Runs `binary args` as the postgres OS user when we are root (initdb/pg_ctl refuse root). */
ExitResult runAsPostgres(const std::string& binary, const std::vector<std::string>& args,
                         std::chrono::seconds timeout) {
  if (geteuid() != 0) {
    return runToExit(binary, args, {}, timeout);
  }
  std::vector<std::string> full = {"-u", "postgres", "--", binary};
  full.insert(full.end(), args.begin(), args.end());
  return runToExit("/usr/sbin/runuser", full, {}, timeout);
}

absl::Status chownToPostgres(const std::string& path) {
  if (geteuid() != 0) {
    return absl::OkStatus();
  }
  const passwd* pw = getpwnam("postgres");
  if (pw == nullptr) {
    return absl::FailedPreconditionError(
        "running as root but there is no `postgres` OS user to run the server as "
        "(install the postgresql package: tools/setup.sh)");
  }
  if (chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    return absl::InternalError(absl::StrCat("chown postgres ", path, " failed"));
  }
  return absl::OkStatus();
}

std::string quoteLiteral(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "'";
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::launch(Options options) {
  for (const char* tool : {"initdb", "pg_ctl", "postgres"}) {
    const std::string path = options.binDir + "/" + tool;
    if (!isExecutable(path)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "PostgreSQL server binary ", path,
          " is missing: install PostgreSQL 15 (Debian package `postgresql`, see tools/setup.sh)"));
    }
  }
  std::unique_ptr<PostgresServer> server(new PostgresServer(std::move(options)));
  server->rootDir_ = makeTempDir("kuma-pg");
  if (server->rootDir_.empty()) {
    return absl::InternalError("cannot create a temporary directory for PostgreSQL");
  }
  chmod(server->rootDir_.c_str(), 0755);
  server->dataDir_ = server->rootDir_ + "/data";
  if (absl::Status s = chownToPostgres(server->rootDir_); !s.ok()) {
    return s;
  }
  const std::string pwfile = server->rootDir_ + "/pwfile";
  {
    std::ofstream out(pwfile);
    out << kSuperuserPassword << "\n";
  }
  if (absl::Status s = chownToPostgres(pwfile); !s.ok()) {
    return s;
  }
  // Password authentication on TCP (so the store's password really matters), trust on the
  // server's private unix socket only.
  ExitResult init = runAsPostgres(
      server->options_.binDir + "/initdb",
      {"-D", server->dataDir_, "-U", kSuperuser, "--pwfile=" + pwfile, "--auth-host=scram-sha-256",
       "--auth-local=trust", "-E", "UTF8", "--locale=C", "--no-sync"},
      std::chrono::seconds(60));
  if (init.exitCode != 0) {
    return absl::InternalError(
        absl::StrCat("initdb failed (exit ", init.exitCode, "): ", init.output));
  }
  server->port_ = freePort();
  if (absl::Status s = server->start(); !s.ok()) {
    return s;
  }
  const std::string& user = server->options_.user;
  absl::StatusOr<std::vector<std::string>> made =
      server->superuserQuery(absl::StrCat("CREATE ROLE \"", user, "\" LOGIN CREATEDB PASSWORD ",
                                          quoteLiteral(server->options_.password)),
                             "postgres");
  if (!made.ok()) {
    return made.status();
  }
  if (absl::Status s = server->createDatabase(server->options_.dbName); !s.ok()) {
    return s;
  }
  return server;
}

PostgresServer::~PostgresServer() {
  if (running_) {
    (void)runPgCtl({"stop", "-m", "immediate"}, 30);
  }
  if (!rootDir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(rootDir_, ignored);
  }
}

absl::Status PostgresServer::runPgCtl(const std::vector<std::string>& args,
                                      int timeoutSeconds) const {
  std::vector<std::string> full = {"-D", dataDir_, "-w", "-t", std::to_string(timeoutSeconds)};
  full.insert(full.end(), args.begin(), args.end());
  ExitResult result =
      runAsPostgres(options_.binDir + "/pg_ctl", full, std::chrono::seconds(timeoutSeconds + 10));
  if (result.exitCode != 0) {
    return absl::InternalError(absl::StrCat("pg_ctl ", absl::StrJoin(args, " "), " failed (exit ",
                                            result.exitCode, "): ", result.output,
                                            "\nserver log:\n", serverLog()));
  }
  return absl::OkStatus();
}

std::string PostgresServer::serverLog() const {
  std::ifstream in(rootDir_ + "/server.log");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

absl::Status PostgresServer::start() {
  if (running_) {
    return absl::OkStatus();
  }
  const std::string serverOptions =
      absl::StrCat("-p ", port_, " -k ", rootDir_, " -c listen_addresses=", host_,
                   " -c max_connections=", options_.maxConnections,
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
  absl::Status status =
      runPgCtl({"-l", rootDir_ + "/server.log", "-o", serverOptions, "start"}, 30);
  if (!status.ok()) {
    return status;
  }
  running_ = true;
  return absl::OkStatus();
}

absl::Status PostgresServer::stop() {
  if (!running_) {
    return absl::OkStatus();
  }
  absl::Status status = runPgCtl({"stop", "-m", "fast"}, 30);
  if (status.ok()) {
    running_ = false;
  }
  return status;
}

std::string PostgresServer::connectionString(const std::string& database) const {
  return absl::StrCat("host=", host_, " port=", port_, " user=", options_.user,
                      " password=", quoteLiteral(options_.password),
                      " dbname=", database.empty() ? options_.dbName : database,
                      " connect_timeout=5 sslmode=disable");
}

std::string PostgresServer::superuserConnectionString(const std::string& database) const {
  return absl::StrCat("host=", host_, " port=", port_, " user=", kSuperuser,
                      " password=", kSuperuserPassword,
                      " dbname=", database.empty() ? options_.dbName : database,
                      " connect_timeout=5 sslmode=disable");
}

absl::StatusOr<std::vector<std::string>> PostgresServer::superuserQuery(
    const std::string& sql, const std::string& database) const {
  try {
    pqxx::connection conn(superuserConnectionString(database));
    pqxx::nontransaction tx(conn);
    pqxx::result result = tx.exec(sql);
    std::vector<std::string> rows;
    for (const pqxx::row& row : result) {
      std::vector<std::string> fields;
      for (const pqxx::field& field : row) {
        fields.push_back(field.is_null() ? "NULL" : field.c_str());
      }
      rows.push_back(absl::StrJoin(fields, "\t"));
    }
    return rows;
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("query `", sql, "` failed: ", e.what()));
  }
}

absl::Status PostgresServer::createDatabase(const std::string& name) const {
  absl::StatusOr<std::vector<std::string>> made = superuserQuery(
      absl::StrCat("CREATE DATABASE \"", name, "\" OWNER \"", options_.user, "\""), "postgres");
  return made.status();
}

}  // namespace kuma::test
