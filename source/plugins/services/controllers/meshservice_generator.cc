#include "source/plugins/services/controllers/meshservice_generator.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "api/mesh/v1alpha1/mesh.pb.h"
#include "source/common/logging.h"
#include "source/core/model/proto_spec.h"
#include "source/core/model/rest_codec.h"
#include "source/core/manager/meta_validation.h"
#include "source/core/store/errors.h"
#include "source/plugins/services/common.h"
#include "source/plugins/services/controllers/service_resource.h"

namespace kuma::services {
namespace {

using mesh::v1alpha1::Dataplane;

constexpr char kManagedBy[] = "meshservice-generator";
constexpr char kGracePeriodLabel[] = "kuma.io/deletion-grace-period-started-at";
constexpr char kServiceTag[] = "kuma.io/service";
constexpr char kProtocolTag[] = "kuma.io/protocol";
constexpr char kWorkloadLabel[] = "kuma.io/workload";

// Kuma's core_meta.ParseProtocol: a known protocol, lower-cased, or "" (unknown).
std::string parseProtocol(const std::string& value) {
  const std::string p = absl::AsciiStrToLower(value);
  for (const char* known : {"http", "http2", "tcp", "tls", "grpc", "kafka", "mysql"}) {
    if (p == known) {
      return p;
    }
  }
  return "";
}

nlohmann::json portOf(const Dataplane::Networking::Inbound& inbound, const std::string& protocol) {
  const std::string parsed = parseProtocol(protocol);
  return {{"name", inbound.name().empty() ? std::to_string(inbound.port()) : inbound.name()},
          {"port", inbound.port()},
          {"targetPort", inbound.port()},
          {"appProtocol", parsed.empty() ? "tcp" : parsed}};
}

// What one Dataplane contributes to one MeshService.
struct Contribution {
  std::string dataplane;
  nlohmann::json spec;  // {selector, ports}
  const model::Resource* resource = nullptr;
  Labels labels;  // meshService.labelPropagation: its propagated labels
};

// Kuma's checkMeshServicesConsistency: the spec to keep (the current one, unless every
// Dataplane disagrees with it, then the first Dataplane's) and the Dataplanes whose ports differ.
const nlohmann::json* consistentSpec(const nlohmann::json* current,
                                     const std::vector<Contribution>& generated,
                                     std::vector<std::string>& conflicting) {
  if (generated.empty()) {
    return nullptr;
  }
  const nlohmann::json* chosen = current != nullptr ? current : &generated.front().spec;
  for (int round = 0; round < 2; round++) {
    conflicting.clear();
    const nlohmann::json ports = chosen->value("ports", nlohmann::json::array());
    for (const Contribution& c : generated) {
      if (c.spec.value("ports", nlohmann::json::array()) != ports) {
        conflicting.push_back(c.dataplane);
      }
    }
    if (conflicting.size() < generated.size()) {
      break;
    }
    chosen = &generated.front().spec;
  }
  return chosen;
}

}  // namespace

MeshServiceGenerator::MeshServiceGenerator(manager::ResourceManager& manager,
                                           const model::TypeRegistry& registry,
                                           MeshServiceGeneratorOptions options)
    : manager_(manager),
      meshType_(registry.byName("Mesh")),
      dataplaneType_(registry.byName("Dataplane")),
      meshServiceType_(registry.byName("MeshService")),
      options_(std::move(options)),
      propagation_(options_.labelPropagation, options_.allowedLabelKeys, options_.droppedLabels) {}

void MeshServiceGenerator::generate() {
  if (meshType_ == nullptr || dataplaneType_ == nullptr || meshServiceType_ == nullptr) {
    return;
  }
  auto meshes = manager_.store().list(*meshType_, {});
  if (!meshes.ok()) {
    logging::logger("meshservice-generator")
        ->error("could not list Meshes: {}", meshes.status().ToString());
    return;
  }
  for (const auto& mesh : meshes->items) {
    const auto* spec = model::protoSpecOf<mesh::v1alpha1::Mesh>(*mesh);
    const bool enabled = spec != nullptr && spec->mesh_services().mode() !=
                                                mesh::v1alpha1::Mesh_MeshServices_Mode_Disabled;
    generateMesh(mesh->meta.name, enabled);
  }
}

void MeshServiceGenerator::generateMesh(const std::string& mesh, bool enabled) {
  auto log = logging::logger("meshservice-generator");
  store::ListOptions inMesh;
  inMesh.mesh = mesh;
  auto services = manager_.store().list(*meshServiceType_, inMesh);
  if (!services.ok()) {
    log->error("could not list MeshServices of mesh {}: {}", mesh, services.status().ToString());
    return;
  }
  auto managed = [](const model::Resource& r) {
    auto it = r.meta.labels.find(std::string(kManagedByLabel));
    return isLocalResource(r) && it != r.meta.labels.end() && it->second == kManagedBy;
  };
  if (!enabled) {
    for (const auto& service : services->items) {
      if (!managed(*service)) {
        continue;
      }
      if (absl::Status s = manager_.remove(*meshServiceType_, {service->meta.name, mesh}); s.ok()) {
        log->info("deleted MeshService {} (mesh {})", service->meta.name, mesh);
      } else if (!store::isNotFound(s)) {
        log->error("couldn't delete MeshService {} (mesh {}): {}", service->meta.name, mesh,
                   s.ToString());
      }
    }
    return;
  }
  auto dataplanes = manager_.store().list(*dataplaneType_, inMesh);
  if (!dataplanes.ok()) {
    log->error("could not list Dataplanes of mesh {}: {}", mesh, dataplanes.status().ToString());
    return;
  }
  const std::vector<model::ResourceConstSharedPtr> sorted = byCreationTime(dataplanes->items);

  // MeshService name -> what each Dataplane (in order) makes of it.
  std::map<std::string, std::vector<Contribution>> generated;
  for (const auto& dataplane : sorted) {
    const auto* dp = model::protoSpecOf<Dataplane>(*dataplane);
    if (dp == nullptr) {
      continue;
    }
    if (options_.inboundTagsDisabled) {
      auto workload = dataplane->meta.labels.find(kWorkloadLabel);
      if (workload == dataplane->meta.labels.end() || workload->second.empty() ||
          !manager::dns1035LabelErrors(workload->second).empty()) {
        continue;
      }
      nlohmann::json ports = nlohmann::json::array();
      std::vector<const Dataplane::Networking::Inbound*> inbounds;
      for (const auto& inbound : dp->networking().inbound()) {
        ports.push_back(portOf(inbound, inbound.protocol()));
        inbounds.push_back(&inbound);
      }
      if (ports.empty()) {
        continue;
      }
      generated[workload->second].push_back(
          {dataplane->meta.name,
           {{"selector",
             {{"dataplaneLabels", {{"matchLabels", {{kWorkloadLabel, workload->second}}}}}}},
            {"ports", std::move(ports)}},
           dataplane.get(),
           propagation_.enabled()
               ? propagation_.contribution(*dataplane, inbounds, workload->second)
               : Labels{}});
      continue;
    }
    std::map<std::string, nlohmann::json> portsByService;
    std::map<std::string, std::vector<const Dataplane::Networking::Inbound*>> inboundsByService;
    for (const auto& inbound : dp->networking().inbound()) {
      auto tag = inbound.tags().find(kServiceTag);
      const std::string service = tag == inbound.tags().end() ? "" : tag->second;
      if (!manager::dns1035LabelErrors(service).empty()) {
        continue;  // Kuma logs "couldn't generate MeshService from kuma.io/service"
      }
      auto protocol = inbound.tags().find(kProtocolTag);
      const std::string fallback = !inbound.protocol().empty()        ? inbound.protocol()
                                   : protocol != inbound.tags().end() ? protocol->second
                                                                      : "";
      auto& ports = portsByService[service];
      if (ports.is_null()) {
        ports = nlohmann::json::array();
      }
      ports.push_back(portOf(inbound, fallback));
      inboundsByService[service].push_back(&inbound);
    }
    for (auto& [service, ports] : portsByService) {
      generated[service].push_back(
          {dataplane->meta.name,
           {{"selector", {{"dataplaneTags", {{kServiceTag, service}}}}},
            {"ports", std::move(ports)}},
           dataplane.get(),
           propagation_.enabled()
               ? propagation_.contribution(*dataplane, inboundsByService[service], service)
               : Labels{}});
    }
  }

  // Kuma's desiredLabels: the propagated labels under the generator's own.
  auto desiredLabels = [&](const std::string& name, const Labels& propagated) {
    Labels out = propagated;
    for (auto& [key, value] : Labels{{manager::kMeshLabel, mesh},
                                     {manager::kDisplayNameLabel, name},
                                     {std::string(kManagedByLabel), kManagedBy},
                                     {manager::kEnvLabel, "universal"},
                                     {manager::kZoneLabel, options_.zone},
                                     {manager::kOriginLabel, "zone"}}) {
      out[key] = value;
    }
    return out;
  };
  auto propagatedLabels = [&](const std::vector<Contribution>* entries) {
    std::vector<std::pair<const model::Resource*, Labels>> items;
    if (propagation_.enabled() && entries != nullptr) {
      for (const Contribution& c : *entries) {
        items.emplace_back(c.resource, c.labels);
      }
    }
    return mergeContributions(items);
  };

  std::set<std::string> handled;  // generated names that already have their MeshService
  for (const auto& service : services->items) {
    if (!managed(*service)) {
      continue;
    }
    const std::string& name = service->meta.name;
    handled.insert(name);
    const SpecAndStatus current = specAndStatusOf(*service);
    std::vector<std::string> conflicting;
    auto entries = generated.find(name);
    const nlohmann::json* chosen =
        entries == generated.end() ? nullptr
                                   : consistentSpec(&current.spec, entries->second, conflicting);
    if (!conflicting.empty()) {
      log->info(
          "Port conflict, ports must be identical across Dataplane inbounds grouped into a "
          "single MeshService {} (mesh {}): {}",
          name, mesh, absl::StrJoin(conflicting, ", "));
    }
    const auto grace = service->meta.labels.find(kGracePeriodLabel);
    const bool hasGrace = grace != service->meta.labels.end();
    std::map<std::string, std::string> existing = service->meta.labels;
    existing.erase(kGracePeriodLabel);
    const Labels propagated =
        propagatedLabels(entries == generated.end() ? nullptr : &entries->second);
    Labels desired = desiredLabels(name, propagated);
    if (propagation_.enabled()) {
      // Keys the last pass propagated and no Dataplane gives any more go; users' labels stay.
      addPropagationTracking(desired, propagated);
      const auto wasPropagated = previouslyPropagated(existing);
      for (const auto& [key, value] : existing) {
        if (!isReservedLabelKey(key) && !wasPropagated(key)) {
          desired.emplace(key, value);
        }
      }
    } else {
      for (const auto& [key, value] : existing) {
        desired.emplace(key, value);  // labels set by others are kept
      }
    }
    if (chosen != nullptr) {
      const bool specDiffers = chosen->value("ports", nlohmann::json::array()) !=
                               current.spec.value("ports", nlohmann::json::array());
      const bool labelsChanged = existing != desired;
      if (!specDiffers && !hasGrace && !labelsChanged) {
        continue;
      }
      auto next = withSpecAndStatus(*service, *chosen, current.status);
      if (!next.ok()) {
        log->error("couldn't update MeshService {}: {}", name, next.status().ToString());
        continue;
      }
      next->meta.labels = std::move(desired);
      if (auto updated = manager_.updateGenerated(std::move(*next)); !updated.ok()) {
        log->error("couldn't update MeshService {} (mesh {}): {}", name, mesh,
                   updated.status().ToString());
        continue;
      }
      log->info("updated MeshService {} (mesh {})", name, mesh);
      continue;
    }
    // No Dataplane provides it any more: the grace period starts, or has run out.
    absl::Time started;
    std::string parseError;
    if (hasGrace && absl::ParseTime(absl::RFC3339_full, grace->second, &started, &parseError)) {
      if (absl::Now() - started > options_.deletionGracePeriod) {
        absl::Status removed = manager_.remove(*meshServiceType_, {name, mesh});
        if (removed.ok()) {
          log->info("deleted MeshService {} (mesh {})", name, mesh);
        } else if (!store::isNotFound(removed)) {
          log->error("couldn't delete MeshService {} (mesh {}): {}", name, mesh,
                     removed.ToString());
        }
      }
      continue;
    }
    if (hasGrace) {
      log->info("couldn't parse grace period label of MeshService {}, ignoring: {}", name,
                grace->second);
    }
    model::Resource next = *service;
    next.meta.labels[kGracePeriodLabel] = model::formatTime(absl::Now());
    if (auto updated = manager_.updateGenerated(std::move(next)); !updated.ok()) {
      log->error("couldn't update MeshService {} (mesh {}): {}", name, mesh,
                 updated.status().ToString());
      continue;
    }
    log->info("MeshService {} (mesh {}) deletion grace period started", name, mesh);
  }
  // Whatever is left has no MeshService yet.
  for (const auto& [name, entries] : generated) {
    if (handled.count(name) != 0) {
      continue;
    }
    std::vector<std::string> conflicting;
    const nlohmann::json* chosen = consistentSpec(nullptr, entries, conflicting);
    if (!conflicting.empty()) {
      log->info(
          "Port conflict, ports must be identical across Dataplane inbounds grouped into a "
          "single MeshService {} (mesh {}): {}",
          name, mesh, absl::StrJoin(conflicting, ", "));
    }
    auto spec = meshServiceType_->parseSpec(nlohmann::json{{"spec", *chosen}});
    if (!spec.ok()) {
      log->error("couldn't create MeshService {} (mesh {}): {}", name, mesh,
                 spec.status().ToString());
      continue;
    }
    model::Resource resource;
    resource.descriptor = meshServiceType_;
    resource.meta.name = name;
    resource.meta.mesh = mesh;
    const Labels propagated = propagatedLabels(&entries);
    resource.meta.labels = desiredLabels(name, propagated);
    if (propagation_.enabled()) {
      addPropagationTracking(resource.meta.labels, propagated);
    }
    resource.spec = std::move(*spec);
    if (auto created = manager_.createGenerated(std::move(resource)); !created.ok()) {
      if (!store::isAlreadyExists(created.status())) {
        log->error("couldn't create MeshService {} (mesh {}): {}", name, mesh,
                   created.status().ToString());
      }
      continue;
    }
    log->info("created MeshService {} (mesh {})", name, mesh);
  }
}

}  // namespace kuma::services
