#pragma once

// File: meshservice_status.h
// Kuma's MeshService status updater (pkg/core/resources/apis/meshservice/status), every
// coreResources.status.meshServiceInterval, for the zone's own MeshServices: the Dataplanes the
// selector matches give `spec.identities` (their `kuma.io/service` values, or `kuma.io/workload`
// labels, as ServiceTag identities), `status.dataplaneProxies` (total, connected = with an online
// DataplaneInsight, healthy = every port has a Ready inbound), `spec.state` (Available once one
// is healthy) and `status.tls` (mTLS meshes: Ready once every proxy has a certificate, and it
// stays Ready; otherwise NotReady). kuma-cpp models no MeshIdentity, so SpiffeID identities
// and identity-based TLS readiness do not occur.

#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"

namespace kuma::services {

class MeshServiceStatusUpdater {
 public:
  MeshServiceStatusUpdater(manager::ResourceManager& manager, const model::TypeRegistry& registry);

  /** One pass over every MeshService. */
  void update();

 private:
  manager::ResourceManager& manager_;
  const model::ResourceTypeDescriptor* const meshType_;
  const model::ResourceTypeDescriptor* const dataplaneType_;
  const model::ResourceTypeDescriptor* const insightType_;
  const model::ResourceTypeDescriptor* const meshServiceType_;
};

/** Whether `selector` (a MeshService's spec.selector) selects the Dataplane, as Kuma matches. */
bool meshServiceSelects(const nlohmann::json& spec, const model::Resource& dataplane);

}  // namespace kuma::services
