#include "source/api_server/insights.h"

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/core/model/rest_codec.h"

namespace kuma::api_server {
namespace {

using Json = nlohmann::ordered_json;

enum class Status { Online, PartiallyDegraded, Offline };

// A DataplaneStat counter set; zero members are left out as in proto JSON.
struct Stat {
  uint32_t total = 0, online = 0, offline = 0, partiallyDegraded = 0;
  void add(Status s) {
    ++total;
    (s == Status::Online ? online : s == Status::Offline ? offline : partiallyDegraded)++;
  }
  Json json() const {
    Json out = Json::object();
    if (total != 0)
      out["total"] = total;
    if (online != 0)
      out["online"] = online;
    if (offline != 0)
      out["offline"] = offline;
    if (partiallyDegraded != 0)
      out["partiallyDegraded"] = partiallyDegraded;
    return out;
  }
};

Json statMap(const std::map<std::string, Stat>& m) {
  Json out = Json::object();
  for (const auto& [k, v] : m) {
    out[k] = v.json();
  }
  return out;
}

// Kuma's DataplaneOverview.Status(): offline unless a subscription is connected; then offline
// when every inbound reports not ready, partially degraded when some do.
Status statusOf(const mesh::v1alpha1::Dataplane& dp, const nlohmann::ordered_json& insight) {
  bool online = false;
  if (auto subs = insight.find("subscriptions"); subs != insight.end() && subs->is_array()) {
    for (const auto& s : *subs) {
      if (s.contains("connectTime") && !s.contains("disconnectTime")) {
        online = true;
      }
    }
  }
  if (!online) {
    return Status::Offline;
  }
  bool allOffline = true;
  bool allOnline = true;
  for (const auto& in : dp.networking().inbound()) {
    if (in.has_health() && !in.health().ready()) {
      allOnline = false;
    } else {
      allOffline = false;
    }
  }
  if (dp.networking().inbound_size() > 0 && allOffline) {
    return Status::Offline;
  }
  return allOnline ? Status::Online : Status::PartiallyDegraded;
}

std::string versionOf(const nlohmann::ordered_json& insight, const char* component) {
  auto subs = insight.find("subscriptions");
  if (subs == insight.end() || !subs->is_array() || subs->empty()) {
    return "unknown";
  }
  const auto& last = subs->back();
  auto version = last.find("version");
  if (version == last.end() || !version->is_object()) {
    return "unknown";
  }
  auto c = version->find(component);
  if (c == version->end() || !c->is_object()) {
    return "unknown";
  }
  auto v = c->find("version");
  return v != c->end() && v->is_string() && !v->get<std::string>().empty() ? v->get<std::string>()
                                                                           : "unknown";
}

struct ServiceStat {
  uint32_t online = 0, offline = 0;
  std::map<std::string, uint32_t> issuedBackends;
  std::string type = "internal";
  std::string addressPort;
  std::set<std::string> zones;
};

}  // namespace

Insights::Insights(InsightOptions options, manager::ResourceManager& manager,
                   const model::TypeRegistry& registry)
    : options_(std::move(options)), manager_(manager), registry_(registry) {}

absl::StatusOr<Insights::Computed> Insights::compute(const std::string& mesh) {
  const model::ResourceTypeDescriptor* meshType = registry_.byName("Mesh");
  const model::ResourceTypeDescriptor* dpType = registry_.byName("Dataplane");
  const model::ResourceTypeDescriptor* insightType = registry_.byName("DataplaneInsight");
  const model::ResourceTypeDescriptor* esType = registry_.byName("ExternalService");
  if (meshType == nullptr || dpType == nullptr) {
    return absl::FailedPreconditionError("Mesh and Dataplane types are not registered");
  }
  if (auto m = manager_.get(*meshType, {mesh, ""}); !m.ok()) {
    return m.status();
  }
  store::ListOptions byMesh;
  byMesh.mesh = mesh;
  auto dataplanes = manager_.list(*dpType, byMesh);
  if (!dataplanes.ok()) {
    return dataplanes.status();
  }
  std::map<std::string, model::ResourceConstSharedPtr> insights;
  if (insightType != nullptr) {
    auto list = manager_.list(*insightType, byMesh);
    if (!list.ok()) {
      return list.status();
    }
    for (const auto& r : list->items) {
      insights[r->meta.name] = r;
    }
  }
  size_t externalServices = 0;
  std::map<std::string, ServiceStat> services;
  if (esType != nullptr) {
    auto list = manager_.list(*esType, byMesh);
    if (list.ok()) {
      externalServices = list->items.size();
      for (const auto& r : list->items) {
        const Json spec = r->spec ? r->spec->toJson() : Json::object();
        const Json tags = spec.value("tags", Json::object());
        const std::string name = tags.value("kuma.io/service", "");
        if (name.empty()) {
          continue;
        }
        ServiceStat& s = services[name];
        s.type = "external";
        s.addressPort = spec.value("networking", Json::object()).value("address", "");
        if (std::string zone = tags.value("kuma.io/zone", ""); !zone.empty()) {
          s.zones.insert(zone);
        }
      }
    }
  }

  Stat all, standard, builtin, delegated;
  std::map<std::string, Stat> kumaDp, envoy, issued, supported;
  std::set<std::string> internal;
  for (const auto& r : dataplanes->items) {
    const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*r);
    if (dp == nullptr) {
      continue;
    }
    Json insight = Json::object();
    if (auto it = insights.find(r->meta.name); it != insights.end() && it->second->spec) {
      insight = it->second->spec->toJson();
    }
    const Status status = statusOf(*dp, insight);
    all.add(status);
    kumaDp[versionOf(insight, "kumaDp")].add(status);
    envoy[versionOf(insight, "envoy")].add(status);
    std::string backend;
    if (auto mtls = insight.find("mTLS"); mtls != insight.end() && mtls->is_object()) {
      backend = mtls->value("issuedBackend", "");
      issued[backend].add(status);
      const Json backends = mtls->value("supportedBackends", Json::array());
      for (const auto& b : backends) {
        if (b.is_string()) {
          supported[b.get<std::string>()].add(status);
        }
      }
    }
    auto addService = [&](const std::string& name, const std::string& type,
                          const std::string& zone) {
      if (name.empty()) {
        return;
      }
      ServiceStat& s = services[name];
      s.type = type;
      if (!backend.empty()) {
        s.issuedBackends[backend]++;
      }
      (status == Status::Online ? s.online : s.offline)++;
      if (!zone.empty()) {
        s.zones.insert(zone);
      }
    };
    const auto& net = dp->networking();
    if (net.has_gateway()) {
      const bool isBuiltin =
          net.gateway().type() == mesh::v1alpha1::Dataplane_Networking_Gateway_GatewayType_BUILTIN;
      (isBuiltin ? builtin : delegated).add(status);
      const auto& tags = net.gateway().tags();
      const std::string svc = tags.contains("kuma.io/service") ? tags.at("kuma.io/service") : "";
      if (!svc.empty()) {
        internal.insert(svc);
      }
      addService(svc, isBuiltin ? "gateway_builtin" : "gateway_delegated",
                 tags.contains("kuma.io/zone") ? tags.at("kuma.io/zone") : "");
      continue;
    }
    standard.add(status);
    for (const auto& in : net.inbound()) {
      if (in.state() == mesh::v1alpha1::Dataplane_Networking_Inbound_State_Ignored) {
        continue;
      }
      const auto& tags = in.tags();
      const std::string svc = tags.contains("kuma.io/service") ? tags.at("kuma.io/service") : "";
      if (!svc.empty()) {
        internal.insert(svc);
      }
      addService(svc, "internal", tags.contains("kuma.io/zone") ? tags.at("kuma.io/zone") : "");
    }
  }

  Computed out;
  Json& m = out.mesh;
  m["dataplanes"] = all.json();
  Json policies = Json::object();
  Json resources = Json::object();
  for (const model::ResourceTypeDescriptor* d : registry_.all()) {  // sorted by name
    if (d->scope != model::Scope::Mesh || absl::EndsWith(d->name, "Insight")) {
      continue;
    }
    size_t count = 0;
    if (d == dpType) {
      count = dataplanes->items.size();
    } else {
      auto list = manager_.list(*d, byMesh);
      if (!list.ok()) {
        return list.status();
      }
      count = list->total;
    }
    if (count == 0) {
      continue;
    }
    resources[d->name] = {{"total", count}};
    if (d->isPolicy) {
      policies[d->name] = {{"total", count}};
    }
  }
  if (!policies.empty()) {
    m["policies"] = std::move(policies);
  }
  Json versions = Json::object();
  if (!kumaDp.empty()) {
    versions["kumaDp"] = statMap(kumaDp);
    versions["envoy"] = statMap(envoy);
  }
  m["dpVersions"] = std::move(versions);
  Json mtls = Json::object();
  if (!issued.empty()) {
    mtls["issuedBackends"] = statMap(issued);
  }
  if (!supported.empty()) {
    mtls["supportedBackends"] = statMap(supported);
  }
  m["mTLS"] = std::move(mtls);
  Json svc = Json::object();
  const size_t totalServices = internal.size() + externalServices;
  if (totalServices != 0)
    svc["total"] = totalServices;
  if (!internal.empty())
    svc["internal"] = internal.size();
  if (externalServices != 0)
    svc["external"] = externalServices;
  m["services"] = std::move(svc);
  Stat gateway;
  gateway.total = builtin.total + delegated.total;
  gateway.online = builtin.online + delegated.online;
  gateway.offline = builtin.offline + delegated.offline;
  gateway.partiallyDegraded = builtin.partiallyDegraded + delegated.partiallyDegraded;
  m["dataplanesByType"] = {{"standard", standard.json()},
                           {"gateway", gateway.json()},
                           {"gatewayBuiltin", builtin.json()},
                           {"gatewayDelegated", delegated.json()}};
  if (!resources.empty()) {
    m["resources"] = std::move(resources);
  }

  for (const auto& [name, s] : services) {
    Json e = Json::object();
    const uint32_t total = s.online + s.offline;
    if (s.type == "external") {
      e["status"] = "not_available";
    } else if (s.online == 0) {
      e["status"] = "offline";
    } else if (s.online == total) {
      e["status"] = "online";
    } else {
      e["status"] = "partially_degraded";
    }
    Json stat = Json::object();
    if (total != 0)
      stat["total"] = total;
    if (s.online != 0)
      stat["online"] = s.online;
    if (s.offline != 0)
      stat["offline"] = s.offline;
    e["dataplanes"] = std::move(stat);
    if (!s.issuedBackends.empty()) {
      e["issuedBackends"] = s.issuedBackends;
    }
    if (s.type != "internal") {
      e["serviceType"] = s.type;
    }
    if (!s.addressPort.empty()) {
      e["addressPort"] = s.addressPort;
    }
    if (!s.zones.empty()) {
      e["zones"] = s.zones;
    }
    out.services[name] = std::move(e);
  }
  return out;
}

absl::StatusOr<Insights::Entry> Insights::current(const std::string& mesh) {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(mesh);
    if (it != cache_.end() && now - it->second.computedAt < options_.minResyncInterval) {
      return it->second;
    }
  }
  auto computed = compute(mesh);
  absl::MutexLock lock(&mu_);
  if (!computed.ok()) {
    if (absl::IsNotFound(computed.status())) {
      cache_.erase(mesh);
    }
    return computed.status();
  }
  auto [it, inserted] = cache_.try_emplace(mesh);
  Entry& e = it->second;
  if (inserted) {
    e.meshCreated = e.meshModified = e.servicesCreated = e.servicesModified = now;
  } else {
    if (computed->mesh != e.computed.mesh) {
      e.meshModified = now;
    }
    if (computed->services != e.computed.services) {
      e.servicesModified = now;
    }
  }
  e.computedAt = now;
  e.computed = *std::move(computed);
  return e;
}

absl::StatusOr<nlohmann::ordered_json> Insights::meshInsight(const std::string& mesh) {
  auto e = current(mesh);
  if (!e.ok()) {
    return e.status();
  }
  Json out;
  out["type"] = "MeshInsight";
  out["name"] = mesh;
  out["creationTime"] = model::formatTime(e->meshCreated);
  out["modificationTime"] = model::formatTime(e->meshModified);
  for (auto it = e->computed.mesh.begin(); it != e->computed.mesh.end(); ++it) {
    out[it.key()] = it.value();
  }
  return out;
}

nlohmann::ordered_json Insights::serviceJson(const std::string& mesh, const std::string& name,
                                             const Entry& entry, const Json* spec) const {
  Json out;
  out["type"] = "ServiceInsight";
  out["mesh"] = mesh;
  out["name"] = name;
  out["creationTime"] = model::formatTime(entry.servicesCreated);
  out["modificationTime"] = model::formatTime(entry.servicesModified);
  Json body = spec != nullptr ? *spec : Json{{"dataplanes", Json::object()}};
  // Kuma's API fills addressPort of internal services from the DNS settings.
  if (!body.contains("addressPort") && body.value("serviceType", "internal") == "internal") {
    Json withAddress;
    for (auto it = body.begin(); it != body.end(); ++it) {
      if (it.key() == "zones") {
        withAddress["addressPort"] =
            absl::StrCat(name, ".", options_.dnsDomain, ":", options_.vipPort);
      }
      withAddress[it.key()] = it.value();
    }
    if (!withAddress.contains("addressPort")) {
      withAddress["addressPort"] =
          absl::StrCat(name, ".", options_.dnsDomain, ":", options_.vipPort);
    }
    body = std::move(withAddress);
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    out[it.key()] = it.value();
  }
  return out;
}

absl::StatusOr<std::vector<nlohmann::ordered_json>> Insights::serviceInsights(
    const std::string& mesh) {
  auto e = current(mesh);
  if (!e.ok()) {
    return e.status();
  }
  std::vector<Json> out;
  for (const auto& [name, spec] : e->computed.services) {
    out.push_back(serviceJson(mesh, name, *e, &spec));
  }
  return out;
}

absl::StatusOr<nlohmann::ordered_json> Insights::serviceInsight(const std::string& mesh,
                                                                const std::string& service) {
  auto e = current(mesh);
  if (!e.ok()) {
    return e.status();
  }
  auto it = e->computed.services.find(service);
  return serviceJson(mesh, service, *e, it != e->computed.services.end() ? &it->second : nullptr);
}

absl::StatusOr<nlohmann::ordered_json> Insights::globalInsight() {
  const model::ResourceTypeDescriptor* meshType = registry_.byName("Mesh");
  if (meshType == nullptr) {
    return absl::FailedPreconditionError("the Mesh type is not registered");
  }
  auto meshes = manager_.list(*meshType, {});
  if (!meshes.ok()) {
    return meshes.status();
  }
  struct Full {
    uint32_t offline = 0, online = 0, partiallyDegraded = 0, total = 0;
    Json json() const {
      return {{"offline", offline},
              {"online", online},
              {"partiallyDegraded", partiallyDegraded},
              {"total", total}};
    }
    void addStat(const Json& stat) {
      offline += stat.value("offline", 0u);
      online += stat.value("online", 0u);
      partiallyDegraded += stat.value("partiallyDegraded", 0u);
      total += stat.value("total", 0u);
    }
    void addStatus(const std::string& status) {
      ++total;
      if (status == "online")
        ++online;
      if (status == "offline")
        ++offline;
      if (status == "partially_degraded")
        ++partiallyDegraded;
    }
  };
  Full standard, builtin, delegated, internal, gwBuiltin, gwDelegated;
  uint32_t external = 0;
  uint32_t policies = 0;
  size_t meshCount = 0;
  std::map<std::string, size_t> resources;
  for (const auto& m : meshes->items) {
    auto e = current(m->meta.name);
    if (!e.ok()) {
      if (absl::IsNotFound(e.status())) {
        continue;
      }
      return e.status();
    }
    ++meshCount;
    const Json& mi = e->computed.mesh;
    const Json byType = mi.value("dataplanesByType", Json::object());
    standard.addStat(byType.value("standard", Json::object()));
    builtin.addStat(byType.value("gatewayBuiltin", Json::object()));
    delegated.addStat(byType.value("gatewayDelegated", Json::object()));
    const Json policyStats = mi.value("policies", Json::object());
    for (auto it = policyStats.begin(); it != policyStats.end(); ++it) {
      policies += it->value("total", 0u);
    }
    const Json resourceStats = mi.value("resources", Json::object());
    for (auto it = resourceStats.begin(); it != resourceStats.end(); ++it) {
      resources[it.key()] += it->value("total", 0u);
    }
    for (const auto& [name, svc] : e->computed.services) {
      const std::string type = svc.value("serviceType", "internal");
      const std::string status = svc.value("status", "");
      if (type == "internal")
        internal.addStatus(status);
      if (type == "external")
        ++external;
      if (type == "gateway_builtin")
        gwBuiltin.addStatus(status);
      if (type == "gateway_delegated")
        gwDelegated.addStatus(status);
    }
  }
  static const std::set<std::string> kExcluded = {"Mesh", "Zone", "ZoneIngress", "ZoneEgress",
                                                  "Config"};
  for (const model::ResourceTypeDescriptor* d : registry_.all()) {
    if (d->scope != model::Scope::Global || d->adminOnly || absl::EndsWith(d->name, "Insight") ||
        kExcluded.contains(d->name)) {
      continue;
    }
    auto list = manager_.list(*d, {});
    if (!list.ok()) {
      return list.status();
    }
    if (list->total != 0) {
      resources[d->name] = list->total;
    }
  }
  // Zone proxies and zone control planes: online when a subscription is connected.
  auto onlineCount = [&](const char* type) -> std::pair<uint32_t, uint32_t> {
    const model::ResourceTypeDescriptor* d = registry_.byName(type);
    if (d == nullptr) {
      return {0, 0};
    }
    auto list = manager_.list(*d, {});
    if (!list.ok()) {
      return {0, 0};
    }
    uint32_t online = 0;
    for (const auto& r : list->items) {
      const Json spec = r->spec ? r->spec->toJson() : Json::object();
      const Json subs = spec.value("subscriptions", Json::array());
      for (const auto& sub : subs) {
        if (sub.is_object() && sub.contains("connectTime") && !sub.contains("disconnectTime")) {
          ++online;
          break;
        }
      }
    }
    return {online, static_cast<uint32_t>(list->items.size())};
  };
  auto onlineJson = [](std::pair<uint32_t, uint32_t> c) {
    return Json{{"online", c.first}, {"total", c.second}};
  };

  Json out;
  out["createdAt"] = model::formatTime(absl::Now());
  out["dataplanes"] = {{"gatewayBuiltin", builtin.json()},
                       {"gatewayDelegated", delegated.json()},
                       {"standard", standard.json()}};
  out["meshes"] = {{"total", meshCount}};
  out["policies"] = {{"total", policies}};
  Json res = Json::object();
  for (const auto& [name, total] : resources) {
    res[name] = {{"total", total}};
  }
  out["resources"] = std::move(res);
  out["services"] = {{"external", {{"total", external}}},
                     {"gatewayBuiltin", gwBuiltin.json()},
                     {"gatewayDelegated", gwDelegated.json()},
                     {"internal", internal.json()}};
  out["zones"] = {{"controlPlanes", onlineJson(onlineCount("ZoneInsight"))},
                  {"zoneEgresses", onlineJson(onlineCount("ZoneEgressInsight"))},
                  {"zoneIngresses", onlineJson(onlineCount("ZoneIngressInsight"))}};
  return out;
}

}  // namespace kuma::api_server
