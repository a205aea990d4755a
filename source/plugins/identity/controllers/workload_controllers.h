#pragma once

// File: workload_controllers.h
// Kuma 2.14's two Workload controllers of a Universal zone:
// - WorkloadGenerator (runtime.universal.workload.generationInterval): per mesh, one Workload per
//   `kuma.io/workload` label value of its Dataplanes (a DNS-1035 label; others are logged and
//   skipped), labelled `kuma.io/managed-by: workload-generator`; a Workload no Dataplane names
//   any more is deleted (Kuma deletes every such Workload of the mesh, hand-made ones included).
// - WorkloadStatusUpdater (coreResources.status.workloadInterval): a local Workload's
//   `status.dataplaneProxies`: the Dataplanes of its mesh whose `kuma.io/workload` label is its
//   display name (total), those with an online insight (connected) and those with a healthy
//   inbound (healthy). Written only when it changed.

#include <string>

#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"

namespace kuma::identity {

class WorkloadGenerator {
 public:
  WorkloadGenerator(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                    std::string zone);
  /** One pass over every mesh. */
  void generate();

 private:
  void generateMesh(const std::string& mesh);

  manager::ResourceManager& manager_;
  const model::ResourceTypeDescriptor* const meshType_;
  const model::ResourceTypeDescriptor* const dataplaneType_;
  const model::ResourceTypeDescriptor* const workloadType_;
  const std::string zone_;
};

class WorkloadStatusUpdater {
 public:
  WorkloadStatusUpdater(manager::ResourceManager& manager, const model::TypeRegistry& registry);
  void update();

 private:
  manager::ResourceManager& manager_;
  const model::ResourceTypeDescriptor* const dataplaneType_;
  const model::ResourceTypeDescriptor* const insightType_;
  const model::ResourceTypeDescriptor* const workloadType_;
};

}  // namespace kuma::identity
