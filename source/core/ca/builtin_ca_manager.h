#pragma once

// File: builtin_ca_manager.h
// Kuma's `builtin` CA backend (spec §8.1): a self-signed root CA per mesh and backend, generated
// on the first Mesh write that names the backend and kept as two mesh Secrets owned by the Mesh:
// `<mesh>.ca-builtin-cert-<backend>` (certificate PEM) and `<mesh>.ca-builtin-key-<backend>`
// (PKCS#1 key PEM), base64 in `data` like every Secret.

#include <functional>
#include <string>

#include "absl/time/time.h"
#include "source/core/ca/ca_manager.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"

namespace kuma::ca {

/** `<mesh>.ca-builtin-cert-<backend>`. */
std::string builtinCertSecretName(const std::string& mesh, const std::string& backend);
/** `<mesh>.ca-builtin-key-<backend>`. */
std::string builtinKeySecretName(const std::string& mesh, const std::string& backend);

class BuiltinCaManager : public CaManager {
 public:
  using Clock = std::function<absl::Time()>;

  /**
   * @param manager writes and reads the Secrets; must outlive this object.
   * @param registry must register "Secret"; must outlive this object.
   */
  BuiltinCaManager(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                   Clock clock = absl::Now);

  // CaManager
  absl::Status validateBackend(const std::string& mesh, const Backend& backend,
                               validators::ValidationError& errors) const override;
  absl::Status ensure(const std::string& mesh, const Backend& backend) override;
  absl::StatusOr<KeyPair> signingPair(const std::string& mesh,
                                      const Backend& backend) const override;

 private:
  manager::ResourceManager& manager_;
  const model::TypeRegistry& registry_;
  const Clock clock_;
};

}  // namespace kuma::ca
