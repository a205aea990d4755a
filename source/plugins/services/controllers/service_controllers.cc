#include "source/plugins/services/controllers/service_controllers.h"

#include <algorithm>

#include "source/common/logging.h"
#include "source/plugins/services/controllers/hostname_generator.h"
#include "source/plugins/services/controllers/meshmultizoneservice_status.h"
#include "source/plugins/services/controllers/meshservice_status.h"
#include "source/plugins/services/controllers/vip_allocator.h"

namespace kuma::services {

ServiceControllers::ServiceControllers(manager::ResourceManager& manager,
                                       const model::TypeRegistry& registry,
                                       ServiceControllersOptions options)
    : manager_(manager),
      registry_(registry),
      options_(std::move(options)),
      tasks_("service-controllers", [this] { return makeTasks(); }) {}

absl::StatusOr<std::vector<runtime::PeriodicTasks::Task>> ServiceControllers::makeTasks() {
  auto enabled = [this](const char* type) {
    return std::find(options_.enabledTypes.begin(), options_.enabledTypes.end(), type) !=
           options_.enabledTypes.end();
  };
  auto log = logging::logger("service-controllers");
  std::vector<runtime::PeriodicTasks::Task> tasks;
  if (enabled("meshservices") && options_.generationInterval > absl::ZeroDuration()) {
    MeshServiceGeneratorOptions generatorOptions = options_.generator;
    generatorOptions.droppedLabels = &droppedLabels_;
    auto generator =
        std::make_shared<MeshServiceGenerator>(manager_, registry_, std::move(generatorOptions));
    tasks.push_back({"meshservice-generator", options_.generationInterval,
                     [generator] { generator->generate(); }});
  } else {
    log->info("MeshService generator is disabled, MeshServices must be managed manually");
  }
  if (enabled("meshservices") && options_.allocationInterval > absl::ZeroDuration()) {
    std::vector<VipAllocator::Target> targets;
    for (const auto& [type, cidr] :
         {std::pair{"MeshService", options_.meshServiceCidr},
          std::pair{"MeshExternalService", options_.meshExternalServiceCidr},
          std::pair{"MeshMultiZoneService", options_.meshMultiZoneServiceCidr}}) {
      if (const model::ResourceTypeDescriptor* d = registry_.byName(type)) {
        targets.push_back({d, cidr});
      }
    }
    auto allocator = std::make_shared<VipAllocator>(manager_, std::move(targets));
    if (absl::Status s = allocator->init(); !s.ok()) {
      return s;
    }
    tasks.push_back(
        {"vip-allocator", options_.allocationInterval, [allocator] { allocator->allocate(); }});
  }
  if (enabled("hostnamegenerators") && options_.allocationInterval > absl::ZeroDuration()) {
    auto hostnames = std::make_shared<HostnameGenerator>(manager_, registry_, options_.zone);
    tasks.push_back({"hostname-generator", options_.allocationInterval,
                     [hostnames] { hostnames->generate(); }});
  }
  if (options_.statusInterval > absl::ZeroDuration()) {
    auto status = std::make_shared<MeshServiceStatusUpdater>(manager_, registry_);
    tasks.push_back(
        {"meshservice-status-updater", options_.statusInterval, [status] { status->update(); }});
  }
  if (options_.multiZoneStatusInterval > absl::ZeroDuration()) {
    auto status = std::make_shared<MeshMultiZoneServiceStatusUpdater>(manager_, registry_);
    tasks.push_back({"meshmultizoneservice-status-updater", options_.multiZoneStatusInterval,
                     [status] { status->update(); }});
  }
  return tasks;
}

}  // namespace kuma::services
