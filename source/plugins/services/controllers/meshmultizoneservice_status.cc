#include "source/plugins/services/controllers/meshmultizoneservice_status.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "source/common/logging.h"
#include "source/plugins/services/controllers/service_resource.h"

namespace kuma::services {
namespace {

// What makes two MeshServicesMatched conditions equal (Kuma's conditionEquals).
constexpr const char* kConditionFields[] = {"status", "reason", "message"};

std::string label(const model::Resource& r, std::string_view key, const std::string& fallback) {
  auto it = r.meta.labels.find(std::string(key));
  return it == r.meta.labels.end() ? fallback : it->second;
}

}  // namespace

MeshMultiZoneServiceStatusUpdater::MeshMultiZoneServiceStatusUpdater(
    manager::ResourceManager& manager, const model::TypeRegistry& registry)
    : manager_(manager),
      meshServiceType_(registry.byName("MeshService")),
      multiZoneType_(registry.byName("MeshMultiZoneService")) {}

void MeshMultiZoneServiceStatusUpdater::update() {
  if (meshServiceType_ == nullptr || multiZoneType_ == nullptr) {
    return;
  }
  auto log = logging::logger("meshmultizoneservice-status");
  auto multiZone = manager_.store().list(*multiZoneType_, {});
  if (!multiZone.ok() || multiZone->items.empty()) {
    return;  // nothing else to read when MeshMultiZoneServices are not used
  }
  auto services = manager_.store().list(*meshServiceType_, {});
  if (!services.ok()) {
    log->error("could not list MeshServices: {}", services.status().ToString());
    return;
  }
  for (const auto& mzs : multiZone->items) {
    SpecAndStatus s = specAndStatusOf(*mzs);
    const nlohmann::json selector = s.spec.value("selector", nlohmann::json::object())
                                        .value("meshService", nlohmann::json::object());
    using Matched = std::tuple<std::string, std::string, std::string, std::string>;
    std::vector<Matched> matched;  // name, namespace, zone, mesh (Kuma's sort key order)
    for (const auto& service : services->items) {
      if (labelSelectorMatches(selector, service->meta.labels)) {
        matched.emplace_back(label(*service, manager::kDisplayNameLabel, service->meta.name),
                             label(*service, kNamespaceLabel, ""),
                             label(*service, manager::kZoneLabel, ""), service->meta.mesh);
      }
    }
    std::sort(matched.begin(), matched.end());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [name, ns, zone, mesh] : matched) {
      list.push_back({{"name", name}, {"namespace", ns}, {"zone", zone}, {"mesh", mesh}});
    }
    const nlohmann::json condition =
        matched.empty()
            ? nlohmann::json{{"type", "MeshServicesMatched"},
                             {"status", "False"},
                             {"reason", "NoMatchesFound"},
                             {"message", "Selector does not match any MeshService in this zone"}}
            : nlohmann::json{
                  {"type", "MeshServicesMatched"},
                  {"status", "True"},
                  {"reason", "MatchesFound"},
                  {"message", absl::StrCat("Matched ", matched.size(), " MeshService(s)")}};
    nlohmann::json conditions = s.status.value("conditions", nlohmann::json::array());
    bool replaced = false;
    bool same = false;
    for (auto& c : conditions) {
      if (c.value("type", "") == "MeshServicesMatched") {
        same = std::all_of(std::begin(kConditionFields), std::end(kConditionFields),
                           [&](const char* field) {
                             return c.value(field, nlohmann::json()) == condition[field];
                           });
        c = condition;
        replaced = true;
        break;
      }
    }
    if (!replaced) {
      conditions.push_back(condition);
    }
    if (same && s.status.value("meshServices", nlohmann::json::array()) == list) {
      continue;
    }
    if (list.empty()) {
      s.status.erase("meshServices");
    } else {
      s.status["meshServices"] = list;
    }
    s.status["conditions"] = conditions;
    (void)writeSpecAndStatus(manager_, *mzs, s.spec, s.status, "meshmultizoneservice-status",
                             "status");
  }
}

}  // namespace kuma::services
