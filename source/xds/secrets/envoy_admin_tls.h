#pragma once

// File: envoy_admin_tls.h
// Certificates of the Envoy Admin CA (spec §7.4; Kuma's `pkg/envoy/admin/tls`). The CA is the
// GlobalSecret `envoy-admin-ca` (certificate PEM followed by key PEM, created by the defaults);
// it is read once and kept: replacing it takes a restart, as in Kuma. From it:
//  * per Dataplane, the server certificate of its `kuma:envoy:admin` listener's mTLS chain, with
//    the Dataplane's address (and advertised address) as IP/DNS SANs;
//  * for the control plane, one client certificate (DNS SAN `kuma-cp`, clientAuth) that it
//    presents when it calls a proxy's admin API (inspect endpoints).
//
//   EnvoyAdminTls tls([&] { return loadEnvoyAdminCa(manager, registry); });
//   KUMA_ASSIGN_OR_RETURN(options.adminTls, tls.serverCerts("default", "web-1", "10.0.0.1", ""));
//   KUMA_ASSIGN_OR_RETURN(EnvoyAdminClientCerts client, tls.clientCerts());

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "source/common/crypto/pki.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"
#include "source/xds/generator/generator.h"

namespace kuma::xds {

/** The name of the GlobalSecret holding the Envoy Admin CA. */
inline constexpr char kEnvoyAdminCaSecret[] = "envoy-admin-ca";

/** The SAN of the control plane's client certificate, the only one the admin listener accepts. */
inline constexpr char kEnvoyAdminClientSan[] = "kuma-cp";

/**
 * The bytes of the GlobalSecret `envoy-admin-ca`.
 * @return NotFound while it does not exist (the defaults create it at start).
 */
absl::StatusOr<std::string> loadEnvoyAdminCa(const manager::ResourceManager& manager,
                                             const model::TypeRegistry& registry);

/** What the control plane presents to a proxy's admin listener, and the CA to verify it with. */
struct EnvoyAdminClientCerts {
  std::string certPem;
  std::string keyPem;
  /** The Envoy Admin CA certificate (no key). */
  std::string caPem;
};

/** Thread-safe. */
class EnvoyAdminTls {
 public:
  /** Returns the CA secret's bytes (certificate PEM, then key PEM); asked until it succeeds. */
  using CaLoader = std::function<absl::StatusOr<std::string>()>;

  explicit EnvoyAdminTls(CaLoader loadCa);

  /**
   * The server side of the admin listener of Dataplane `name` of `mesh`: a certificate for
   * `address` and, when set and different, `advertisedAddress` (serverAuth, ECDSA P-256 key, 10
   * years), and the CA certificate. Cached per Dataplane: the same object while the addresses
   * are unchanged, a new one after they changed or forget().
   * @return the CA loader's error (NotFound before the defaults created it), InvalidArgument
   *         when the CA secret is not a certificate and its key or `address` is empty.
   */
  absl::StatusOr<EnvoyAdminTlsCertsConstSharedPtr> serverCerts(
      const std::string& mesh, const std::string& name, const std::string& address,
      const std::string& advertisedAddress);

  /** Drops the cached server certificate of Dataplane `name` of `mesh`. */
  void forget(const std::string& mesh, const std::string& name);

  /**
   * The control plane's client certificate (DNS SAN `kuma-cp`, clientAuth, RSA-2048, 10 years),
   * issued once.
   * @return the CA loader's error, or InvalidArgument for an unusable CA secret.
   */
  absl::StatusOr<EnvoyAdminClientCerts> clientCerts();

  /** Server certificates issued so far (tests). */
  uint64_t serverCertsIssued() const;

 private:
  struct Ca {
    std::shared_ptr<const crypto::LeafCertIssuer> issuer;
    std::string certPem;  // the certificate alone
  };
  struct Entry {
    std::string address;
    std::string advertisedAddress;
    EnvoyAdminTlsCertsConstSharedPtr certs;
  };

  absl::StatusOr<Ca> ca();

  const CaLoader loadCa_;
  mutable absl::Mutex mu_;
  std::optional<Ca> ca_ ABSL_GUARDED_BY(mu_);
  std::optional<EnvoyAdminClientCerts> client_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Entry> servers_ ABSL_GUARDED_BY(mu_);
  uint64_t serverCertsIssued_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace kuma::xds
