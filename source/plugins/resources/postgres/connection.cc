#include "source/plugins/resources/postgres/connection.h"

#include <poll.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "pqxx/except"
#include "source/common/absl_compat.h"
#include "source/core/config/config.h"

namespace kuma::store::postgres {
namespace {

using common::av;

std::string quoteValue(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  out += '\'';
  return out;
}

const char* sslMode(TlsMode mode) {
  switch (mode) {
    case TlsMode::Disable:
      return "disable";
    case TlsMode::VerifyNone:
      return "require";
    case TlsMode::VerifyCa:
      return "verify-ca";
    case TlsMode::VerifyFull:
      return "verify-full";
  }
  return "disable";
}

std::string buildConnectionString(const ConnectionSettings& s, bool redact) {
  std::string out = absl::StrCat(
      "host=", quoteValue(s.host), " port=", s.port, " user=", quoteValue(s.user),
      " password=", redact ? std::string("*****") : quoteValue(s.password),
      " dbname=", quoteValue(s.dbName), " connect_timeout=", s.connectionTimeoutSeconds,
      " sslmode=", sslMode(s.tlsMode));
  if (!s.certPath.empty()) {
    absl::StrAppend(&out, " sslcert=", quoteValue(s.certPath));
  }
  if (!s.keyPath.empty()) {
    absl::StrAppend(&out, " sslkey=", quoteValue(s.keyPath));
  }
  if (!s.caPath.empty()) {
    absl::StrAppend(&out, " sslrootcert=", quoteValue(s.caPath));
  }
  if (s.disableSslSni) {
    absl::StrAppend(&out, " sslsni=0");
  }
  // NOTICEs (e.g. "relation already exists, skipping") would otherwise go to stderr.
  std::string serverOptions = "-c client_min_messages=warning";
  if (s.statementTimeout > absl::ZeroDuration()) {
    absl::StrAppend(&serverOptions,
                    " -c statement_timeout=", absl::ToInt64Milliseconds(s.statementTimeout));
  }
  absl::StrAppend(&out, " options=", quoteValue(serverOptions));
  return out;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

absl::StatusOr<TlsMode> parseTlsMode(std::string_view mode) {
  if (mode == "disable" || mode.empty()) {
    return TlsMode::Disable;
  }
  if (mode == "verifyNone") {
    return TlsMode::VerifyNone;
  }
  if (mode == "verifyCa") {
    return TlsMode::VerifyCa;
  }
  if (mode == "verifyFull") {
    return TlsMode::VerifyFull;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("store.postgres.tls.mode: unknown mode \"", av(mode),
                   "\" (expected disable, verifyNone, verifyCa or verifyFull)"));
}

absl::Status validateConnectionSettings(const ConnectionSettings& s) {
  if (s.host.empty()) {
    return absl::InvalidArgumentError("store.postgres.host must not be empty");
  }
  if (s.port < 0 || s.port > 65535) {
    return absl::InvalidArgumentError("store.postgres.port must be in the range [0, 65535]");
  }
  if (s.user.empty()) {
    return absl::InvalidArgumentError("store.postgres.user must not be empty");
  }
  if (s.password.empty()) {
    return absl::InvalidArgumentError("store.postgres.password must not be empty");
  }
  if (s.dbName.empty()) {
    return absl::InvalidArgumentError("store.postgres.dbName must not be empty");
  }
  if (s.connectionTimeoutSeconds < 0) {
    return absl::InvalidArgumentError("store.postgres.connectionTimeout must not be negative");
  }
  if ((s.tlsMode == TlsMode::VerifyCa || s.tlsMode == TlsMode::VerifyFull) && s.caPath.empty()) {
    return absl::InvalidArgumentError(
        "store.postgres.tls.caPath is required with tls.mode verifyCa and verifyFull");
  }
  if (s.certPath.empty() != s.keyPath.empty()) {
    return absl::InvalidArgumentError(
        "store.postgres.tls.certPath and tls.keyPath must be given together");
  }
  return absl::OkStatus();
}

absl::StatusOr<ConnectionSettings> connectionSettingsFromConfig(
    const config::PostgresStoreConfig& config) {
  ConnectionSettings s;
  s.host = config.host;
  s.port = config.port;
  s.user = config.user;
  s.password = config.password;
  s.dbName = config.dbName;
  s.connectionTimeoutSeconds = config.connectionTimeout;
  absl::StatusOr<TlsMode> mode = parseTlsMode(config.tls.mode);
  if (!mode.ok()) {
    return mode.status();
  }
  s.tlsMode = *mode;
  s.certPath = config.tls.certPath;
  s.keyPath = config.tls.keyPath;
  s.caPath = config.tls.caPath;
  s.disableSslSni = config.tls.disableSSLSNI;
  if (absl::Status status = validateConnectionSettings(s); !status.ok()) {
    return status;
  }
  return s;
}

std::string connectionString(const ConnectionSettings& settings) {
  return buildConnectionString(settings, false);
}

std::string redactedConnectionString(const ConnectionSettings& settings) {
  return buildConnectionString(settings, true);
}

absl::StatusOr<ConnectionPtr> openConnection(const ConnectionSettings& settings) {
  try {
    auto conn = std::make_unique<pqxx::connection>(connectionString(settings));
    // Deprecated in libpqxx 6 but still the only switch: without it libpqxx silently reconnects a
    // broken connection, hiding outages from the pool and dropping LISTEN registrations.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    return conn;
  } catch (const std::exception& e) {
    std::string message = e.what();
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
      message.pop_back();
    }
    return absl::UnavailableError(absl::StrCat("cannot connect to DB: ", message, " (",
                                               settings.host, ":", settings.port, ")"));
  }
}

bool looksBroken(pqxx::connection& conn) {
  if (!conn.is_open()) {
    return true;
  }
  const int fd = conn.sock();
  if (fd < 0) {
    return true;
  }
  pollfd p{};
  p.fd = fd;
  p.events = POLLIN;
  if (poll(&p, 1, 0) < 0) {
    return true;
  }
  return (p.revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

bool isConnectionLoss(const std::exception& e) {
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
    return true;
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    // Class 08 (connection exception), 57P01..57P03 (admin/crash shutdown, cannot connect now).
    return state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03";
  }
  return false;
}

absl::Status statusFromException(const std::exception& e, std::string_view context) {
  std::string message = e.what();
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
    message.pop_back();
  }
  const std::string text = absl::StrCat(av(context), ": ", message);
  if (isConnectionLoss(e)) {
    return absl::UnavailableError(absl::StrCat("store unavailable: ", text));
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return absl::UnknownError(absl::StrCat("commit outcome unknown: ", text));
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    if (state == "23505") {
      return absl::AlreadyExistsError(text);
    }
    if (state == "23503") {
      return absl::NotFoundError(text);
    }
    if (state.rfind("22", 0) == 0) {  // data exception: value too long, bad input syntax...
      return absl::InvalidArgumentError(text);
    }
    if (state == "40001" || state == "40P01") {
      return absl::AbortedError(text);
    }
    if (state == "57014" || state == "53300" || state == "55P03") {
      // statement timeout / too many connections / lock not available: transient.
      return absl::UnavailableError(absl::StrCat("store unavailable: ", text));
    }
    return absl::InternalError(text);
  }
  if (dynamic_cast<const pqxx::failure*>(&e) != nullptr && contains(message, "connection")) {
    return absl::UnavailableError(absl::StrCat("store unavailable: ", text));
  }
  return absl::InternalError(text);
}

}  // namespace kuma::store::postgres
