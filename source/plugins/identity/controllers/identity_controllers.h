#pragma once

// File: identity_controllers.h
// The leader-only component that runs the identity types' controllers of a Universal zone on
// Kuma's intervals (one thread, runtime::PeriodicTasks): the Workload generator
// (runtime.universal.workload.generationInterval; 0, a `workloads` type not in
// coreResources.enabled, or the Kubernetes store disable it, as in Kuma), the Workload status
// updater (coreResources.status.workloadInterval) and the MeshIdentity reconciler
// (coreResources.status.meshIdentityInterval; needs `meshidentities` enabled).

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "kuma/runtime/component.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"
#include "source/core/runtime/periodic_tasks.h"

namespace kuma::identity {

struct IdentityControllersOptions {
  std::string zone = "default";
  absl::Duration workloadGenerationInterval = absl::Seconds(2);
  absl::Duration workloadStatusInterval = absl::Seconds(5);
  absl::Duration meshIdentityInterval = absl::Seconds(5);
  /** Kuma runs no Workload generator with the Kubernetes store (the pod controller's job). */
  bool kubernetesStore = false;
  std::vector<std::string> enabledTypes = {"meshidentities", "meshtrusts", "workloads"};
};

class IdentityControllers : public runtime::Component {
 public:
  IdentityControllers(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                      IdentityControllersOptions options);

  std::string name() const override { return "identity-controllers"; }
  absl::Status start() override { return tasks_.start(); }
  void stop() override { tasks_.stop(); }

 private:
  absl::StatusOr<std::vector<runtime::PeriodicTasks::Task>> makeTasks();

  manager::ResourceManager& manager_;
  const model::TypeRegistry& registry_;
  const IdentityControllersOptions options_;
  runtime::PeriodicTasks tasks_;
};

}  // namespace kuma::identity
