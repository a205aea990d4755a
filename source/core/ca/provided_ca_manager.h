#pragma once

// File: provided_ca_manager.h
// Kuma's `provided` CA backend (spec §8.1): the user supplies the CA certificate and key as
// DataSources in `conf.cert` / `conf.key`: `{secret: <mesh Secret>}`, `{file: <path>}`,
// `{inline: <base64>}` or `{inlineString: <PEM>}`. Validation loads them and checks that they
// form a CA key pair, so a Mesh write naming a broken CA is refused with a 400.

#include <string>

#include "google/protobuf/struct.pb.h"
#include "source/core/ca/ca_manager.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"

namespace kuma::ca {

/**
 * Appends the violations of a DataSource object at `path` (Kuma's datasource.Validate): exactly
 * one of secret/file/inline/inlineString, not empty.
 */
void validateDataSource(const google::protobuf::Value* source, const validators::PathBuilder& path,
                        validators::ValidationError& errors);

/**
 * The bytes of a DataSource. Secrets are read from `mesh`.
 * @return InvalidArgument for a malformed source, NotFound for a missing Secret or file.
 */
absl::StatusOr<std::string> loadDataSource(const manager::ResourceManager& manager,
                                           const model::TypeRegistry& registry,
                                           const std::string& mesh,
                                           const google::protobuf::Value& source);

class ProvidedCaManager : public CaManager {
 public:
  /** @param manager and @param registry read Secrets; both must outlive this object. */
  ProvidedCaManager(const manager::ResourceManager& manager, const model::TypeRegistry& registry);

  // CaManager
  absl::Status validateBackend(const std::string& mesh, const Backend& backend,
                               validators::ValidationError& errors) const override;
  absl::Status ensure(const std::string&, const Backend&) override { return absl::OkStatus(); }
  absl::StatusOr<KeyPair> signingPair(const std::string& mesh,
                                      const Backend& backend) const override;

 private:
  const manager::ResourceManager& manager_;
  const model::TypeRegistry& registry_;
};

}  // namespace kuma::ca
