#pragma once

// File: service_controllers.h
// The leader-only component that runs Kuma's service-discovery controllers of a Universal zone,
// each on its own interval (Kuma's keys): the MeshService generator
// (meshService.generationInterval; 0 disables it, as in Kuma), the VIP allocator
// (ipam.allocationInterval), the hostname generator (ipam.allocationInterval, as Kuma wires it)
// and the status updaters of MeshService and MeshMultiZoneService
// (coreResources.status.meshServiceInterval, .meshMultiZoneServiceInterval). One thread runs
// them all (runtime::PeriodicTasks); stop() joins it. Restartable (a leader may lose and regain
// the lock).

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "kuma/runtime/component.h"
#include "source/core/runtime/periodic_tasks.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"
#include "source/plugins/services/controllers/meshservice_generator.h"

namespace kuma::services {

struct ServiceControllersOptions {
  std::string zone = "default";
  MeshServiceGeneratorOptions generator;
  absl::Duration generationInterval = absl::Seconds(2);
  absl::Duration allocationInterval = absl::Seconds(5);
  absl::Duration statusInterval = absl::Seconds(5);           // MeshService
  absl::Duration multiZoneStatusInterval = absl::Seconds(5);  // MeshMultiZoneService
  std::string meshServiceCidr = "241.0.0.0/8";
  std::string meshExternalServiceCidr = "242.0.0.0/8";
  std::string meshMultiZoneServiceCidr = "243.0.0.0/8";
  /** coreResources.enabled: the controllers of a type not listed there do not run. */
  std::vector<std::string> enabledTypes = {"hostnamegenerators", "meshexternalservices",
                                           "meshmultizoneservices", "meshservices"};
};

class ServiceControllers : public runtime::Component {
 public:
  ServiceControllers(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                     ServiceControllersOptions options);
  ~ServiceControllers() override = default;

  // kuma::runtime::Component
  std::string name() const override { return "service-controllers"; }

  /** Labels the MeshService generator dropped (meshService.labelPropagation), since start. */
  const DroppedLabels& droppedLabels() const { return droppedLabels_; }
  absl::Status start() override { return tasks_.start(); }
  void stop() override { tasks_.stop(); }

 private:
  absl::StatusOr<std::vector<runtime::PeriodicTasks::Task>> makeTasks();

  manager::ResourceManager& manager_;
  const model::TypeRegistry& registry_;
  const ServiceControllersOptions options_;
  DroppedLabels droppedLabels_;
  runtime::PeriodicTasks tasks_;
};

}  // namespace kuma::services
