#include "source/plugins/identity/controllers/workload_controllers.h"

#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_join.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "api/mesh/v1alpha1/dataplane_insight.pb.h"
#include "source/common/logging.h"
#include "source/core/manager/meta_validation.h"
#include "source/core/model/proto_spec.h"
#include "source/core/store/errors.h"
#include "source/plugins/services/controllers/service_resource.h"

namespace kuma::identity {
namespace {

using mesh::v1alpha1::Dataplane;
using mesh::v1alpha1::DataplaneInsight;

constexpr char kWorkloadLabel[] = "kuma.io/workload";
constexpr char kManagedBy[] = "workload-generator";

std::string labelOf(const model::Resource& r, std::string_view key) {
  auto it = r.meta.labels.find(std::string(key));
  return it == r.meta.labels.end() ? std::string() : it->second;
}

std::string displayName(const model::Resource& r) {
  std::string name = labelOf(r, manager::kDisplayNameLabel);
  return name.empty() ? r.meta.name : name;
}

// Kuma's GetHealthyInbounds() is not empty: an inbound in state Ready whose health, when
// reported, is ready.
bool hasHealthyInbound(const model::Resource& dataplane) {
  const auto* dp = model::protoSpecOf<Dataplane>(dataplane);
  if (dp == nullptr) {
    return false;
  }
  for (const auto& inbound : dp->networking().inbound()) {
    if (inbound.state() == Dataplane::Networking::Inbound::Ready &&
        (!inbound.has_health() || inbound.health().ready())) {
      return true;
    }
  }
  return false;
}

}  // namespace

WorkloadGenerator::WorkloadGenerator(manager::ResourceManager& manager,
                                     const model::TypeRegistry& registry, std::string zone)
    : manager_(manager),
      meshType_(registry.byName("Mesh")),
      dataplaneType_(registry.byName("Dataplane")),
      workloadType_(registry.byName("Workload")),
      zone_(std::move(zone)) {}

void WorkloadGenerator::generate() {
  if (meshType_ == nullptr || dataplaneType_ == nullptr || workloadType_ == nullptr) {
    return;
  }
  auto meshes = manager_.store().list(*meshType_, {});
  if (!meshes.ok()) {
    logging::logger("workload-generator")
        ->error("could not list Meshes: {}", meshes.status().ToString());
    return;
  }
  for (const auto& mesh : meshes->items) {
    generateMesh(mesh->meta.name);
  }
}

void WorkloadGenerator::generateMesh(const std::string& mesh) {
  auto log = logging::logger("workload-generator");
  store::ListOptions inMesh;
  inMesh.mesh = mesh;
  auto dataplanes = manager_.store().list(*dataplaneType_, inMesh);
  auto workloads = manager_.store().list(*workloadType_, inMesh);
  if (!dataplanes.ok() || !workloads.ok()) {
    log->error("could not list Dataplanes and Workloads of mesh {}: {}", mesh,
               (!dataplanes.ok() ? dataplanes.status() : workloads.status()).ToString());
    return;
  }
  std::set<std::string> wanted;
  for (const auto& dataplane : services::byCreationTime(dataplanes->items)) {
    const std::string name = labelOf(*dataplane, kWorkloadLabel);
    if (name.empty()) {
      continue;
    }
    if (auto errors = manager::dns1035LabelErrors(name); !errors.empty()) {
      log->info(
          "couldn't generate Workload from kuma.io/workload label, contains invalid characters "
          "(value {}, dataplane {}): {}",
          name, dataplane->meta.name, absl::StrJoin(errors, "; "));
      continue;
    }
    wanted.insert(name);
  }
  for (const auto& workload : workloads->items) {
    const std::string& name = workload->meta.name;
    if (wanted.erase(name) > 0) {
      continue;
    }
    if (absl::Status s = manager_.remove(*workloadType_, {name, mesh}); s.ok()) {
      log->info("deleted Workload {} (mesh {})", name, mesh);
    } else if (!store::isNotFound(s)) {
      log->error("couldn't delete Workload {} (mesh {}): {}", name, mesh, s.ToString());
    }
  }
  for (const std::string& name : wanted) {
    auto spec = workloadType_->parseSpec(nlohmann::json{{"spec", nlohmann::json::object()}});
    if (!spec.ok()) {
      log->error("couldn't create Workload {} (mesh {}): {}", name, mesh, spec.status().ToString());
      continue;
    }
    model::Resource resource;
    resource.descriptor = workloadType_;
    resource.meta.name = name;
    resource.meta.mesh = mesh;
    resource.meta.labels = {{manager::kMeshLabel, mesh},
                            {std::string(services::kManagedByLabel), kManagedBy},
                            {manager::kEnvLabel, "universal"},
                            {manager::kZoneLabel, zone_}};
    resource.spec = std::move(*spec);
    if (auto created = manager_.createGenerated(std::move(resource)); !created.ok()) {
      if (!store::isAlreadyExists(created.status())) {
        log->error("couldn't create Workload {} (mesh {}): {}", name, mesh,
                   created.status().ToString());
      }
      continue;
    }
    log->debug("created Workload {} (mesh {})", name, mesh);
  }
}

WorkloadStatusUpdater::WorkloadStatusUpdater(manager::ResourceManager& manager,
                                             const model::TypeRegistry& registry)
    : manager_(manager),
      dataplaneType_(registry.byName("Dataplane")),
      insightType_(registry.byName("DataplaneInsight")),
      workloadType_(registry.byName("Workload")) {}

void WorkloadStatusUpdater::update() {
  if (dataplaneType_ == nullptr || insightType_ == nullptr || workloadType_ == nullptr) {
    return;
  }
  auto log = logging::logger("workload-status-updater");
  auto workloads = manager_.store().list(*workloadType_, {});
  if (!workloads.ok()) {
    log->error("could not update status of workloads: could not list Workloads: {}",
               workloads.status().ToString());
    return;
  }
  if (workloads->items.empty()) {
    return;
  }
  auto insights = manager_.store().list(*insightType_, {});
  auto dataplanes = manager_.store().list(*dataplaneType_, {});
  if (!insights.ok() || !dataplanes.ok()) {
    log->error("could not update status of workloads: {}",
               (!insights.ok() ? insights.status() : dataplanes.status()).ToString());
    return;
  }
  std::set<std::pair<std::string, std::string>> online;  // (mesh, name)
  for (const auto& insight : insights->items) {
    const auto* spec = model::protoSpecOf<DataplaneInsight>(*insight);
    if (spec != nullptr && services::dataplaneInsightOnline(*spec)) {
      online.emplace(insight->meta.mesh, insight->meta.name);
    }
  }
  struct Counts {
    int64_t connected = 0;
    int64_t healthy = 0;
    int64_t total = 0;
  };
  std::map<std::pair<std::string, std::string>, Counts> byWorkload;  // (mesh, workload)
  for (const auto& dataplane : dataplanes->items) {
    const std::string workload = labelOf(*dataplane, kWorkloadLabel);
    if (workload.empty()) {
      continue;
    }
    Counts& counts = byWorkload[{dataplane->meta.mesh, workload}];
    ++counts.total;
    counts.connected += online.count({dataplane->meta.mesh, dataplane->meta.name}) > 0 ? 1 : 0;
    counts.healthy += hasHealthyInbound(*dataplane) ? 1 : 0;
  }
  for (const auto& workload : workloads->items) {
    if (!services::isLocalResource(*workload)) {
      continue;
    }
    Counts counts;
    if (auto it = byWorkload.find({workload->meta.mesh, displayName(*workload)});
        it != byWorkload.end()) {
      counts = it->second;
    }
    const nlohmann::json proxies = {
        {"connected", counts.connected}, {"healthy", counts.healthy}, {"total", counts.total}};
    services::SpecAndStatus s = services::specAndStatusOf(*workload);
    if (s.status.value("dataplaneProxies", nlohmann::json()) == proxies) {
      continue;
    }
    log->info("updating workload {} (mesh {}), reason: data plane proxies", workload->meta.name,
              workload->meta.mesh);
    s.status["dataplaneProxies"] = proxies;
    (void)services::writeSpecAndStatus(manager_, *workload, s.spec, s.status,
                                       "workload-status-updater", "status");
  }
}

}  // namespace kuma::identity
