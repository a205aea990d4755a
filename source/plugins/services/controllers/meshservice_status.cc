#include "source/plugins/services/controllers/meshservice_status.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "api/mesh/v1alpha1/dataplane_insight.pb.h"
#include "api/mesh/v1alpha1/mesh.pb.h"
#include "source/common/logging.h"
#include "source/core/model/proto_spec.h"
#include "source/plugins/services/controllers/service_resource.h"

namespace kuma::services {
namespace {

using mesh::v1alpha1::Dataplane;
using mesh::v1alpha1::DataplaneInsight;

constexpr char kServiceTag[] = "kuma.io/service";
constexpr char kWorkloadLabel[] = "kuma.io/workload";

// Kuma's MatchInboundWithMeshServicePort: targetPort as a number is the inbound's port, as a
// string its name.
bool inboundServesPort(const Dataplane::Networking::Inbound& inbound, const nlohmann::json& port) {
  auto target = port.find("targetPort");
  if (target == port.end()) {
    return false;
  }
  if (target->is_number_integer()) {
    return target->get<int64_t>() == static_cast<int64_t>(inbound.port());
  }
  return target->is_string() && target->get_ref<const std::string&>() == inbound.name();
}

}  // namespace

bool meshServiceSelects(const nlohmann::json& spec, const model::Resource& dataplane) {
  const auto* dp = model::protoSpecOf<Dataplane>(dataplane);
  if (dp == nullptr || dp->networking().inbound().empty()) {
    return false;  // Kuma indexes only Dataplanes with inbounds
  }
  auto selector = spec.find("selector");
  if (selector == spec.end() || !selector->is_object()) {
    return false;
  }
  if (auto ref = selector->find("dataplaneRef"); ref != selector->end() && ref->is_object()) {
    return ref->value("name", "") == dataplane.meta.name;
  }
  if (auto tags = selector->find("dataplaneTags"); tags != selector->end() && tags->is_object()) {
    if (tags->empty()) {
      return false;  // Kuma's index lookup finds no set for an empty selector
    }
    for (const auto& inbound : dp->networking().inbound()) {
      if (tagSelectorMatches(*tags, inbound.tags())) {
        return true;
      }
    }
    return false;
  }
  if (auto labels = selector->find("dataplaneLabels");
      labels != selector->end() && labels->is_object()) {
    return labelSelectorMatches(*labels, dataplane.meta.labels);
  }
  return false;
}

MeshServiceStatusUpdater::MeshServiceStatusUpdater(manager::ResourceManager& manager,
                                                   const model::TypeRegistry& registry)
    : manager_(manager),
      meshType_(registry.byName("Mesh")),
      dataplaneType_(registry.byName("Dataplane")),
      insightType_(registry.byName("DataplaneInsight")),
      meshServiceType_(registry.byName("MeshService")) {}

void MeshServiceStatusUpdater::update() {
  if (meshType_ == nullptr || dataplaneType_ == nullptr || insightType_ == nullptr ||
      meshServiceType_ == nullptr) {
    return;
  }
  auto log = logging::logger("meshservice-status");
  auto services = manager_.store().list(*meshServiceType_, {});
  if (!services.ok()) {
    log->error("could not list MeshServices: {}", services.status().ToString());
    return;
  }
  if (services->items.empty()) {
    return;  // nothing else to read when MeshServices are not used
  }
  auto dataplanes = manager_.store().list(*dataplaneType_, {});
  auto insights = manager_.store().list(*insightType_, {});
  auto meshes = manager_.store().list(*meshType_, {});
  if (!dataplanes.ok() || !insights.ok() || !meshes.ok()) {
    log->error("could not list Dataplanes, DataplaneInsights or Meshes");
    return;
  }
  std::map<std::pair<std::string, std::string>, const DataplaneInsight*> insightOf;
  for (const auto& insight : insights->items) {
    if (const auto* spec = model::protoSpecOf<DataplaneInsight>(*insight)) {
      insightOf[{insight->meta.mesh, insight->meta.name}] = spec;
    }
  }
  std::map<std::string, bool> mtls;  // mesh -> mTLS enabled
  for (const auto& mesh : meshes->items) {
    const auto* spec = model::protoSpecOf<mesh::v1alpha1::Mesh>(*mesh);
    mtls[mesh->meta.name] = spec != nullptr && !spec->mtls().enabled_backend().empty();
  }
  std::map<std::string, std::vector<const model::Resource*>> dataplanesOf;
  for (const auto& dataplane : dataplanes->items) {
    dataplanesOf[dataplane->meta.mesh].push_back(dataplane.get());
  }

  for (const auto& service : services->items) {
    if (!isLocalResource(*service)) {
      continue;  // computed by the zone it comes from
    }
    auto mesh = mtls.find(service->meta.mesh);
    if (mesh == mtls.end()) {
      continue;
    }
    SpecAndStatus s = specAndStatusOf(*service);
    std::vector<const model::Resource*> selected;
    for (const model::Resource* dataplane : dataplanesOf[service->meta.mesh]) {
      if (meshServiceSelects(s.spec, *dataplane)) {
        selected.push_back(dataplane);
      }
    }
    // identities
    std::set<std::string> serviceTags;
    for (const model::Resource* dataplane : selected) {
      const auto* dp = model::protoSpecOf<Dataplane>(*dataplane);
      std::set<std::string> tags;
      for (const auto& inbound : dp->networking().inbound()) {
        if (auto it = inbound.tags().find(kServiceTag); it != inbound.tags().end()) {
          tags.insert(it->second);
        }
      }
      if (dp->networking().has_gateway()) {
        if (auto it = dp->networking().gateway().tags().find(kServiceTag);
            it != dp->networking().gateway().tags().end()) {
          tags.insert(it->second);
        }
      }
      if (tags.empty()) {
        if (auto workload = dataplane->meta.labels.find(kWorkloadLabel);
            workload != dataplane->meta.labels.end() && !workload->second.empty()) {
          tags.insert(workload->second);
        }
      }
      serviceTags.insert(tags.begin(), tags.end());
    }
    nlohmann::json identities = nlohmann::json::array();
    for (const std::string& tag : serviceTags) {
      identities.push_back({{"type", "ServiceTag"}, {"value", tag}});
    }
    // data plane proxies
    const nlohmann::json ports = s.spec.value("ports", nlohmann::json::array());
    int64_t total = 0, connected = 0, healthy = 0, issued = 0;
    for (const model::Resource* dataplane : selected) {
      total++;
      const auto* dp = model::protoSpecOf<Dataplane>(*dataplane);
      auto insight = insightOf.find({dataplane->meta.mesh, dataplane->meta.name});
      if (insight != insightOf.end()) {
        connected += dataplaneInsightOnline(*insight->second) ? 1 : 0;
        issued += insight->second->mtls().issued_backend().empty() ? 0 : 1;
      }
      size_t healthyPorts = 0;
      for (const auto& port : ports) {
        for (const auto& inbound : dp->networking().inbound()) {
          if (inbound.state() == Dataplane::Networking::Inbound::Ready &&
              inboundServesPort(inbound, port)) {
            healthyPorts++;
            break;
          }
        }
      }
      healthy += healthyPorts == ports.size() ? 1 : 0;
    }
    nlohmann::json proxies = nlohmann::json::object();  // Go's omitempty on each counter
    for (auto [key, value] : {std::pair{"connected", connected}, std::pair{"healthy", healthy},
                              std::pair{"total", total}}) {
      if (value != 0) {
        proxies[key] = value;
      }
    }
    // TLS
    std::string tls = "NotReady";
    if (mesh->second) {
      const bool wasReady =
          s.status.contains("tls") && s.status["tls"].value("status", "") == "Ready";
      tls = wasReady || issued == total ? "Ready" : "NotReady";
    }
    const std::string state = healthy > 0 ? "Available" : "Unavailable";

    const nlohmann::json oldIdentities = s.spec.value("identities", nlohmann::json::array());
    const bool changed =
        oldIdentities != identities ||
        s.status.value("dataplaneProxies", nlohmann::json::object()) != proxies ||
        s.status.value("tls", nlohmann::json::object()) != nlohmann::json{{"status", tls}} ||
        s.spec.value("state", "") != state;
    if (!changed) {
      continue;
    }
    if (identities.empty()) {
      s.spec.erase("identities");
    } else {
      s.spec["identities"] = identities;
    }
    s.spec["state"] = state;
    s.status["dataplaneProxies"] = proxies;
    s.status["tls"] = {{"status", tls}};
    (void)writeSpecAndStatus(manager_, *service, s.spec, s.status, "meshservice-status", "status");
  }
}

}  // namespace kuma::services
