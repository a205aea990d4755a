#include "source/plugins/identity/controllers/identity_controllers.h"

#include <algorithm>
#include <memory>

#include "source/common/logging.h"
#include "source/plugins/identity/controllers/meshidentity_status.h"
#include "source/plugins/identity/controllers/workload_controllers.h"

namespace kuma::identity {

IdentityControllers::IdentityControllers(manager::ResourceManager& manager,
                                         const model::TypeRegistry& registry,
                                         IdentityControllersOptions options)
    : manager_(manager),
      registry_(registry),
      options_(std::move(options)),
      tasks_("identity-controllers", [this] { return makeTasks(); }) {}

absl::StatusOr<std::vector<runtime::PeriodicTasks::Task>> IdentityControllers::makeTasks() {
  auto enabled = [this](const char* type) {
    return std::find(options_.enabledTypes.begin(), options_.enabledTypes.end(), type) !=
           options_.enabledTypes.end();
  };
  auto log = logging::logger("identity-controllers");
  std::vector<runtime::PeriodicTasks::Task> tasks;
  if (options_.kubernetesStore) {
    // Kuma: the pod controller derives Workloads on Kubernetes.
  } else if (options_.workloadGenerationInterval <= absl::ZeroDuration()) {
    log->info("Workload generator is disabled, Workloads must be managed manually");
  } else if (!enabled("workloads")) {
    log->info("Workload is not enabled. Skip starting generator for Workload.");
  } else {
    auto generator = std::make_shared<WorkloadGenerator>(manager_, registry_, options_.zone);
    tasks.push_back({"workload-generator", options_.workloadGenerationInterval,
                     [generator] { generator->generate(); }});
  }
  if (options_.workloadStatusInterval > absl::ZeroDuration()) {
    auto status = std::make_shared<WorkloadStatusUpdater>(manager_, registry_);
    tasks.push_back({"workload-status-updater", options_.workloadStatusInterval,
                     [status] { status->update(); }});
  }
  if (!enabled("meshidentities")) {
    log->info("MeshIdentity is not enabled. Skip starting generator for MeshIdentity.");
  } else if (options_.meshIdentityInterval > absl::ZeroDuration()) {
    auto status = std::make_shared<MeshIdentityStatusUpdater>(manager_, registry_);
    tasks.push_back({"meshidentity-status-updater", options_.meshIdentityInterval,
                     [status] { status->update(); }});
  }
  return tasks;
}

}  // namespace kuma::identity
