#pragma once

// File: mesh.h
// Mesh rules: validation of a Mesh spec (mTLS backends, tracing/logging/metrics backends,
// constraints), the update rule that needs the previous version (no CA switch while mTLS is on),
// and the prometheus metrics defaulting Kuma applies on every write.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "api/mesh/v1alpha1/mesh.pb.h"
#include "kuma/model/resource.h"
#include "source/core/validators/validation_error.h"

namespace kuma::resources {

/**
 * Appends every violation of a Mesh spec.
 * @param meshName the resource name (the builtin CA secret name `<mesh>.ca-builtin-cert-<b>`
 *        must be a valid DNS name).
 */
void validateMesh(const mesh::v1alpha1::Mesh& mesh, std::string_view meshName,
                  validators::ValidationError& errors);

/**
 * Kuma's MeshResource.Deprecations: a warning when the name is not a DNS-1035 label
 * (apimachinery's NameIsDNS1035Label texts). Empty when it is.
 */
std::vector<std::string> meshDeprecations(std::string_view meshName);

/**
 * Rules that compare an update with the stored Mesh: changing `mtls.enabledBackend` while mTLS
 * stays enabled is forbidden.
 * @return OK, or InvalidArgument carrying the violation (ValidationError::toStatus) at
 *         `mtls.enabledBackend`. Resources that are not Meshes are accepted.
 */
absl::Status validateMeshUpdate(const model::Resource& oldMesh, const model::Resource& newMesh);

/** Same rule on typed specs, appending to `errors`. */
void validateMeshUpdate(const mesh::v1alpha1::Mesh& oldMesh, const mesh::v1alpha1::Mesh& newMesh,
                        validators::ValidationError& errors);

/**
 * Fills Kuma's defaults into every `prometheus` metrics backend conf: port 5670, path /metrics,
 * tags {kuma.io/service: dataplane-metrics}, tls.mode activeMTLSBackend (disabled when the
 * deprecated skipMTLS is true).
 * @return the changed spec, or nullopt when nothing changes.
 */
std::optional<mesh::v1alpha1::Mesh> meshWithDefaults(const mesh::v1alpha1::Mesh& mesh);

/** True when the Mesh has mTLS enabled (`mtls.enabledBackend` set). */
bool meshMtlsEnabled(const mesh::v1alpha1::Mesh& mesh);

/** The enabled CA backend of `mesh` (`mtls.enabledBackend`), or nullptr when mTLS is off. */
const mesh::v1alpha1::CertificateAuthorityBackend* enabledCaBackend(
    const mesh::v1alpha1::Mesh& mesh);

}  // namespace kuma::resources
