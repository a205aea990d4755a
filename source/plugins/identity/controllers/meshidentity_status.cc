#include "source/plugins/identity/controllers/meshidentity_status.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "api/mesh/v1alpha1/mesh.pb.h"
#include "source/common/logging.h"
#include "source/core/model/proto_spec.h"
#include "source/plugins/services/controllers/service_resource.h"

namespace kuma::identity {
namespace {

using mesh::v1alpha1::Mesh;
using nlohmann::json;

json condition(const char* type, const char* status, const char* reason, std::string message) {
  return {{"type", type}, {"status", status}, {"reason", reason}, {"message", std::move(message)}};
}

// Kuma's initialize(): the conditions before `Ready`.
json initConditions(const Mesh* mesh, const json& spec) {
  if (mesh == nullptr || mesh->mesh_services().mode() != Mesh::MeshServices::Exclusive) {
    return json::array({condition("DependenciesReady", "False", "MeshServicesDisabled",
                                  "MeshIdentity requires MeshServices to be enabled on the mesh. "
                                  "To enable, set `spec.meshServices.mode: Exclusive` on the "
                                  "mesh.")});
  }
  auto provider = spec.find("provider");
  if (provider == spec.end() || !provider->is_object()) {
    return json::array({condition("SpiffeIDProvider", "False", "NotSupported",
                                  "This control plane does not provide SpiffeIDs from "
                                  "MeshIdentity yet.")});
  }
  return json::array(
      {condition("Provider", "False", "ProviderNotFoundError",
                 absl::StrCat("provider: ", provider->value("type", ""), " not found"))});
}

}  // namespace

MeshIdentityStatusUpdater::MeshIdentityStatusUpdater(manager::ResourceManager& manager,
                                                     const model::TypeRegistry& registry)
    : manager_(manager),
      meshType_(registry.byName("Mesh")),
      identityType_(registry.byName("MeshIdentity")) {}

void MeshIdentityStatusUpdater::update() {
  if (meshType_ == nullptr || identityType_ == nullptr) {
    return;
  }
  auto log = logging::logger("meshidentity-status");
  auto identities = manager_.store().list(*identityType_, {});
  if (!identities.ok()) {
    log->error("failed to list MeshIdentities: {}", identities.status().ToString());
    return;
  }
  for (const auto& identity : identities->items) {
    auto mesh = manager_.store().get(*meshType_, {identity->meta.mesh, ""});
    if (!mesh.ok()) {
      log->error("failed to get Mesh {}: {}", identity->meta.mesh, mesh.status().ToString());
      continue;
    }
    services::SpecAndStatus s = services::specAndStatusOf(*identity);
    json conditions = initConditions(model::protoSpecOf<Mesh>(**mesh), s.spec);
    // Kuma's summary: any failed step fails the whole. (Kuma's PartiallyReady, for an identity
    // that only provides SpiffeIDs, needs a step this control plane does not take.)
    const char* status = "True";
    const char* reason = "Ready";
    std::string message = "Successfully initialized";
    for (const json& c : conditions) {
      if (c["status"] == "False") {
        status = "False";
        reason = "Failure";
        message = "One of initialization steps failed";
      }
    }
    conditions.push_back(condition("Ready", status, reason, message));
    if (s.status.value("conditions", json::array()) == conditions) {
      continue;
    }
    s.status["conditions"] = std::move(conditions);
    (void)services::writeSpecAndStatus(manager_, *identity, s.spec, s.status, "meshidentity-status",
                                       "status");
  }
}

}  // namespace kuma::identity
