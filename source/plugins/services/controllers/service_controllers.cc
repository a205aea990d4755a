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
    : manager_(manager), registry_(registry), options_(std::move(options)) {}

ServiceControllers::~ServiceControllers() {
  stop();
}

absl::Status ServiceControllers::start() {
  auto enabled = [this](const char* type) {
    return std::find(options_.enabledTypes.begin(), options_.enabledTypes.end(), type) !=
           options_.enabledTypes.end();
  };
  auto log = logging::logger("service-controllers");
  std::vector<Task> tasks;
  const absl::Time now = absl::Now();
  if (enabled("meshservices") && options_.generationInterval > absl::ZeroDuration()) {
    MeshServiceGeneratorOptions generatorOptions = options_.generator;
    generatorOptions.droppedLabels = &droppedLabels_;
    auto generator =
        std::make_shared<MeshServiceGenerator>(manager_, registry_, std::move(generatorOptions));
    tasks.push_back({"meshservice-generator", options_.generationInterval,
                     [generator] { generator->generate(); }, now + options_.generationInterval});
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
    tasks.push_back({"vip-allocator", options_.allocationInterval,
                     [allocator] { allocator->allocate(); }, now + options_.allocationInterval});
  }
  if (enabled("hostnamegenerators") && options_.allocationInterval > absl::ZeroDuration()) {
    auto hostnames = std::make_shared<HostnameGenerator>(manager_, registry_, options_.zone);
    tasks.push_back({"hostname-generator", options_.allocationInterval,
                     [hostnames] { hostnames->generate(); }, now + options_.allocationInterval});
  }
  if (options_.statusInterval > absl::ZeroDuration()) {
    auto status = std::make_shared<MeshServiceStatusUpdater>(manager_, registry_);
    tasks.push_back({"meshservice-status-updater", options_.statusInterval,
                     [status] { status->update(); }, now + options_.statusInterval});
  }
  if (options_.multiZoneStatusInterval > absl::ZeroDuration()) {
    auto status = std::make_shared<MeshMultiZoneServiceStatusUpdater>(manager_, registry_);
    tasks.push_back({"meshmultizoneservice-status-updater", options_.multiZoneStatusInterval,
                     [status] { status->update(); }, now + options_.multiZoneStatusInterval});
  }
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
  }
  if (!tasks.empty()) {
    thread_ = std::thread([this, tasks = std::move(tasks)]() mutable { loop(std::move(tasks)); });
  }
  return absl::OkStatus();
}

void ServiceControllers::stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) {
    thread_.join();
  }
}

void ServiceControllers::loop(std::vector<Task> tasks) {
  while (true) {
    auto next = std::min_element(tasks.begin(), tasks.end(),
                                 [](const Task& a, const Task& b) { return a.due < b.due; });
    {
      absl::MutexLock lock(&mu_);
      if (mu_.AwaitWithDeadline(absl::Condition(&stopping_), next->due)) {
        return;
      }
    }
    next->run();
    // Like Go's ticker: the next run is an interval after this one was due (skipping missed
    // ticks), so a slow pass does not make the runs pile up.
    const absl::Time now = absl::Now();
    do {
      next->due += next->interval;
    } while (next->due <= now);
  }
}

}  // namespace kuma::services
