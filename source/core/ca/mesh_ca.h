#pragma once

// File: mesh_ca.h
// Wires the CA managers into the Mesh write path (Kuma's mesh manager): every Mesh create and
// update validates each mTLS backend's conf with its CA manager (violations at
// `mtls.backends[i].conf...`, a 400 on the REST API) and, once written, ensures each backend
// (the builtin CA's Secrets appear right after the Mesh).
//
//   ca::CaManagers cas = ca::defaultCaManagers(manager, registry);
//   ca::installMeshCa(manager, cas);

#include "source/core/ca/ca_manager.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"

namespace kuma::ca {

/** The `builtin` and `provided` managers; `manager` and `registry` must outlive them. */
CaManagers defaultCaManagers(manager::ResourceManager& manager,
                             const model::TypeRegistry& registry);

/**
 * Appends the violations of every mTLS backend of `mesh` (named `meshName`) to `errors`.
 * @return OK, or an error when a check could not run.
 */
absl::Status validateMeshBackends(const CaManagers& cas, const std::string& meshName,
                                  const mesh::v1alpha1::Mesh& mesh,
                                  validators::ValidationError& errors);

/** Ensures every mTLS backend of `mesh` (not only the enabled one, as Kuma). */
absl::Status ensureMeshBackends(const CaManagers& cas, const std::string& meshName,
                                const mesh::v1alpha1::Mesh& mesh);

/**
 * Registers the validator and the created/updated hooks on `manager`. `cas` must outlive it.
 * Call once at start-up, before any Mesh is written.
 */
void installMeshCa(manager::ResourceManager& manager, const CaManagers& cas);

}  // namespace kuma::ca
