#pragma once

// File: meshmultizoneservice_status.h
// Kuma's MeshMultiZoneService status updater (pkg/core/resources/apis/meshmultizoneservice),
// every coreResources.status.meshMultiZoneServiceInterval: `status.meshServices` lists the
// MeshServices whose labels match `spec.selector.meshService.matchLabels` (as Kuma, of every
// mesh), sorted by name/namespace/zone/mesh, and the `MeshServicesMatched` condition says
// whether any matched.

#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"

namespace kuma::services {

class MeshMultiZoneServiceStatusUpdater {
 public:
  MeshMultiZoneServiceStatusUpdater(manager::ResourceManager& manager,
                                    const model::TypeRegistry& registry);

  /** One pass over every MeshMultiZoneService. */
  void update();

 private:
  manager::ResourceManager& manager_;
  const model::ResourceTypeDescriptor* const meshServiceType_;
  const model::ResourceTypeDescriptor* const multiZoneType_;
};

}  // namespace kuma::services
