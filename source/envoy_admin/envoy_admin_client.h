#pragma once

// File: envoy_admin_client.h
// The control plane's client of a proxy's Envoy admin API (Kuma's `pkg/envoy/admin` client),
// behind the inspect endpoints `/meshes/{mesh}/dataplanes/{name}/xds|stats|clusters`. As in
// Kuma it calls `https://<advertised address, else address>:<admin port>/<path>`, i.e. the
// proxy's `kuma:envoy:admin` listener, presenting the control plane's client certificate of the
// Envoy Admin CA and verifying the proxy's server certificate (issued for that address) against
// the same CA. A proxy whose address is 127.0.0.1 has no such listener (its admin binds there),
// so it is called over plain HTTP, also as in Kuma.
//
//   EnvoyAdminClient client([&] { return envoyAdminTls.clientCerts(); });
//   KUMA_ASSIGN_OR_RETURN(std::string stats,
//                         client.get(envoyAdminTarget(dataplaneSpec, 9901), "/stats"));

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "source/xds/secrets/envoy_admin_tls.h"

namespace kuma::envoy_admin {

/** Where a proxy's admin API is reached from the control plane. */
struct EnvoyAdminTarget {
  std::string host;
  uint32_t port = 0;
};

/**
 * The admin address of a Dataplane: `networking.advertisedAddress`, else `networking.address`;
 * `networking.admin.port`, else `defaultAdminPort` (bootstrapServer.params.adminPort).
 */
EnvoyAdminTarget envoyAdminTarget(const mesh::v1alpha1::Dataplane& spec, uint32_t defaultAdminPort);

struct EnvoyAdminClientOptions {
  std::chrono::milliseconds connectTimeout = std::chrono::seconds(3);
  /** Each read and write of the exchange. */
  std::chrono::milliseconds ioTimeout = std::chrono::seconds(5);
  /** Larger answers are refused (a config dump of a big mesh is a few MB). */
  size_t maxResponseBytes = 64 * 1024 * 1024;
};

/** Thread-safe: every call opens its own connection. */
class EnvoyAdminClient {
 public:
  using CertsProvider = std::function<absl::StatusOr<xds::EnvoyAdminClientCerts>()>;

  explicit EnvoyAdminClient(CertsProvider certs, EnvoyAdminClientOptions options = {});

  /**
   * GET `pathAndQuery` (e.g. "/stats?format=json") on the admin API at `target`.
   * @return the body of a 200 answer; the certificate provider's error; Unavailable when the
   *         connection or the TLS handshake fails (including a server certificate that does not
   *         verify); Internal "envoy response [<code>] [<body>]" for another status;
   *         ResourceExhausted for an answer above maxResponseBytes.
   */
  absl::StatusOr<std::string> get(const EnvoyAdminTarget& target,
                                  const std::string& pathAndQuery) const;

  /**
   * POST /quitquitquit (Kuma's PostQuit): Envoy shuts down. OK also when the connection closes
   * before an answer (Envoy already going down); otherwise as get().
   */
  absl::Status postQuit(const EnvoyAdminTarget& target) const;

 private:
  absl::StatusOr<std::string> exchange(const std::string& method, const EnvoyAdminTarget& target,
                                       const std::string& pathAndQuery) const;

  const CertsProvider certs_;
  const EnvoyAdminClientOptions options_;
};

}  // namespace kuma::envoy_admin
