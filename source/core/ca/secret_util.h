#pragma once

// File: secret_util.h
// Reading and writing the bytes of mesh Secrets (spec `data`, base64 in REST), for the CA
// backends.

#include <string>

#include "absl/status/statusor.h"
#include "kuma/model/resource.h"
#include "kuma/store/resource_store.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"

namespace kuma::ca {

/**
 * The bytes of Secret `name` of `mesh`.
 * @return NotFound when it does not exist; FailedPrecondition when Secret is not registered.
 */
absl::StatusOr<std::string> readSecret(const manager::ResourceManager& manager,
                                       const model::TypeRegistry& registry, const std::string& mesh,
                                       const std::string& name);

/**
 * Creates Secret `name` of `mesh` holding `bytes`, owned by the Mesh (so deleting the Mesh
 * deletes it). AlreadyExists is returned as is.
 */
absl::Status createSecret(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                          const std::string& mesh, const std::string& name,
                          const std::string& bytes);

}  // namespace kuma::ca
