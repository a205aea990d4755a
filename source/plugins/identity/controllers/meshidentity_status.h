#pragma once

// File: meshidentity_status.h
// Kuma 2.14's MeshIdentity reconciler (coreResources.status.meshIdentityInterval): the
// `status.conditions` of every MeshIdentity, in Kuma's order and words, then `Ready`:
// - a mesh whose `meshServices.mode` is not Exclusive: DependenciesReady False
//   (MeshServicesDisabled);
// - otherwise the provider step. kuma-cpp registers no identity provider yet (no Bundled CA,
//   no SPIRE), so a MeshIdentity with a provider gets Kuma's answer for an unknown provider,
//   Provider False (ProviderNotFoundError, "provider: Bundled not found"), and one without a
//   provider SpiffeIDProvider False (NotSupported): kuma-cpp does not issue SPIFFE IDs from
//   MeshIdentity templates, and the status says so rather than claim what Kuma does.
// Written only when the conditions changed.

#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"

namespace kuma::identity {

class MeshIdentityStatusUpdater {
 public:
  MeshIdentityStatusUpdater(manager::ResourceManager& manager, const model::TypeRegistry& registry);
  void update();

 private:
  manager::ResourceManager& manager_;
  const model::ResourceTypeDescriptor* const meshType_;
  const model::ResourceTypeDescriptor* const identityType_;
};

}  // namespace kuma::identity
