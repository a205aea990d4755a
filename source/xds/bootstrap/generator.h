#pragma once

// File: generator.h
// Envoy's bootstrap for a kuma-dp sidecar, as Kuma 2.14 writes it (pkg/xds/bootstrap/
// template_v3.go, legacy names): node identity and metadata, admin, ADS over the `ads_cluster`
// (TLS, HTTP/2), the `access_log_sink` cluster and the `cp_validation_ctx` secret with the CP's CA.
// Built as proto-JSON (lowerCamelCase, as Envoy and kuma-dp parse it); bootstrapYaml() renders it.

#include <cstdint>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "source/xds/bootstrap/request.h"

namespace kuma::xds::bootstrap {

/** Configuration-derived inputs (bootstrapServer.params, dpServer.*). */
struct BootstrapParams {
  std::string adminAddress = "127.0.0.1";
  uint32_t adminPort = 9901;
  bool envoyAdminUnixSocket = true;
  uint32_t readinessPort = 9902;
  std::string adminAccessLogPath = "/dev/null";
  absl::Duration xdsConnectTimeout = absl::Seconds(1);
  uint32_t xdsGrpcMaxReceiveMessageBytes = 4194304;
  bool hdsEnabled = true;
  bool enableReloadableTokens = false;
  /**
   * Adds `alpnProtocols: [h2]` to the ads_cluster TLS context. kuma-cpp demultiplexes the DP
   * server port on the ClientHello's ALPN (docs/adr/0006-dp-server-port.md), so Envoy must offer
   * h2.
   */
  bool adsAlpnH2 = true;
  /**
   * Whether `host` resolves only to IPv4 addresses (→ dnsLookupFamily V4_ONLY on a STRICT_DNS
   * ads_cluster). Null: getaddrinfo.
   */
  std::function<bool(const std::string& host)> resolvesOnlyToIpv4;
};

/** Per-request inputs, after the handler has resolved the proxy and the CA. */
struct BootstrapInput {
  const BootstrapRequest* request = nullptr;
  std::string mesh;
  std::string name;
  /** The Dataplane spec as REST JSON (networking.inbound, admin, ...). */
  nlohmann::json dataplaneSpec;
  /** PEM handed to Envoy as the trusted CA of the control plane. */
  std::string caPem;
  std::string xdsHost;
  uint32_t xdsPort = 0;
};

/** The bootstrap as proto-JSON (field order as listed in spec §5.4). */
nlohmann::ordered_json generateBootstrap(const BootstrapInput& input,
                                         const BootstrapParams& params);

/** The bootstrap as YAML, the form served by /bootstrap. */
std::string bootstrapYaml(const nlohmann::ordered_json& bootstrap);

/** `<dir>/<base>` cut to 98 characters, plus ".sock" (pkg/core/xds/sockets.go). */
std::string socketPath(const std::string& dir, const std::string& base);

/** The lexicographically-first `kuma.io/service` of the Dataplane's inbounds/gateway, or
 *  "unknown". */
std::string serviceClusterOf(const nlohmann::json& dataplaneSpec);

/** Whether `host` is a literal IPv4/IPv6 address. */
bool isIpAddress(const std::string& host);

}  // namespace kuma::xds::bootstrap
