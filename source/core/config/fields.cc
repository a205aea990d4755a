#include "source/core/config/fields.h"

#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "source/common/absl_compat.h"
#include "source/common/go_duration.h"

namespace kuma::config {
namespace {

using common::av;

// ---------------------------------------------------------------------------------------------
// Go-compatible scalar parsing (strconv / envconfig).
// ---------------------------------------------------------------------------------------------

absl::StatusOr<bool> parseGoBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") {
    return true;
  }
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False") {
    return false;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("strconv.ParseBool: parsing \"", av(s), "\": invalid syntax"));
}

template <typename T>
constexpr std::string_view goTypeName() {
  if constexpr (std::is_same_v<T, int32_t>) {
    return "int32";
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return "int64";
  } else {
    return "uint32";
  }
}

// strconv.ParseInt / ParseUint with base 0: optional sign (signed only), 0x / 0o / 0b / leading-0
// octal prefixes, range-checked against T.
template <typename T>
absl::StatusOr<T> parseGoInteger(std::string_view text) {
  constexpr bool kSigned = std::is_signed_v<T>;
  const std::string fn = kSigned ? "strconv.ParseInt" : "strconv.ParseUint";
  auto syntax = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(fn, ": parsing \"", av(text), "\": invalid syntax"));
  };
  auto range = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(fn, ": parsing \"", av(text), "\": value out of range"));
  };
  std::string_view s = text;
  bool negative = false;
  if (kSigned && !s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) {
    return syntax();
  }
  uint64_t base = 10;
  if (s.size() > 1 && s[0] == '0') {
    const char p = static_cast<char>(absl::ascii_tolower(s[1]));
    if (p == 'x') {
      base = 16;
      s.remove_prefix(2);
    } else if (p == 'o') {
      base = 8;
      s.remove_prefix(2);
    } else if (p == 'b') {
      base = 2;
      s.remove_prefix(2);
    } else {
      base = 8;
      s.remove_prefix(1);
    }
    if (s.empty()) {
      return syntax();
    }
  }
  uint64_t value = 0;
  bool overflow = false;
  for (char c : s) {
    uint64_t digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'z') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'Z') {
      digit = c - 'A' + 10;
    } else {
      return syntax();
    }
    if (digit >= base) {
      return syntax();
    }
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / base) {
      overflow = true;
    } else {
      value = value * base + digit;
    }
  }
  if (overflow) {
    return range();
  }
  if constexpr (kSigned) {
    const uint64_t limit = negative ? static_cast<uint64_t>(std::numeric_limits<T>::max()) + 1
                                    : static_cast<uint64_t>(std::numeric_limits<T>::max());
    if (value > limit) {
      return range();
    }
    return negative ? static_cast<T>(-static_cast<int64_t>(value - 1) - 1) : static_cast<T>(value);
  } else {
    if (value > std::numeric_limits<T>::max()) {
      return range();
    }
    return static_cast<T>(value);
  }
}

// A JSON number (from YAML) into an integer member, as encoding/json does: no fractions, no
// strings, range-checked.
template <typename T>
absl::StatusOr<T> jsonToInteger(const nlohmann::json& v) {
  auto cannot = [&](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat("cannot unmarshal ", av(what),
                                                   " into Go value of type ", av(goTypeName<T>())));
  };
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      return cannot(absl::StrCat("number ", u));
    }
    return static_cast<T>(u);
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    if constexpr (std::is_signed_v<T>) {
      if (i < std::numeric_limits<T>::min() || i > std::numeric_limits<T>::max()) {
        return cannot(absl::StrCat("number ", i));
      }
    } else {
      if (i < 0 || static_cast<uint64_t>(i) > std::numeric_limits<T>::max()) {
        return cannot(absl::StrCat("number ", i));
      }
    }
    return static_cast<T>(i);
  }
  if (v.is_number_float()) {
    return cannot(absl::StrCat("number ", v.dump()));
  }
  return cannot(v.type_name());
}

// sigs.k8s.io/yaml converts YAML scalars to strings when the target is a string.
absl::StatusOr<std::string> jsonToString(const nlohmann::json& v) {
  if (v.is_string()) {
    return v.get<std::string>();
  }
  if (v.is_null()) {
    return std::string();
  }
  if (v.is_boolean() || v.is_number()) {
    return v.dump();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("cannot unmarshal ", v.type_name(), " into Go value of type string"));
}

absl::StatusOr<Duration> jsonToDuration(const nlohmann::json& v) {
  if (v.is_string()) {
    return common::parseGoDuration(v.get_ref<const std::string&>());
  }
  if (v.is_number_integer()) {
    return Duration(v.get<int64_t>());
  }
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::InvalidArgumentError("invalid duration");
    }
    return Duration(static_cast<int64_t>(u));
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) {
      return absl::InvalidArgumentError("invalid duration");
    }
    return Duration(static_cast<int64_t>(d));
  }
  return absl::InvalidArgumentError("invalid duration");
}

// envconfig: an empty (or blank) value is an empty list; elements are not trimmed.
std::vector<std::string> splitEnvList(std::string_view value) {
  if (absl::StripAsciiWhitespace(av(value)).empty()) {
    return {};
  }
  return absl::StrSplit(av(value), ',');
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(av(a), av(b));
}

// ---------------------------------------------------------------------------------------------
// Table construction.
// ---------------------------------------------------------------------------------------------

template <typename T>
constexpr FieldKind kindOf() {
  if constexpr (std::is_same_v<T, std::string>) {
    return FieldKind::String;
  } else if constexpr (std::is_same_v<T, bool>) {
    return FieldKind::Bool;
  } else if constexpr (std::is_integral_v<T>) {
    return FieldKind::Integer;
  } else if constexpr (std::is_same_v<T, Duration>) {
    return FieldKind::Duration;
  } else if constexpr (std::is_same_v<T, StringList>) {
    return FieldKind::StringList;
  } else if constexpr (std::is_same_v<T, StringMap>) {
    return FieldKind::StringMap;
  } else if constexpr (std::is_same_v<T, PortList>) {
    return FieldKind::PortList;
  } else {
    static_assert(std::is_same_v<T, PublicKeyList>, "unsupported config field type");
    return FieldKind::PublicKeys;
  }
}

template <typename Mut, typename Const>
FieldDescriptor makeField(std::string path, std::string env, Mut mut, Const cnst) {
  using Ptr = decltype(mut(std::declval<KumaCpConfig&>()));
  using T = std::remove_pointer_t<Ptr>;
  FieldDescriptor f;
  f.path = std::move(path);
  f.envVar = std::move(env);
  f.kind = kindOf<T>();
  f.ref = [mut](KumaCpConfig& c) -> FieldRef { return mut(c); };
  f.cref = [cnst](const KumaCpConfig& c) -> ConstFieldRef { return cnst(c); };
  return f;
}

FieldDescriptor secret(FieldDescriptor f) {
  f.sensitive = true;
  return f;
}

// F(path, env, member): one leaf. `member` is the expression below KumaCpConfig.
#define F(path, env, member)                                \
  makeField(                                                \
      path, env, [](KumaCpConfig& c) { return &c.member; }, \
      [](const KumaCpConfig& c) { return &c.member; })

std::vector<FieldDescriptor> buildTable() {
  std::vector<FieldDescriptor> t;
  t.reserve(320);
  auto add = [&t](FieldDescriptor f) { t.push_back(std::move(f)); };

  add(F("environment", "KUMA_ENVIRONMENT", environment));
  add(F("mode", "KUMA_MODE", mode));

  // store
  add(F("store.type", "KUMA_STORE_TYPE", store.type));
  add(F("store.kubernetes.systemNamespace", "KUMA_STORE_KUBERNETES_SYSTEM_NAMESPACE",
        store.kubernetes.systemNamespace));
  add(F("store.postgres.host", "KUMA_STORE_POSTGRES_HOST", store.postgres.host));
  add(F("store.postgres.port", "KUMA_STORE_POSTGRES_PORT", store.postgres.port));
  add(F("store.postgres.user", "KUMA_STORE_POSTGRES_USER", store.postgres.user));
  add(secret(
      F("store.postgres.password", "KUMA_STORE_POSTGRES_PASSWORD", store.postgres.password)));
  add(F("store.postgres.dbName", "KUMA_STORE_POSTGRES_DB_NAME", store.postgres.dbName));
  add(F("store.postgres.driverName", "KUMA_STORE_POSTGRES_DRIVER_NAME", store.postgres.driverName));
  add(F("store.postgres.connectionTimeout", "KUMA_STORE_POSTGRES_CONNECTION_TIMEOUT",
        store.postgres.connectionTimeout));
  add(F("store.postgres.maxConnectionIdleTime", "KUMA_STORE_POSTGRES_MAX_CONNECTION_IDLE_TIME",
        store.postgres.maxConnectionIdleTime));
  add(F("store.postgres.maxConnectionLifetime", "KUMA_STORE_POSTGRES_MAX_CONNECTION_LIFETIME",
        store.postgres.maxConnectionLifetime));
  add(F("store.postgres.maxConnectionLifetimeJitter",
        "KUMA_STORE_POSTGRES_MAX_CONNECTION_LIFETIME_JITTER",
        store.postgres.maxConnectionLifetimeJitter));
  add(F("store.postgres.healthCheckInterval", "KUMA_STORE_POSTGRES_HEALTH_CHECK_INTERVAL",
        store.postgres.healthCheckInterval));
  add(F("store.postgres.minOpenConnections", "KUMA_STORE_POSTGRES_MIN_OPEN_CONNECTIONS",
        store.postgres.minOpenConnections));
  add(F("store.postgres.maxOpenConnections", "KUMA_STORE_POSTGRES_MAX_OPEN_CONNECTIONS",
        store.postgres.maxOpenConnections));
  add(F("store.postgres.maxIdleConnections", "KUMA_STORE_POSTGRES_MAX_IDLE_CONNECTIONS",
        store.postgres.maxIdleConnections));
  add(F("store.postgres.maxListQueryElements", "KUMA_STORE_POSTGRES_MAX_LIST_QUERY_ELEMENTS",
        store.postgres.maxListQueryElements));
  add(F("store.postgres.tls.mode", "KUMA_STORE_POSTGRES_TLS_MODE", store.postgres.tls.mode));
  add(F("store.postgres.tls.certPath", "KUMA_STORE_POSTGRES_TLS_CERT_PATH",
        store.postgres.tls.certPath));
  add(F("store.postgres.tls.keyPath", "KUMA_STORE_POSTGRES_TLS_KEY_PATH",
        store.postgres.tls.keyPath));
  // The defaults YAML comment says KUMA_STORE_POSTGRES_TLS_ROOT_CERT_PATH; the code reads this.
  add(F("store.postgres.tls.caPath", "KUMA_STORE_POSTGRES_TLS_CA_PATH", store.postgres.tls.caPath));
  add(F("store.postgres.tls.disableSSLSNI", "KUMA_STORE_POSTGRES_TLS_DISABLE_SSLSNI",
        store.postgres.tls.disableSSLSNI));
  add(F("store.postgres.tolerateNewerDBVersions", "KUMA_STORE_POSTGRES_TOLERATE_NEWER_DB_VERSIONS",
        store.postgres.tolerateNewerDBVersions));
  add(F("store.postgres.readReplica.host", "KUMA_STORE_POSTGRES_READ_REPLICA_HOST",
        store.postgres.readReplica.host));
  add(F("store.postgres.readReplica.port", "KUMA_STORE_POSTGRES_READ_REPLICA_PORT",
        store.postgres.readReplica.port));
  add(F("store.postgres.readReplica.ratio", "KUMA_STORE_POSTGRES_READ_REPLICA_RATIO",
        store.postgres.readReplica.ratio));
  add(F("store.cache.enabled", "KUMA_STORE_CACHE_ENABLED", store.cache.enabled));
  add(F("store.cache.expirationTime", "KUMA_STORE_CACHE_EXPIRATION_TIME",
        store.cache.expirationTime));
  add(F("store.upsert.conflictRetryBaseBackoff", "KUMA_STORE_UPSERT_CONFLICT_RETRY_BASE_BACKOFF",
        store.upsert.conflictRetryBaseBackoff));
  add(F("store.upsert.conflictRetryMaxTimes", "KUMA_STORE_UPSERT_CONFLICT_RETRY_MAX_TIMES",
        store.upsert.conflictRetryMaxTimes));
  add(F("store.upsert.conflictRetryJitterPercent",
        "KUMA_STORE_UPSERT_CONFLICT_RETRY_JITTER_PERCENT",
        store.upsert.conflictRetryJitterPercent));
  add(F("store.unsafeDelete", "KUMA_STORE_UNSAFE_DELETE", store.unsafeDelete));

  // bootstrapServer
  add(F("bootstrapServer.params.adminAddress", "KUMA_BOOTSTRAP_SERVER_PARAMS_ADMIN_ADDRESS",
        bootstrapServer.params.adminAddress));
  add(F("bootstrapServer.params.adminPort", "KUMA_BOOTSTRAP_SERVER_PARAMS_ADMIN_PORT",
        bootstrapServer.params.adminPort));
  add(F("bootstrapServer.params.envoyAdminUnixSocket",
        "KUMA_BOOTSTRAP_SERVER_PARAMS_ENVOY_ADMIN_UNIX_SOCKET",
        bootstrapServer.params.envoyAdminUnixSocket));
  add(F("bootstrapServer.params.readinessPort", "KUMA_BOOTSTRAP_SERVER_PARAMS_READINESS_PORT",
        bootstrapServer.params.readinessPort));
  add(F("bootstrapServer.params.adminAccessLogPath",
        "KUMA_BOOTSTRAP_SERVER_PARAMS_ADMIN_ACCESS_LOG_PATH",
        bootstrapServer.params.adminAccessLogPath));
  add(F("bootstrapServer.params.xdsHost", "KUMA_BOOTSTRAP_SERVER_PARAMS_XDS_HOST",
        bootstrapServer.params.xdsHost));
  add(F("bootstrapServer.params.xdsPort", "KUMA_BOOTSTRAP_SERVER_PARAMS_XDS_PORT",
        bootstrapServer.params.xdsPort));
  add(F("bootstrapServer.params.xdsConnectTimeout",
        "KUMA_BOOTSTRAP_SERVER_PARAMS_XDS_CONNECT_TIMEOUT",
        bootstrapServer.params.xdsConnectTimeout));
  add(F("bootstrapServer.params.xdsGrpcMaxReceiveMessageBytes",
        "KUMA_BOOTSTRAP_SERVER_PARAMS_XDS_GRPC_MAX_RECEIVE_MESSAGE_BYTES",
        bootstrapServer.params.xdsGrpcMaxReceiveMessageBytes));
  add(F("bootstrapServer.params.corefileTemplatePath",
        "KUMA_BOOTSTRAP_SERVER_PARAMS_COREFILE_TEMPLATE_PATH",
        bootstrapServer.params.corefileTemplatePath));

  // monitoringAssignmentServer
  add(F("monitoringAssignmentServer.enabled", "KUMA_MONITORING_ASSIGNMENT_SERVER_ENABLED",
        monitoringAssignmentServer.enabled));
  add(F("monitoringAssignmentServer.port", "KUMA_MONITORING_ASSIGNMENT_SERVER_PORT",
        monitoringAssignmentServer.port));
  add(F("monitoringAssignmentServer.apiVersions", "KUMA_MONITORING_ASSIGNMENT_SERVER_API_VERSIONS",
        monitoringAssignmentServer.apiVersions));
  add(F("monitoringAssignmentServer.assignmentRefreshInterval",
        "KUMA_MONITORING_ASSIGNMENT_SERVER_ASSIGNMENT_REFRESH_INTERVAL",
        monitoringAssignmentServer.assignmentRefreshInterval));
  add(F("monitoringAssignmentServer.defaultFetchTimeout",
        "KUMA_MONITORING_ASSIGNMENT_SERVER_DEFAULT_FETCH_TIMEOUT",
        monitoringAssignmentServer.defaultFetchTimeout));
  add(F("monitoringAssignmentServer.tlsCertFile", "KUMA_MONITORING_ASSIGNMENT_SERVER_TLS_CERT_FILE",
        monitoringAssignmentServer.tlsCertFile));
  add(F("monitoringAssignmentServer.tlsKeyFile", "KUMA_MONITORING_ASSIGNMENT_SERVER_TLS_KEY_FILE",
        monitoringAssignmentServer.tlsKeyFile));
  add(F("monitoringAssignmentServer.tlsMinVersion",
        "KUMA_MONITORING_ASSIGNMENT_SERVER_TLS_MIN_VERSION",
        monitoringAssignmentServer.tlsMinVersion));
  add(F("monitoringAssignmentServer.tlsMaxVersion",
        "KUMA_MONITORING_ASSIGNMENT_SERVER_TLS_MAX_VERSION",
        monitoringAssignmentServer.tlsMaxVersion));
  add(F("monitoringAssignmentServer.tlsCipherSuites",
        "KUMA_MONITORING_ASSIGNMENT_SERVER_TLS_CIPHER_SUITES",
        monitoringAssignmentServer.tlsCipherSuites));

  // xdsServer
  add(F("xdsServer.dataplaneConfigurationRefreshInterval",
        "KUMA_XDS_SERVER_DATAPLANE_CONFIGURATION_REFRESH_INTERVAL",
        xdsServer.dataplaneConfigurationRefreshInterval));
  add(F("xdsServer.dataplaneStatusFlushInterval", "KUMA_XDS_SERVER_DATAPLANE_STATUS_FLUSH_INTERVAL",
        xdsServer.dataplaneStatusFlushInterval));
  add(F("xdsServer.nackBackoff", "KUMA_XDS_SERVER_NACK_BACKOFF", xdsServer.nackBackoff));
  add(F("xdsServer.dataplaneDeregistrationDelay", "KUMA_XDS_DATAPLANE_DEREGISTRATION_DELAY",
        xdsServer.dataplaneDeregistrationDelay));

  // apiServer
  add(F("apiServer.http.enabled", "KUMA_API_SERVER_HTTP_ENABLED", apiServer.http.enabled));
  add(F("apiServer.http.interface", "KUMA_API_SERVER_HTTP_INTERFACE", apiServer.http.interface));
  add(F("apiServer.http.port", "KUMA_API_SERVER_HTTP_PORT", apiServer.http.port));
  add(F("apiServer.https.enabled", "KUMA_API_SERVER_HTTPS_ENABLED", apiServer.https.enabled));
  add(F("apiServer.https.interface", "KUMA_API_SERVER_HTTPS_INTERFACE", apiServer.https.interface));
  add(F("apiServer.https.port", "KUMA_API_SERVER_HTTPS_PORT", apiServer.https.port));
  add(F("apiServer.https.tlsCertFile", "KUMA_API_SERVER_HTTPS_TLS_CERT_FILE",
        apiServer.https.tlsCertFile));
  add(F("apiServer.https.tlsKeyFile", "KUMA_API_SERVER_HTTPS_TLS_KEY_FILE",
        apiServer.https.tlsKeyFile));
  // The defaults YAML comment says KUMA_API_SERVER_HTTPS_CLIENT_CERTS_CA_FILE; the code reads this.
  add(F("apiServer.https.tlsCaFile", "KUMA_API_SERVER_HTTPS_TLS_CA_FILE",
        apiServer.https.tlsCaFile));
  add(F("apiServer.https.tlsMinVersion", "KUMA_API_SERVER_HTTPS_TLS_MIN_VERSION",
        apiServer.https.tlsMinVersion));
  add(F("apiServer.https.tlsMaxVersion", "KUMA_API_SERVER_HTTPS_TLS_MAX_VERSION",
        apiServer.https.tlsMaxVersion));
  add(F("apiServer.https.tlsCipherSuites", "KUMA_API_SERVER_HTTPS_TLS_CIPHER_SUITES",
        apiServer.https.tlsCipherSuites));
  add(F("apiServer.https.requireClientCert", "KUMA_API_SERVER_HTTPS_REQUIRE_CLIENT_CERT",
        apiServer.https.requireClientCert));
  add(F("apiServer.auth.clientCertsDir", "KUMA_API_SERVER_AUTH_CLIENT_CERTS_DIR",
        apiServer.auth.clientCertsDir));
  add(F("apiServer.authn.type", "KUMA_API_SERVER_AUTHN_TYPE", apiServer.authn.type));
  add(F("apiServer.authn.localhostIsAdmin", "KUMA_API_SERVER_AUTHN_LOCALHOST_IS_ADMIN",
        apiServer.authn.localhostIsAdmin));
  add(F("apiServer.authn.tokens.bootstrapAdminToken",
        "KUMA_API_SERVER_AUTHN_TOKENS_BOOTSTRAP_ADMIN_TOKEN",
        apiServer.authn.tokens.bootstrapAdminToken));
  add(F("apiServer.authn.tokens.enableIssuer", "KUMA_API_SERVER_AUTHN_TOKENS_ENABLE_ISSUER",
        apiServer.authn.tokens.enableIssuer));
  add(F("apiServer.authn.tokens.validator.useSecrets",
        "KUMA_API_SERVER_AUTHN_TOKENS_VALIDATOR_USE_SECRETS",
        apiServer.authn.tokens.validator.useSecrets));
  add(F("apiServer.authn.tokens.validator.publicKeys", "",
        apiServer.authn.tokens.validator.publicKeys));
  add(F("apiServer.readOnly", "KUMA_API_SERVER_READ_ONLY", apiServer.readOnly));
  add(F("apiServer.corsAllowedDomains", "KUMA_API_SERVER_CORS_ALLOWED_DOMAINS",
        apiServer.corsAllowedDomains));
  add(F("apiServer.rootUrl", "KUMA_API_SERVER_ROOT_URL", apiServer.rootUrl));
  add(F("apiServer.basePath", "KUMA_API_SERVER_BASE_PATH", apiServer.basePath));
  add(F("apiServer.gui.enabled", "KUMA_API_SERVER_GUI_ENABLED", apiServer.gui.enabled));
  add(F("apiServer.gui.rootUrl", "KUMA_API_SERVER_GUI_ROOT_URL", apiServer.gui.rootUrl));
  add(F("apiServer.gui.basePath", "KUMA_API_SERVER_GUI_BASE_PATH", apiServer.gui.basePath));
  add(F("apiServer.readHeaderTimeout", "KUMA_API_SERVER_READ_HEADER_TIMEOUT",
        apiServer.readHeaderTimeout));
  add(F("apiServer.readTimeout", "KUMA_API_SERVER_READ_TIMEOUT", apiServer.readTimeout));
  add(F("apiServer.writeTimeout", "KUMA_API_SERVER_WRITE_TIMEOUT", apiServer.writeTimeout));
  add(F("apiServer.idleTimeout", "KUMA_API_SERVER_IDLE_TIMEOUT", apiServer.idleTimeout));

  // runtime.kubernetes
  const std::string rk = "runtime.kubernetes.";
  const std::string rkEnv = "KUMA_RUNTIME_KUBERNETES_";
  add(F(rk + "controlPlaneServiceName", rkEnv + "CONTROL_PLANE_SERVICE_NAME",
        runtime.kubernetes.controlPlaneServiceName));
  add(F(rk + "nodeTaintController.enabled", rkEnv + "NODE_TAINT_CONTROLLER_ENABLED",
        runtime.kubernetes.nodeTaintController.enabled));
  add(F(rk + "nodeTaintController.cniApp", rkEnv + "NODE_TAINT_CONTROLLER_CNI_APP",
        runtime.kubernetes.nodeTaintController.cniApp));
  add(F(rk + "nodeTaintController.cniNamespace", rkEnv + "NODE_TAINT_CONTROLLER_CNI_NAMESPACE",
        runtime.kubernetes.nodeTaintController.cniNamespace));
  add(F(rk + "admissionServer.address", rkEnv + "ADMISSION_SERVER_ADDRESS",
        runtime.kubernetes.admissionServer.address));
  add(F(rk + "admissionServer.port", rkEnv + "ADMISSION_SERVER_PORT",
        runtime.kubernetes.admissionServer.port));
  add(F(rk + "admissionServer.certDir", rkEnv + "ADMISSION_SERVER_CERT_DIR",
        runtime.kubernetes.admissionServer.certDir));
  const std::string inj = rk + "injector.";
  const std::string injEnv = rkEnv + "INJECTOR_";
  add(F(inj + "cniEnabled", injEnv + "CNI_ENABLED", runtime.kubernetes.injector.cniEnabled));
  add(F(inj + "exceptions.labels", rkEnv + "EXCEPTIONS_LABELS",
        runtime.kubernetes.injector.exceptions.labels));
  add(F(inj + "virtualProbesEnabled", rkEnv + "VIRTUAL_PROBES_ENABLED",
        runtime.kubernetes.injector.virtualProbesEnabled));
  add(F(inj + "virtualProbesPort", rkEnv + "VIRTUAL_PROBES_PORT",
        runtime.kubernetes.injector.virtualProbesPort));
  add(F(inj + "applicationProbeProxyPort", rkEnv + "APPLICATION_PROBE_PROXY_PORT",
        runtime.kubernetes.injector.applicationProbeProxyPort));
  add(F(inj + "caCertFile", injEnv + "CA_CERT_FILE", runtime.kubernetes.injector.caCertFile));
  const std::string sc = inj + "sidecarContainer.";
  const std::string scEnv = injEnv + "SIDECAR_CONTAINER_";
  add(F(sc + "image", scEnv + "IMAGE", runtime.kubernetes.injector.sidecarContainer.image));
  add(F(sc + "redirectPortInbound", scEnv + "REDIRECT_PORT_INBOUND",
        runtime.kubernetes.injector.sidecarContainer.redirectPortInbound));
  add(F(sc + "ipFamilyMode", scEnv + "IP_FAMILY_MODE",
        runtime.kubernetes.injector.sidecarContainer.ipFamilyMode));
  add(F(sc + "redirectPortOutbound", scEnv + "REDIRECT_PORT_OUTBOUND",
        runtime.kubernetes.injector.sidecarContainer.redirectPortOutbound));
  add(F(sc + "uid", scEnv + "UID", runtime.kubernetes.injector.sidecarContainer.uid));
  // Kuma's tag really is ..._GUI (a typo kept for compatibility).
  add(F(sc + "gid", scEnv + "GUI", runtime.kubernetes.injector.sidecarContainer.gid));
  add(F(sc + "drainTime", scEnv + "DRAIN_TIME",
        runtime.kubernetes.injector.sidecarContainer.drainTime));
  add(F(sc + "readinessProbe.initialDelaySeconds", scEnv + "READINESS_PROBE_INITIAL_DELAY_SECONDS",
        runtime.kubernetes.injector.sidecarContainer.readinessProbe.initialDelaySeconds));
  add(F(sc + "readinessProbe.timeoutSeconds", scEnv + "READINESS_PROBE_TIMEOUT_SECONDS",
        runtime.kubernetes.injector.sidecarContainer.readinessProbe.timeoutSeconds));
  add(F(sc + "readinessProbe.periodSeconds", scEnv + "READINESS_PROBE_PERIOD_SECONDS",
        runtime.kubernetes.injector.sidecarContainer.readinessProbe.periodSeconds));
  add(F(sc + "readinessProbe.successThreshold", scEnv + "READINESS_PROBE_SUCCESS_THRESHOLD",
        runtime.kubernetes.injector.sidecarContainer.readinessProbe.successThreshold));
  add(F(sc + "readinessProbe.failureThreshold", scEnv + "READINESS_PROBE_FAILURE_THRESHOLD",
        runtime.kubernetes.injector.sidecarContainer.readinessProbe.failureThreshold));
  add(F(sc + "livenessProbe.initialDelaySeconds", scEnv + "LIVENESS_PROBE_INITIAL_DELAY_SECONDS",
        runtime.kubernetes.injector.sidecarContainer.livenessProbe.initialDelaySeconds));
  add(F(sc + "livenessProbe.timeoutSeconds", scEnv + "LIVENESS_PROBE_TIMEOUT_SECONDS",
        runtime.kubernetes.injector.sidecarContainer.livenessProbe.timeoutSeconds));
  add(F(sc + "livenessProbe.periodSeconds", scEnv + "LIVENESS_PROBE_PERIOD_SECONDS",
        runtime.kubernetes.injector.sidecarContainer.livenessProbe.periodSeconds));
  add(F(sc + "livenessProbe.failureThreshold", scEnv + "LIVENESS_PROBE_FAILURE_THRESHOLD",
        runtime.kubernetes.injector.sidecarContainer.livenessProbe.failureThreshold));
  add(F(sc + "startupProbe.initialDelaySeconds", scEnv + "STARTUP_PROBE_INITIAL_DELAY_SECONDS",
        runtime.kubernetes.injector.sidecarContainer.startupProbe.initialDelaySeconds));
  add(F(sc + "startupProbe.timeoutSeconds", scEnv + "STARTUP_PROBE_TIMEOUT_SECONDS",
        runtime.kubernetes.injector.sidecarContainer.startupProbe.timeoutSeconds));
  add(F(sc + "startupProbe.periodSeconds", scEnv + "STARTUP_PROBE_PERIOD_SECONDS",
        runtime.kubernetes.injector.sidecarContainer.startupProbe.periodSeconds));
  add(F(sc + "startupProbe.failureThreshold", scEnv + "STARTUP_PROBE_FAILURE_THRESHOLD",
        runtime.kubernetes.injector.sidecarContainer.startupProbe.failureThreshold));
  // Container resources use the shorter KUMA_INJECTOR_* prefix in Kuma.
  add(F(sc + "resources.requests.cpu", "KUMA_INJECTOR_SIDECAR_CONTAINER_RESOURCES_REQUESTS_CPU",
        runtime.kubernetes.injector.sidecarContainer.resources.requests.cpu));
  add(F(sc + "resources.requests.memory",
        "KUMA_INJECTOR_SIDECAR_CONTAINER_RESOURCES_REQUESTS_MEMORY",
        runtime.kubernetes.injector.sidecarContainer.resources.requests.memory));
  add(F(sc + "resources.limits.cpu", "KUMA_INJECTOR_SIDECAR_CONTAINER_RESOURCES_LIMITS_CPU",
        runtime.kubernetes.injector.sidecarContainer.resources.limits.cpu));
  add(F(sc + "resources.limits.memory", "KUMA_INJECTOR_SIDECAR_CONTAINER_RESOURCES_LIMITS_MEMORY",
        runtime.kubernetes.injector.sidecarContainer.resources.limits.memory));
  add(F(sc + "envVars", scEnv + "ENV_VARS", runtime.kubernetes.injector.sidecarContainer.envVars));
  add(F(sc + "waitForDataplaneReady", scEnv + "WAIT_FOR_DATAPLANE_READY",
        runtime.kubernetes.injector.sidecarContainer.waitForDataplaneReady));
  add(F(inj + "initContainer.image", "KUMA_INJECTOR_INIT_CONTAINER_IMAGE",
        runtime.kubernetes.injector.initContainer.image));
  add(F(inj + "initContainer.resources.requests.cpu",
        "KUMA_INJECTOR_INIT_CONTAINER_RESOURCES_REQUESTS_CPU",
        runtime.kubernetes.injector.initContainer.resources.requests.cpu));
  add(F(inj + "initContainer.resources.requests.memory",
        "KUMA_INJECTOR_INIT_CONTAINER_RESOURCES_REQUESTS_MEMORY",
        runtime.kubernetes.injector.initContainer.resources.requests.memory));
  add(F(inj + "initContainer.resources.limits.cpu",
        "KUMA_INJECTOR_INIT_CONTAINER_RESOURCES_LIMITS_CPU",
        runtime.kubernetes.injector.initContainer.resources.limits.cpu));
  add(F(inj + "initContainer.resources.limits.memory",
        "KUMA_INJECTOR_INIT_CONTAINER_RESOURCES_LIMITS_MEMORY",
        runtime.kubernetes.injector.initContainer.resources.limits.memory));
  add(F(inj + "validationContainer.resources.requests.cpu",
        "KUMA_INJECTOR_VALIDATION_CONTAINER_RESOURCES_REQUESTS_CPU",
        runtime.kubernetes.injector.validationContainer.resources.requests.cpu));
  add(F(inj + "validationContainer.resources.requests.memory",
        "KUMA_INJECTOR_VALIDATION_CONTAINER_RESOURCES_REQUESTS_MEMORY",
        runtime.kubernetes.injector.validationContainer.resources.requests.memory));
  add(F(inj + "validationContainer.resources.limits.cpu",
        "KUMA_INJECTOR_VALIDATION_CONTAINER_RESOURCES_LIMITS_CPU",
        runtime.kubernetes.injector.validationContainer.resources.limits.cpu));
  add(F(inj + "validationContainer.resources.limits.memory",
        "KUMA_INJECTOR_VALIDATION_CONTAINER_RESOURCES_LIMITS_MEMORY",
        runtime.kubernetes.injector.validationContainer.resources.limits.memory));
  add(F(inj + "containerPatches", injEnv + "CONTAINER_PATCHES",
        runtime.kubernetes.injector.containerPatches));
  add(F(inj + "sidecarTraffic.excludeInboundPorts", rkEnv + "SIDECAR_TRAFFIC_EXCLUDE_INBOUND_PORTS",
        runtime.kubernetes.injector.sidecarTraffic.excludeInboundPorts));
  add(F(inj + "sidecarTraffic.excludeOutboundPorts",
        rkEnv + "SIDECAR_TRAFFIC_EXCLUDE_OUTBOUND_PORTS",
        runtime.kubernetes.injector.sidecarTraffic.excludeOutboundPorts));
  add(F(inj + "sidecarTraffic.excludeInboundIPs", rkEnv + "SIDECAR_TRAFFIC_EXCLUDE_INBOUND_IPS",
        runtime.kubernetes.injector.sidecarTraffic.excludeInboundIPs));
  add(F(inj + "sidecarTraffic.excludeOutboundIPs", rkEnv + "SIDECAR_TRAFFIC_EXCLUDE_OUTBOUND_IPS",
        runtime.kubernetes.injector.sidecarTraffic.excludeOutboundIPs));
  add(F(inj + "builtinDNS.enabled", injEnv + "BUILTIN_DNS_ENABLED",
        runtime.kubernetes.injector.builtinDNS.enabled));
  add(F(inj + "builtinDNS.port", injEnv + "BUILTIN_DNS_PORT",
        runtime.kubernetes.injector.builtinDNS.port));
  add(F(inj + "builtinDNS.logging", injEnv + "BUILTIN_DNS_LOGGING",
        runtime.kubernetes.injector.builtinDNS.logging));
  add(F(inj + "builtinDNS.experimentalProxy", injEnv + "BUILTIN_DNS_EXPERIMENTAL_PROXY",
        runtime.kubernetes.injector.builtinDNS.experimentalProxy));
  add(F(inj + "ebpf.enabled", injEnv + "EBPF_ENABLED", runtime.kubernetes.injector.ebpf.enabled));
  add(F(inj + "ebpf.instanceIPEnvVarName", injEnv + "EBPF_INSTANCE_IP_ENV_VAR_NAME",
        runtime.kubernetes.injector.ebpf.instanceIPEnvVarName));
  add(F(inj + "ebpf.bpffsPath", injEnv + "EBPF_BPFFS_PATH",
        runtime.kubernetes.injector.ebpf.bpffsPath));
  add(F(inj + "ebpf.cgroupPath", injEnv + "EBPF_CGROUP_PATH",
        runtime.kubernetes.injector.ebpf.cgroupPath));
  add(F(inj + "ebpf.tcAttachIface", injEnv + "EBPF_TC_ATTACH_IFACE",
        runtime.kubernetes.injector.ebpf.tcAttachIface));
  add(F(inj + "ebpf.programsSourcePath", injEnv + "EBPF_PROGRAMS_SOURCE_PATH",
        runtime.kubernetes.injector.ebpf.programsSourcePath));
  add(F(inj + "ignoredServiceSelectorLabels", injEnv + "IGNORED_SERVICE_SELECTOR_LABELS",
        runtime.kubernetes.injector.ignoredServiceSelectorLabels));
  add(F(inj + "nodeLabelsToCopy", injEnv + "NODE_LABELS_TO_COPY",
        runtime.kubernetes.injector.nodeLabelsToCopy));
  add(F(inj + "transparentProxyConfigMap", injEnv + "TRANSPARENT_PROXY_CONFIGMAP_NAME",
        runtime.kubernetes.injector.transparentProxyConfigMap));
  add(F(inj + "unifiedResourceNamingEnabled", injEnv + "UNIFIED_RESOURCE_NAMING_ENABLED",
        runtime.kubernetes.injector.unifiedResourceNamingEnabled));
  add(F(inj + "otelPipeEnabled", injEnv + "OTEL_PIPE_ENABLED",
        runtime.kubernetes.injector.otelPipeEnabled));
  add(F(inj + "spire.enabled", injEnv + "SPIRE_ENABLED",
        runtime.kubernetes.injector.spire.enabled));
  add(F(inj + "spire.mountPath", injEnv + "SPIRE_MOUNT_PATH",
        runtime.kubernetes.injector.spire.mountPath));
  add(F(inj + "spire.socketFileName", injEnv + "SPIRE_SOCKET_FILE_NAME",
        runtime.kubernetes.injector.spire.socketFileName));
  add(F(rk + "marshalingCacheExpirationTime", rkEnv + "MARSHALING_CACHE_EXPIRATION_TIME",
        runtime.kubernetes.marshalingCacheExpirationTime));
  add(F(rk + "controllersConcurrency.podController",
        rkEnv + "CONTROLLERS_CONCURRENCY_POD_CONTROLLER",
        runtime.kubernetes.controllersConcurrency.podController));
  add(F(rk + "clientConfig.qps", rkEnv + "CLIENT_CONFIG_QPS", runtime.kubernetes.clientConfig.qps));
  add(F(rk + "clientConfig.burstQps", rkEnv + "CLIENT_CONFIG_BURST_QPS",
        runtime.kubernetes.clientConfig.burstQps));
  add(F(rk + "leaderElection.leaseDuration", rkEnv + "LEADER_ELECTION_LEASE_DURATION",
        runtime.kubernetes.leaderElection.leaseDuration));
  add(F(rk + "leaderElection.renewDeadline", rkEnv + "LEADER_ELECTION_RENEW_DEADLINE",
        runtime.kubernetes.leaderElection.renewDeadline));
  add(F(rk + "skipMeshOwnerReference", rkEnv + "SKIP_MESH_OWNER_REFERENCE",
        runtime.kubernetes.skipMeshOwnerReference));
  add(F(rk + "supportGatewaySecretsInAllNamespaces",
        rkEnv + "SUPPORT_GATEWAY_SECRETS_IN_ALL_NAMESPACES",
        runtime.kubernetes.supportGatewaySecretsInAllNamespaces));
  add(F(rk + "workloadLabels", rkEnv + "WORKLOAD_LABELS", runtime.kubernetes.workloadLabels));
  add(F(rk + "disallowMultipleMeshesPerNamespace", rkEnv + "DISALLOW_MULTIPLE_MESHES_PER_NAMESPACE",
        runtime.kubernetes.disallowMultipleMeshesPerNamespace));

  // runtime.universal
  add(F("runtime.universal.dataplaneCleanupAge", "KUMA_RUNTIME_UNIVERSAL_DATAPLANE_CLEANUP_AGE",
        runtime.universal.dataplaneCleanupAge));
  add(F("runtime.universal.zoneResourceCleanupAge",
        "KUMA_RUNTIME_UNIVERSAL_ZONE_RESOURCE_CLEANUP_AGE",
        runtime.universal.zoneResourceCleanupAge));
  add(F("runtime.universal.vipRefreshInterval", "KUMA_RUNTIME_UNIVERSAL_VIP_REFRESH_INTERVAL",
        runtime.universal.vipRefreshInterval));
  add(F("runtime.universal.spire.socketPath", "KUMA_RUNTIME_UNIVERSAL_SPIRE_SOCKET_PATH",
        runtime.universal.spire.socketPath));
  add(F("runtime.universal.workload.generationInterval",
        "KUMA_RUNTIME_UNIVERSAL_WORKLOAD_GENERATION_INTERVAL",
        runtime.universal.workload.generationInterval));

  // defaults
  add(F("defaults.skipMeshCreation", "KUMA_DEFAULTS_SKIP_MESH_CREATION",
        defaults.skipMeshCreation));
  add(F("defaults.skipTenantResources", "KUMA_DEFAULTS_SKIP_TENANT_RESOURCES",
        defaults.skipTenantResources));
  add(F("defaults.createMeshRoutingResources", "KUMA_DEFAULTS_CREATE_MESH_ROUTING_RESOURCES",
        defaults.createMeshRoutingResources));
  // Kuma's JSON tag is literally "SkipHostnameGenerators" (YAML matching is case-insensitive).
  add(F("defaults.SkipHostnameGenerators", "KUMA_DEFAULTS_SKIP_HOSTNAME_GENERATORS",
        defaults.skipHostnameGenerators));

  // metrics
  add(F("metrics.dataplane.subscriptionLimit", "KUMA_METRICS_DATAPLANE_SUBSCRIPTION_LIMIT",
        metrics.dataplane.subscriptionLimit));
  add(F("metrics.dataplane.idleTimeout", "KUMA_METRICS_DATAPLANE_IDLE_TIMEOUT",
        metrics.dataplane.idleTimeout));
  add(F("metrics.zone.subscriptionLimit", "KUMA_METRICS_ZONE_SUBSCRIPTION_LIMIT",
        metrics.zone.subscriptionLimit));
  add(F("metrics.zone.idleTimeout", "KUMA_METRICS_ZONE_IDLE_TIMEOUT", metrics.zone.idleTimeout));
  add(F("metrics.zone.compactFinishedSubscriptions",
        "KUMA_METRICS_ZONE_COMPACT_FINISHED_SUBSCRIPTIONS",
        metrics.zone.compactFinishedSubscriptions));
  add(F("metrics.mesh.minResyncInterval", "KUMA_METRICS_MESH_MIN_RESYNC_INTERVAL",
        metrics.mesh.minResyncInterval));
  add(F("metrics.mesh.fullResyncInterval", "KUMA_METRICS_MESH_FULL_RESYNC_INTERVAL",
        metrics.mesh.fullResyncInterval));
  add(F("metrics.mesh.bufferSize", "KUMA_METRICS_MESH_BUFFER_SIZE", metrics.mesh.bufferSize));
  add(F("metrics.mesh.eventProcessors", "KUMA_METRICS_MESH_EVENT_PROCESSORS",
        metrics.mesh.eventProcessors));
  add(F("metrics.controlPlane.reportResourcesCount",
        "KUMA_METRICS_CONTROL_PLANE_REPORT_RESOURCES_COUNT",
        metrics.controlPlane.reportResourcesCount));
  add(F("metrics.openTelemetry.enabled", "KUMA_METRICS_OPENTELEMETRY_ENABLED",
        metrics.openTelemetry.enabled));

  add(F("reports.enabled", "KUMA_REPORTS_ENABLED", reports.enabled));

  // general
  add(F("general.dnsCacheTTL", "KUMA_GENERAL_DNS_CACHE_TTL", general.dnsCacheTTL));
  add(F("general.tlsCertFile", "KUMA_GENERAL_TLS_CERT_FILE", general.tlsCertFile));
  add(F("general.tlsKeyFile", "KUMA_GENERAL_TLS_KEY_FILE", general.tlsKeyFile));
  add(F("general.tlsMinVersion", "KUMA_GENERAL_TLS_MIN_VERSION", general.tlsMinVersion));
  add(F("general.tlsMaxVersion", "KUMA_GENERAL_TLS_MAX_VERSION", general.tlsMaxVersion));
  add(F("general.tlsCipherSuites", "KUMA_GENERAL_TLS_CIPHER_SUITES", general.tlsCipherSuites));
  add(F("general.workDir", "KUMA_GENERAL_WORK_DIR", general.workDir));
  add(F("general.resilientComponentBaseBackoff", "KUMA_GENERAL_RESILIENT_COMPONENT_BASE_BACKOFF",
        general.resilientComponentBaseBackoff));
  add(F("general.resilientComponentMaxBackoff", "KUMA_GENERAL_RESILIENT_COMPONENT_MAX_BACKOFF",
        general.resilientComponentMaxBackoff));
  add(F("general.certGenerationBaseBackoff", "KUMA_GENERAL_CERT_GENERATION_BASE_BACKOFF",
        general.certGenerationBaseBackoff));
  add(F("general.certGenerationMaxBackoff", "KUMA_GENERAL_CERT_GENERATION_MAX_BACKOFF",
        general.certGenerationMaxBackoff));
  add(F("general.certGenerationCircuitBreakerMinProxies",
        "KUMA_GENERAL_CERT_GENERATION_CIRCUIT_BREAKER_MIN_PROXIES",
        general.certGenerationCircuitBreakerMinProxies));

  // dnsServer
  add(F("dnsServer.domain", "KUMA_DNS_SERVER_DOMAIN", dnsServer.domain));
  add(F("dnsServer.CIDR", "KUMA_DNS_SERVER_CIDR", dnsServer.cidr));
  add(F("dnsServer.serviceVipEnabled", "KUMA_DNS_SERVER_SERVICE_VIP_ENABLED",
        dnsServer.serviceVipEnabled));
  // The defaults YAML comment says KUMA_DNS_SERVICE_SERVICE_VIP_PORT; the code reads this.
  add(F("dnsServer.serviceVipPort", "KUMA_DNS_SERVER_SERVICE_VIP_PORT", dnsServer.serviceVipPort));

  // multizone.global
  const std::string gk = "multizone.global.kds.";
  const std::string gkEnv = "KUMA_MULTIZONE_GLOBAL_KDS_";
  add(F(gk + "grpcPort", gkEnv + "GRPC_PORT", multizone.global.kds.grpcPort));
  add(F(gk + "refreshInterval", gkEnv + "REFRESH_INTERVAL", multizone.global.kds.refreshInterval));
  add(F(gk + "zoneInsightFlushInterval", gkEnv + "ZONE_INSIGHT_FLUSH_INTERVAL",
        multizone.global.kds.zoneInsightFlushInterval));
  add(F(gk + "tlsEnabled", gkEnv + "TLS_ENABLED", multizone.global.kds.tlsEnabled));
  add(F(gk + "tlsCertFile", gkEnv + "TLS_CERT_FILE", multizone.global.kds.tlsCertFile));
  add(F(gk + "tlsKeyFile", gkEnv + "TLS_KEY_FILE", multizone.global.kds.tlsKeyFile));
  add(F(gk + "tlsMinVersion", gkEnv + "TLS_MIN_VERSION", multizone.global.kds.tlsMinVersion));
  add(F(gk + "tlsMaxVersion", gkEnv + "TLS_MAX_VERSION", multizone.global.kds.tlsMaxVersion));
  add(F(gk + "tlsCipherSuites", gkEnv + "TLS_CIPHER_SUITES", multizone.global.kds.tlsCipherSuites));
  add(F(gk + "maxMsgSize", gkEnv + "MAX_MSG_SIZE", multizone.global.kds.maxMsgSize));
  add(F(gk + "msgSendTimeout", gkEnv + "MSG_SEND_TIMEOUT", multizone.global.kds.msgSendTimeout));
  add(F(gk + "nackBackoff", gkEnv + "NACK_BACKOFF", multizone.global.kds.nackBackoff));
  add(F(gk + "responseBackoff", gkEnv + "RESPONSE_BACKOFF", multizone.global.kds.responseBackoff));
  add(F(gk + "logPayloads", gkEnv + "LOG_PAYLOADS", multizone.global.kds.logPayloads));
  add(F(gk + "tracing.enabled", gkEnv + "TRACING_ENABLED", multizone.global.kds.tracing.enabled));

  // multizone.zone
  add(F("multizone.zone.name", "KUMA_MULTIZONE_ZONE_NAME", multizone.zone.name));
  add(F("multizone.zone.globalAddress", "KUMA_MULTIZONE_ZONE_GLOBAL_ADDRESS",
        multizone.zone.globalAddress));
  const std::string zk = "multizone.zone.kds.";
  const std::string zkEnv = "KUMA_MULTIZONE_ZONE_KDS_";
  add(F(zk + "refreshInterval", zkEnv + "REFRESH_INTERVAL", multizone.zone.kds.refreshInterval));
  add(F(zk + "rootCaFile", zkEnv + "ROOT_CA_FILE", multizone.zone.kds.rootCaFile));
  add(F(zk + "tlsSkipVerify", zkEnv + "TLS_SKIP_VERIFY", multizone.zone.kds.tlsSkipVerify));
  add(F(zk + "maxMsgSize", zkEnv + "MAX_MSG_SIZE", multizone.zone.kds.maxMsgSize));
  add(F(zk + "msgSendTimeout", zkEnv + "MSG_SEND_TIMEOUT", multizone.zone.kds.msgSendTimeout));
  add(F(zk + "nackBackoff", zkEnv + "NACK_BACKOFF", multizone.zone.kds.nackBackoff));
  add(F(zk + "responseBackoff", zkEnv + "RESPONSE_BACKOFF", multizone.zone.kds.responseBackoff));
  add(F(zk + "logPayloads", zkEnv + "LOG_PAYLOADS", multizone.zone.kds.logPayloads));
  add(F("multizone.zone.disableOriginLabelValidation",
        "KUMA_MULTIZONE_ZONE_DISABLE_ORIGIN_LABEL_VALIDATION",
        multizone.zone.disableOriginLabelValidation));
  add(F("multizone.zone.ingressUpdateInterval", "KUMA_MULTIZONE_ZONE_INGRESS_UPDATE_INTERVAL",
        multizone.zone.ingressUpdateInterval));

  // diagnostics
  add(F("diagnostics.serverPort", "KUMA_DIAGNOSTICS_SERVER_PORT", diagnostics.serverPort));
  add(F("diagnostics.debugEndpoints", "KUMA_DIAGNOSTICS_DEBUG_ENDPOINTS",
        diagnostics.debugEndpoints));
  add(F("diagnostics.tlsEnabled", "KUMA_DIAGNOSTICS_TLS_ENABLED", diagnostics.tlsEnabled));
  add(F("diagnostics.tlsCertFile", "KUMA_DIAGNOSTICS_TLS_CERT_FILE", diagnostics.tlsCertFile));
  add(F("diagnostics.tlsKeyFile", "KUMA_DIAGNOSTICS_TLS_KEY_FILE", diagnostics.tlsKeyFile));
  add(F("diagnostics.tlsMinVersion", "KUMA_DIAGNOSTICS_TLS_MIN_VERSION",
        diagnostics.tlsMinVersion));
  add(F("diagnostics.tlsMaxVersion", "KUMA_DIAGNOSTICS_TLS_MAX_VERSION",
        diagnostics.tlsMaxVersion));
  add(F("diagnostics.tlsCipherSuites", "KUMA_DIAGNOSTICS_TLS_CIPHER_SUITES",
        diagnostics.tlsCipherSuites));

  // dpServer
  add(F("dpServer.port", "KUMA_DP_SERVER_PORT", dpServer.port));
  add(F("dpServer.tlsCertFile", "KUMA_DP_SERVER_TLS_CERT_FILE", dpServer.tlsCertFile));
  add(F("dpServer.tlsKeyFile", "KUMA_DP_SERVER_TLS_KEY_FILE", dpServer.tlsKeyFile));
  add(F("dpServer.tlsMinVersion", "KUMA_DP_SERVER_TLS_MIN_VERSION", dpServer.tlsMinVersion));
  add(F("dpServer.tlsMaxVersion", "KUMA_DP_SERVER_TLS_MAX_VERSION", dpServer.tlsMaxVersion));
  add(F("dpServer.tlsCipherSuites", "KUMA_DP_SERVER_TLS_CIPHER_SUITES", dpServer.tlsCipherSuites));
  add(F("dpServer.readHeaderTimeout", "KUMA_DP_SERVER_READ_HEADER_TIMEOUT",
        dpServer.readHeaderTimeout));
  add(F("dpServer.gracefulShutdownTimeout", "KUMA_DP_SERVER_GRACEFUL_SHUTDOWN_TIMEOUT",
        dpServer.gracefulShutdownTimeout));
  add(F("dpServer.authn.dpProxy.type", "KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE",
        dpServer.authn.dpProxy.type));
  add(F("dpServer.authn.dpProxy.dpToken.enableIssuer",
        "KUMA_DP_SERVER_AUTHN_DP_PROXY_DP_TOKEN_ENABLE_ISSUER",
        dpServer.authn.dpProxy.dpToken.enableIssuer));
  add(F("dpServer.authn.dpProxy.dpToken.validator.useSecrets",
        "KUMA_DP_SERVER_AUTHN_DP_PROXY_DP_TOKEN_VALIDATOR_USE_SECRETS",
        dpServer.authn.dpProxy.dpToken.validator.useSecrets));
  add(F("dpServer.authn.dpProxy.dpToken.validator.publicKeys", "",
        dpServer.authn.dpProxy.dpToken.validator.publicKeys));
  add(F("dpServer.authn.zoneProxy.type", "KUMA_DP_SERVER_AUTHN_ZONE_PROXY_TYPE",
        dpServer.authn.zoneProxy.type));
  add(F("dpServer.authn.zoneProxy.zoneToken.enableIssuer",
        "KUMA_DP_SERVER_AUTHN_ZONE_PROXY_ZONE_TOKEN_ENABLE_ISSUER",
        dpServer.authn.zoneProxy.zoneToken.enableIssuer));
  add(F("dpServer.authn.zoneProxy.zoneToken.validator.useSecrets",
        "KUMA_DP_SERVER_AUTHN_ZONE_PROXY_ZONE_TOKEN_VALIDATOR_USE_SECRETS",
        dpServer.authn.zoneProxy.zoneToken.validator.useSecrets));
  add(F("dpServer.authn.zoneProxy.zoneToken.validator.publicKeys", "",
        dpServer.authn.zoneProxy.zoneToken.validator.publicKeys));
  add(F("dpServer.authn.enableReloadableTokens", "KUMA_DP_SERVER_AUTHN_ENABLE_RELOADABLE_TOKENS",
        dpServer.authn.enableReloadableTokens));
  add(F("dpServer.hds.enabled", "KUMA_DP_SERVER_HDS_ENABLED", dpServer.hds.enabled));
  add(F("dpServer.hds.interval", "KUMA_DP_SERVER_HDS_INTERVAL", dpServer.hds.interval));
  add(F("dpServer.hds.refreshInterval", "KUMA_DP_SERVER_HDS_REFRESH_INTERVAL",
        dpServer.hds.refreshInterval));
  add(F("dpServer.hds.checkDefaults.timeout", "KUMA_DP_SERVER_HDS_CHECK_TIMEOUT",
        dpServer.hds.checkDefaults.timeout));
  add(F("dpServer.hds.checkDefaults.interval", "KUMA_DP_SERVER_HDS_CHECK_INTERVAL",
        dpServer.hds.checkDefaults.interval));
  add(F("dpServer.hds.checkDefaults.noTrafficInterval",
        "KUMA_DP_SERVER_HDS_CHECK_NO_TRAFFIC_INTERVAL",
        dpServer.hds.checkDefaults.noTrafficInterval));
  add(F("dpServer.hds.checkDefaults.healthyThreshold", "KUMA_DP_SERVER_HDS_CHECK_HEALTHY_THRESHOLD",
        dpServer.hds.checkDefaults.healthyThreshold));
  add(F("dpServer.hds.checkDefaults.unhealthyThreshold",
        "KUMA_DP_SERVER_HDS_CHECK_UNHEALTHY_THRESHOLD",
        dpServer.hds.checkDefaults.unhealthyThreshold));

  // interCp
  add(F("interCp.catalog.instanceAddress", "KUMA_INTER_CP_CATALOG_INSTANCE_ADDRESS",
        interCp.catalog.instanceAddress));
  add(F("interCp.catalog.heartbeatInterval", "KUMA_INTER_CP_CATALOG_HEARTBEAT_INTERVAL",
        interCp.catalog.heartbeatInterval));
  add(F("interCp.catalog.writerInterval", "KUMA_INTER_CP_CATALOG_WRITER_INTERVAL",
        interCp.catalog.writerInterval));
  add(F("interCp.server.port", "KUMA_INTER_CP_SERVER_PORT", interCp.server.port));
  add(F("interCp.server.tlsMinVersion", "KUMA_INTER_CP_SERVER_TLS_MIN_VERSION",
        interCp.server.tlsMinVersion));
  add(F("interCp.server.tlsMaxVersion", "KUMA_INTER_CP_SERVER_TLS_MAX_VERSION",
        interCp.server.tlsMaxVersion));
  add(F("interCp.server.tlsCipherSuites", "KUMA_INTER_CP_SERVER_TLS_CIPHER_SUITES",
        interCp.server.tlsCipherSuites));

  // access
  add(F("access.type", "KUMA_ACCESS_TYPE", access.type));
  const std::string as = "access.static.";
  const std::string asEnv = "KUMA_ACCESS_STATIC_";
  add(F(as + "adminResources.users", asEnv + "ADMIN_RESOURCES_USERS",
        access.staticAccess.adminResources.users));
  add(F(as + "adminResources.groups", asEnv + "ADMIN_RESOURCES_GROUPS",
        access.staticAccess.adminResources.groups));
  add(F(as + "generateDpToken.users", asEnv + "GENERATE_DP_TOKEN_USERS",
        access.staticAccess.generateDpToken.users));
  add(F(as + "generateDpToken.groups", asEnv + "GENERATE_DP_TOKEN_GROUPS",
        access.staticAccess.generateDpToken.groups));
  add(F(as + "generateUserToken.users", asEnv + "GENERATE_USER_TOKEN_USERS",
        access.staticAccess.generateUserToken.users));
  add(F(as + "generateUserToken.groups", asEnv + "GENERATE_USER_TOKEN_GROUPS",
        access.staticAccess.generateUserToken.groups));
  add(F(as + "generateZoneToken.users", asEnv + "GENERATE_ZONE_TOKEN_USERS",
        access.staticAccess.generateZoneToken.users));
  add(F(as + "generateZoneToken.groups", asEnv + "GENERATE_ZONE_TOKEN_GROUPS",
        access.staticAccess.generateZoneToken.groups));
  add(F(as + "viewConfigDump.users", asEnv + "GET_CONFIG_DUMP_USERS",
        access.staticAccess.viewConfigDump.users));
  add(F(as + "viewConfigDump.groups", asEnv + "GET_CONFIG_DUMP_GROUPS",
        access.staticAccess.viewConfigDump.groups));
  add(F(as + "viewStats.users", asEnv + "VIEW_STATS_USERS", access.staticAccess.viewStats.users));
  add(F(as + "viewStats.groups", asEnv + "VIEW_STATS_GROUPS",
        access.staticAccess.viewStats.groups));
  add(F(as + "viewClusters.users", asEnv + "VIEW_CLUSTERS_USERS",
        access.staticAccess.viewClusters.users));
  add(F(as + "viewClusters.groups", asEnv + "VIEW_CLUSTERS_GROUPS",
        access.staticAccess.viewClusters.groups));
  add(F(as + "controlPlaneMetadata.users", asEnv + "CONTROL_PLANE_METADATA_USERS",
        access.staticAccess.controlPlaneMetadata.users));
  add(F(as + "controlPlaneMetadata.groups", asEnv + "CONTROL_PLANE_METADATA_GROUPS",
        access.staticAccess.controlPlaneMetadata.groups));

  // experimental
  add(F("experimental.kubeOutboundsAsVIPs", "KUMA_EXPERIMENTAL_KUBE_OUTBOUNDS_AS_VIPS",
        experimental.kubeOutboundsAsVIPs));
  add(F("experimental.useTagFirstVirtualOutboundModel",
        "KUMA_EXPERIMENTAL_USE_TAG_FIRST_VIRTUAL_OUTBOUND_MODEL",
        experimental.useTagFirstVirtualOutboundModel));
  add(F("experimental.ingressTagFilters", "KUMA_EXPERIMENTAL_INGRESS_TAG_FILTERS",
        experimental.ingressTagFilters));
  add(F("experimental.exposeZoneProxyMetrics", "KUMA_EXPERIMENTAL_EXPOSE_ZONE_PROXY_METRICS",
        experimental.exposeZoneProxyMetrics));
  add(F("experimental.kdsEventBasedWatchdog.enabled",
        "KUMA_EXPERIMENTAL_KDS_EVENT_BASED_WATCHDOG_ENABLED",
        experimental.kdsEventBasedWatchdog.enabled));
  add(F("experimental.kdsEventBasedWatchdog.flushInterval",
        "KUMA_EXPERIMENTAL_KDS_EVENT_BASED_WATCHDOG_FLUSH_INTERVAL",
        experimental.kdsEventBasedWatchdog.flushInterval));
  add(F("experimental.kdsEventBasedWatchdog.fullResyncInterval",
        "KUMA_EXPERIMENTAL_KDS_EVENT_BASED_WATCHDOG_FULL_RESYNC_INTERVAL",
        experimental.kdsEventBasedWatchdog.fullResyncInterval));
  add(F("experimental.kdsEventBasedWatchdog.delayFullResync",
        "KUMA_EXPERIMENTAL_KDS_EVENT_BASED_WATCHDOG_DELAY_FULL_RESYNC",
        experimental.kdsEventBasedWatchdog.delayFullResync));
  add(F("experimental.autoReachableServices", "KUMA_EXPERIMENTAL_AUTO_REACHABLE_SERVICES",
        experimental.autoReachableServices));
  add(F("experimental.sidecarContainers", "KUMA_EXPERIMENTAL_SIDECAR_CONTAINERS",
        experimental.sidecarContainers));
  add(F("experimental.deltaXds", "KUMA_EXPERIMENTAL_DELTA_XDS", experimental.deltaXds));
  add(F("experimental.inboundTagsDisabled", "KUMA_EXPERIMENTAL_INBOUND_TAGS_DISABLED",
        experimental.inboundTagsDisabled));

  add(F("proxy.gateway.globalDownstreamMaxConnections",
        "KUMA_PROXY_GATEWAY_GLOBAL_DOWNSTREAM_MAX_CONNECTIONS",
        proxy.gateway.globalDownstreamMaxConnections));
  add(F("tracing.openTelemetry.endpoint", "KUMA_TRACING_OPENTELEMETRY_ENDPOINT",
        tracing.openTelemetry.endpoint));
  add(F("eventBus.bufferSize", "KUMA_EVENT_BUS_BUFFER_SIZE", eventBus.bufferSize));
  add(F("policies.pluginPoliciesEnabled", "KUMA_PLUGIN_POLICIES_ENABLED",
        policies.pluginPoliciesEnabled));

  // coreResources
  add(F("coreResources.status.meshMultiZoneServiceInterval",
        "KUMA_CORE_RESOURCES_STATUS_MESH_MULTI_ZONE_SERVICE_INTERVAL",
        coreResources.status.meshMultiZoneServiceInterval));
  add(F("coreResources.status.meshServiceInterval",
        "KUMA_CORE_RESOURCES_STATUS_MESH_SERVICE_INTERVAL",
        coreResources.status.meshServiceInterval));
  add(F("coreResources.status.meshIdentityInterval",
        "KUMA_CORE_RESOURCES_STATUS_MESH_IDENTITY_INTERVAL",
        coreResources.status.meshIdentityInterval));
  add(F("coreResources.status.workloadInterval", "KUMA_CORE_RESOURCES_STATUS_WORKLOAD_INTERVAL",
        coreResources.status.workloadInterval));
  add(F("coreResources.status.meshOpenTelemetryBackendInterval",
        "KUMA_CORE_RESOURCES_STATUS_MESH_OPEN_TELEMETRY_BACKEND_INTERVAL",
        coreResources.status.meshOpenTelemetryBackendInterval));
  add(F("coreResources.enabled", "KUMA_CORE_RESOURCES_ENABLED", coreResources.enabled));

  // ipam
  add(F("ipam.meshService.cidr", "KUMA_IPAM_MESH_SERVICE_CIDR", ipam.meshService.cidr));
  add(F("ipam.meshExternalService.cidr", "KUMA_IPAM_MESH_EXTERNAL_SERVICE_CIDR",
        ipam.meshExternalService.cidr));
  add(F("ipam.meshMultiZoneService.cidr", "KUMA_IPAM_MESH_MULTI_ZONE_SERVICE_CIDR",
        ipam.meshMultiZoneService.cidr));
  add(F("ipam.allocationInterval", "KUMA_IPAM_ALLOCATION_INTERVAL", ipam.allocationInterval));
  add(F("ipam.knownInternalCIDRs", "KUMA_IPAM_KNOWN_INTERNAL_CIDRS", ipam.knownInternalCIDRs));

  // meshService
  add(F("meshService.generationInterval", "KUMA_MESH_SERVICE_GENERATION_INTERVAL",
        meshService.generationInterval));
  add(F("meshService.deletionGracePeriod", "KUMA_MESH_SERVICE_DELETION_GRACE_PERIOD",
        meshService.deletionGracePeriod));
  add(F("meshService.labelPropagation.enabled", "KUMA_MESH_SERVICE_LABEL_PROPAGATION_ENABLED",
        meshService.labelPropagation.enabled));
  add(F("meshService.labelPropagation.allowedLabelKeys",
        "KUMA_MESH_SERVICE_LABEL_PROPAGATION_ALLOWED_LABEL_KEYS",
        meshService.labelPropagation.allowedLabelKeys));
  return t;
}

#undef F

// ---------------------------------------------------------------------------------------------
// Per-type behaviour.
// ---------------------------------------------------------------------------------------------

nlohmann::ordered_json publicKeysToJson(const PublicKeyList& keys) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const PublicKey& k : keys) {
    nlohmann::ordered_json item = nlohmann::ordered_json::object();
    item["kid"] = k.kid;
    item["keyFile"] = k.keyFile;
    item["key"] = k.key;
    if (!k.mesh.empty()) {
      item["mesh"] = k.mesh;
    }
    out.push_back(std::move(item));
  }
  return out;
}

absl::StatusOr<PublicKeyList> publicKeysFromJson(const nlohmann::json& v, const std::string& path,
                                                 std::vector<std::string>& warnings) {
  PublicKeyList out;
  if (v.is_null()) {
    return out;
  }
  if (!v.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot unmarshal ", v.type_name(), " into a list of public keys"));
  }
  for (size_t i = 0; i < v.size(); ++i) {
    const nlohmann::json& item = v[i];
    if (item.is_null()) {
      out.emplace_back();
      continue;
    }
    if (!item.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat("[", i, "]: cannot unmarshal ", item.type_name(), " into a public key"));
    }
    PublicKey key;
    for (const auto& [name, value] : item.items()) {
      std::string* target = nullptr;
      if (equalsIgnoreCase(name, "kid")) {
        target = &key.kid;
      } else if (equalsIgnoreCase(name, "key")) {
        target = &key.key;
      } else if (equalsIgnoreCase(name, "keyFile")) {
        target = &key.keyFile;
      } else if (equalsIgnoreCase(name, "mesh")) {
        target = &key.mesh;
      }
      if (target == nullptr) {
        warnings.push_back(
            absl::StrCat("unknown configuration key \"", path, "[", i, "].", name, "\""));
        continue;
      }
      auto s = jsonToString(value);
      if (!s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("[", i, "].", name, ": ", s.status().message()));
      }
      *target = *std::move(s);
    }
    out.push_back(std::move(key));
  }
  return out;
}

}  // namespace

nlohmann::ordered_json FieldDescriptor::toJson(const KumaCpConfig& config) const {
  return std::visit(
      [](const auto* p) -> nlohmann::ordered_json {
        using T = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
        if constexpr (std::is_same_v<T, Duration>) {
          return common::formatGoDuration(*p);
        } else if constexpr (std::is_same_v<T, PublicKeyList>) {
          return publicKeysToJson(*p);
        } else if constexpr (std::is_same_v<T, StringMap>) {
          nlohmann::ordered_json out = nlohmann::ordered_json::object();
          for (const auto& [k, v] : *p) {
            out[k] = v;
          }
          return out;
        } else {
          return *p;
        }
      },
      cref(config));
}

absl::Status FieldDescriptor::setFromEnv(KumaCpConfig& config, std::string_view value) const {
  return std::visit(
      [value](auto* p) -> absl::Status {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          *p = std::string(value);
        } else if constexpr (std::is_same_v<T, bool>) {
          auto b = parseGoBool(value);
          if (!b.ok()) {
            return b.status();
          }
          *p = *b;
        } else if constexpr (std::is_integral_v<T>) {
          auto i = parseGoInteger<T>(value);
          if (!i.ok()) {
            return i.status();
          }
          *p = *i;
        } else if constexpr (std::is_same_v<T, Duration>) {
          auto d = common::parseGoDuration(value);
          if (!d.ok()) {
            return d.status();
          }
          *p = *d;
        } else if constexpr (std::is_same_v<T, StringList>) {
          *p = splitEnvList(value);
        } else if constexpr (std::is_same_v<T, PortList>) {
          PortList ports;
          for (const std::string& item : splitEnvList(value)) {
            auto port = parseGoInteger<uint32_t>(item);
            if (!port.ok()) {
              return port.status();
            }
            ports.push_back(*port);
          }
          *p = std::move(ports);
        } else if constexpr (std::is_same_v<T, StringMap>) {
          StringMap map;
          for (const std::string& pair : splitEnvList(value)) {
            std::vector<std::string> kv = absl::StrSplit(pair, ':');
            if (kv.size() != 2) {
              return absl::InvalidArgumentError(absl::StrCat("invalid map item: \"", pair, "\""));
            }
            map[kv[0]] = kv[1];
          }
          *p = std::move(map);
        } else {
          return absl::InvalidArgumentError("cannot be set from the environment");
        }
        return absl::OkStatus();
      },
      ref(config));
}

absl::Status FieldDescriptor::setFromYaml(KumaCpConfig& config, const nlohmann::json& value,
                                          std::vector<std::string>& warnings) const {
  return std::visit(
      [&](auto* p) -> absl::Status {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (value.is_null()) {
            return absl::OkStatus();
          }
          auto s = jsonToString(value);
          if (!s.ok()) {
            return s.status();
          }
          *p = *std::move(s);
        } else if constexpr (std::is_same_v<T, bool>) {
          if (value.is_null()) {
            return absl::OkStatus();
          }
          if (!value.is_boolean()) {
            return absl::InvalidArgumentError(absl::StrCat("cannot unmarshal ", value.type_name(),
                                                           " into Go value of type bool"));
          }
          *p = value.get<bool>();
        } else if constexpr (std::is_integral_v<T>) {
          if (value.is_null()) {
            return absl::OkStatus();
          }
          auto i = jsonToInteger<T>(value);
          if (!i.ok()) {
            return i.status();
          }
          *p = *i;
        } else if constexpr (std::is_same_v<T, Duration>) {
          // Kuma's Duration.UnmarshalJSON rejects null as well.
          auto d = jsonToDuration(value);
          if (!d.ok()) {
            return d.status();
          }
          *p = *d;
        } else if constexpr (std::is_same_v<T, StringList>) {
          if (value.is_null()) {
            p->clear();
            return absl::OkStatus();
          }
          if (!value.is_array()) {
            return absl::InvalidArgumentError(absl::StrCat("cannot unmarshal ", value.type_name(),
                                                           " into Go value of type []string"));
          }
          StringList out;
          for (const auto& item : value) {
            auto s = jsonToString(item);
            if (!s.ok()) {
              return s.status();
            }
            out.push_back(*std::move(s));
          }
          *p = std::move(out);
        } else if constexpr (std::is_same_v<T, PortList>) {
          if (value.is_null()) {
            p->clear();
            return absl::OkStatus();
          }
          if (!value.is_array()) {
            return absl::InvalidArgumentError(absl::StrCat("cannot unmarshal ", value.type_name(),
                                                           " into Go value of type []uint32"));
          }
          PortList out;
          for (const auto& item : value) {
            auto port = jsonToInteger<uint32_t>(item);
            if (!port.ok()) {
              return port.status();
            }
            out.push_back(*port);
          }
          *p = std::move(out);
        } else if constexpr (std::is_same_v<T, StringMap>) {
          if (value.is_null()) {
            p->clear();
            return absl::OkStatus();
          }
          if (!value.is_object()) {
            return absl::InvalidArgumentError(
                absl::StrCat("cannot unmarshal ", value.type_name(),
                             " into Go value of type map[string]string"));
          }
          // encoding/json merges into an existing map.
          for (const auto& [k, v] : value.items()) {
            auto s = jsonToString(v);
            if (!s.ok()) {
              return s.status();
            }
            (*p)[k] = *std::move(s);
          }
        } else {
          auto keys = publicKeysFromJson(value, path, warnings);
          if (!keys.ok()) {
            return keys.status();
          }
          *p = *std::move(keys);
        }
        return absl::OkStatus();
      },
      ref(config));
}

const std::vector<FieldDescriptor>& configFields() {
  static const std::vector<FieldDescriptor>* const kFields =
      new std::vector<FieldDescriptor>(buildTable());
  return *kFields;
}

const FieldDescriptor* findField(std::string_view path) {
  for (const FieldDescriptor& f : configFields()) {
    if (f.path == path) {
      return &f;
    }
  }
  return nullptr;
}

}  // namespace kuma::config
