#pragma once

// File: ca_manager.h
// Certificate authorities of mesh mTLS (Kuma's `core/ca.Manager`): one CaManager per backend
// type (`builtin`, `provided`), looked up by `mtls.backends[].type`. A manager validates its
// backend's `conf`, ensures what the backend needs exists (the builtin CA's Secrets), and hands
// out the signing pair that issues the proxies' identity certificates.
//
//   CaManagers cas;
//   cas.add("builtin", std::make_unique<BuiltinCaManager>(manager, registry));
//   const CaManager* ca = cas.find(backend.type());
//   KUMA_ASSIGN_OR_RETURN(KeyPair signer, ca->signingPair(meshName, backend));

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/mesh/v1alpha1/mesh.pb.h"
#include "source/core/ca/certs.h"
#include "source/core/validators/validation_error.h"

namespace kuma::ca {

using Backend = mesh::v1alpha1::CertificateAuthorityBackend;

class CaManager {
 public:
  virtual ~CaManager() = default;

  /**
   * Appends the violations of `backend`'s conf, with paths relative to the conf ("cert",
   * "caCert.expiration"). May read other resources (a provided CA's Secrets).
   * @return OK, or an error when the check itself could not run (store unavailable).
   */
  virtual absl::Status validateBackend(const std::string& mesh, const Backend& backend,
                                       validators::ValidationError& errors) const = 0;

  /** Creates what the backend needs when missing (idempotent; concurrent callers are fine). */
  virtual absl::Status ensure(const std::string& mesh, const Backend& backend) = 0;

  /**
   * The CA (certificate PEM, possibly a chain starting with the signing certificate, and its
   * key) that issues identities in `mesh`; its certificates are also the trusted roots.
   * @return NotFound when the backend's material does not exist (yet), InvalidArgument when
   *         it does not parse.
   */
  virtual absl::StatusOr<KeyPair> signingPair(const std::string& mesh,
                                              const Backend& backend) const = 0;
};
using CaManagerPtr = std::unique_ptr<CaManager>;

/** The installed CA managers by backend type. Filled at start-up, then read-only. */
class CaManagers {
 public:
  void add(std::string type, CaManagerPtr manager) {
    managers_[std::move(type)] = std::move(manager);
  }
  /** @return the manager of `type`, or nullptr. */
  CaManager* find(const std::string& type) const {
    auto it = managers_.find(type);
    return it == managers_.end() ? nullptr : it->second.get();
  }

 private:
  std::map<std::string, CaManagerPtr> managers_;
};

/**
 * Lifetime of identity certificates of `backend`: `dpCert.rotation.expiration`, default 24h
 * (also for "0" and unparsable text, which validation rejects anyway).
 */
absl::Duration identityLifetime(const Backend& backend);

}  // namespace kuma::ca
