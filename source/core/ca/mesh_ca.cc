#include "source/core/ca/mesh_ca.h"

#include "absl/strings/str_cat.h"
#include "source/common/logging.h"
#include "source/core/ca/builtin_ca_manager.h"
#include "source/core/ca/provided_ca_manager.h"
#include "source/core/model/proto_spec.h"

namespace kuma::ca {
namespace {

const mesh::v1alpha1::Mesh* meshSpec(const model::Resource& resource) {
  return model::protoSpecOf<mesh::v1alpha1::Mesh>(resource);
}

absl::Status ensureHook(const CaManagers& cas, const model::Resource& mesh) {
  const auto* spec = meshSpec(mesh);
  if (spec == nullptr) {
    return absl::OkStatus();
  }
  absl::Status s = ensureMeshBackends(cas, mesh.meta.name, *spec);
  if (!s.ok()) {
    logging::logger("ca")->error("could not ensure the CAs of mesh {}: {}", mesh.meta.name,
                                 std::string(s.message()));
  }
  return s;
}

}  // namespace

CaManagers defaultCaManagers(manager::ResourceManager& manager,
                             const model::TypeRegistry& registry) {
  CaManagers cas;
  cas.add("builtin", std::make_unique<BuiltinCaManager>(manager, registry));
  cas.add("provided", std::make_unique<ProvidedCaManager>(manager, registry));
  return cas;
}

absl::Status validateMeshBackends(const CaManagers& cas, const std::string& meshName,
                                  const mesh::v1alpha1::Mesh& mesh,
                                  validators::ValidationError& errors) {
  const validators::PathBuilder path = validators::PathBuilder("mtls").field("backends");
  for (int i = 0; i < mesh.mtls().backends_size(); ++i) {
    const Backend& backend = mesh.mtls().backends(i);
    const CaManager* ca = cas.find(backend.type());
    if (ca == nullptr) {
      continue;  // the spec validation reports unknown types
    }
    if (mesh.mtls().skip_validation()) {
      // Kuma's ValidateMTLSBackends: skipValidation skips only the CA plugin's check of the
      // backend (its conf and the secrets it names), e.g. for a Mesh applied before its CA
      // secrets by `kumactl apply` of an export.
      continue;
    }
    validators::ValidationError conf;
    if (absl::Status s = ca->validateBackend(meshName, backend, conf); !s.ok()) {
      return s;
    }
    errors.addAt(path.index(static_cast<size_t>(i)).field("conf"), conf);
  }
  return absl::OkStatus();
}

absl::Status ensureMeshBackends(const CaManagers& cas, const std::string& meshName,
                                const mesh::v1alpha1::Mesh& mesh) {
  for (const Backend& backend : mesh.mtls().backends()) {
    CaManager* ca = cas.find(backend.type());
    if (ca == nullptr) {
      continue;
    }
    if (absl::Status s = ca->ensure(meshName, backend); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

void installMeshCa(manager::ResourceManager& manager, const CaManagers& cas) {
  manager.addMeshValidator([&cas](const model::Resource& mesh) -> absl::Status {
    const auto* spec = meshSpec(mesh);
    if (spec == nullptr) {
      return absl::OkStatus();
    }
    validators::ValidationError errors;
    if (absl::Status s = validateMeshBackends(cas, mesh.meta.name, *spec, errors); !s.ok()) {
      return s;
    }
    return errors.toStatus();
  });
  manager.onMeshCreated([&cas](const model::Resource& mesh) { return ensureHook(cas, mesh); });
  manager.onMeshUpdated([&cas](const model::Resource& mesh) { return ensureHook(cas, mesh); });
}

}  // namespace kuma::ca
