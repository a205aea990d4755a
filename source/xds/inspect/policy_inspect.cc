#include "source/xds/inspect/policy_inspect.h"

#include <algorithm>
#include <map>
#include <string_view>

#include "source/core/model/proto_spec.h"
#include "source/core/model/rest_codec.h"
#include "source/plugins/policies/core/inbound_policies.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/rules.h"
#include "source/plugins/policies/core/schema_spec.h"
#include "source/plugins/policies/meshhttproute/xds_configurer.h"
#include "source/xds/generator/meshservice_outbounds.h"
#include "source/xds/generator/proxy_policies.h"
#include "source/xds/inspect/resource_rules.h"

namespace kuma::xds {
namespace {

using Json = nlohmann::ordered_json;

// nlohmann::json (sorted) to an ordered_json with the same (sorted) member order.
Json ordered(const nlohmann::json& v) {
  return Json::parse(v.dump());
}

bool isOldKind(std::string_view kind) {
  return kind == "Mesh" || kind == "MeshSubset" || kind == "MeshService" ||
         kind == "MeshServiceSubset";
}

Json originsJson(const std::vector<const PolicyEntry*>& entries,
                 const std::vector<size_t>& origins) {
  Json out = Json::array();
  for (size_t i : origins) {
    out.push_back(inspectMeta(*entries[i]->resource));
  }
  return out;
}

Json matchersJson(const std::vector<policies::SubsetTag>& subset) {
  Json out = Json::array();
  for (const auto& t : subset) {
    out.push_back({{"key", t.key}, {"not", t.negated}, {"value", t.value}});
  }
  return out;
}

Json ruleOrigin(const PolicyEntry& entry, size_t ruleIndex) {
  Json o;
  o["resourceMeta"] = inspectMeta(*entry.resource);
  o["ruleIndex"] = ruleIndex;
  return o;
}

// Kuma's resource meta of the mesh in a resource rule: the KRI's view, no labels.
Json meshMeta(const std::string& mesh) {
  Json meta;
  meta["labels"] = Json::object();
  meta["mesh"] = "";
  meta["name"] = mesh;
  meta["type"] = "Mesh";
  return meta;
}

Json inboundJson(const mesh::v1alpha1::Dataplane_Networking_Inbound& inbound) {
  Json out;
  if (!inbound.name().empty()) {
    out["name"] = inbound.name();
  }
  out["port"] = inbound.port();
  Json tags = Json::object();
  std::map<std::string, std::string> sorted(inbound.tags().begin(), inbound.tags().end());
  for (const auto& [k, v] : sorted) {
    tags[k] = v;
  }
  out["tags"] = std::move(tags);
  return out;
}

// Kuma's inbound.CompareMatch: spiffeID matches first (Exact before Prefix), then SNI ones.
int matchRank(const nlohmann::json* match) {
  if (match == nullptr) {
    return 0;
  }
  int rank = 0;
  if (const nlohmann::json* spiffe = policies::member(*match, "spiffeID")) {
    const nlohmann::json* type = policies::member(*spiffe, "type");
    const std::string t = type != nullptr && type->is_string() ? type->get<std::string>() : "";
    rank += 100 + (t == "Exact" ? 20 : t == "Prefix" ? 10 : 0);
  }
  if (policies::member(*match, "sni") != nullptr) {
    rank += 1;
  }
  return rank;
}

}  // namespace

const std::vector<std::string>& inspectedPolicyTypes() {
  static const std::vector<std::string> kTypes = {"MeshHTTPRoute",
                                                  "MeshTCPRoute",
                                                  "MeshTLS",
                                                  "MeshLoadBalancingStrategy",
                                                  "MeshPassthrough",
                                                  "MeshAccessLog",
                                                  "MeshTrace",
                                                  "MeshFaultInjection",
                                                  "MeshRateLimit",
                                                  "MeshTimeout",
                                                  "MeshTrafficPermission",
                                                  "MeshHealthCheck",
                                                  "MeshCircuitBreaker",
                                                  "MeshRetry",
                                                  "MeshMetric",
                                                  "MeshProxyPatch"};
  return kTypes;
}

Json inspectMeta(const model::Resource& resource) {
  Json out;
  Json labels = Json::object();
  for (const auto& [k, v] : resource.meta.labels) {
    labels[k] = v;
  }
  out["labels"] = std::move(labels);
  out["mesh"] = resource.meta.mesh;
  out["name"] = resource.meta.name;
  out["type"] = resource.descriptor != nullptr ? resource.descriptor->name : "";
  return out;
}

namespace {

// Kuma's rest.From.Meta: a matched policy without its spec or status.
Json policyMeta(const model::Resource& resource) {
  Json full = model::toRestJson(resource);
  Json out = Json::object();
  for (const char* key :
       {"type", "mesh", "name", "creationTime", "modificationTime", "labels", "kri"}) {
    if (auto it = full.find(key); it != full.end()) {
      out[key] = *it;
    }
  }
  return out;
}

const char* kindName(PolicyAttachment::Kind kind) {
  switch (kind) {
    case PolicyAttachment::Kind::Inbound:
      return "inbound";
    case PolicyAttachment::Kind::Outbound:
      return "outbound";
    case PolicyAttachment::Kind::Service:
      return "service";
    case PolicyAttachment::Kind::Dataplane:
      return "dataplane";
  }
  return "unknown";
}

// Kuma's AttachmentList order: by fmt.Sprintf("%s") of the attachment, `{<type> <name> <service>}`.
std::string sortKey(const PolicyAttachment& a) {
  return std::string("{") + kindName(a.kind) + " " + a.name + " " + a.service + "}";
}

Json attachmentJson(const PolicyAttachment& a) {
  Json out;
  out["type"] = kindName(a.kind);
  if (!a.name.empty()) {
    out["name"] = a.name;
  }
  if (!a.service.empty()) {
    out["service"] = a.service;
  }
  return out;
}

// Every legacy policy the plugins attach to the Dataplane (Kuma's MatchedPolicies).
std::vector<PolicyAttachment> legacyAttachments(const MeshContext& context,
                                                const model::Resource& dataplane,
                                                const PolicyPluginList* plugins) {
  std::vector<PolicyAttachment> out;
  if (plugins == nullptr) {
    return out;
  }
  ProxyContext proxy;
  proxy.mesh = &context;
  proxy.dataplane = &dataplane;
  for (const PolicyPluginPtr& plugin : *plugins) {
    plugin->attachments(proxy, out);
  }
  return out;
}

}  // namespace

Json inspectMatchedPolicies(const MeshContext& context, const model::Resource& dataplane,
                            const mesh::v1alpha1::Dataplane& spec,
                            const PolicyPluginList* plugins) {
  struct Entry {
    PolicyAttachment attachment;
    std::map<std::string, Json> byType;  // Go's map order: sorted by type
  };
  std::map<std::string, Entry> entries;  // by Kuma's attachment order
  const auto entryOf = [&entries](const PolicyAttachment& a) -> Entry& {
    Entry& e = entries[sortKey(a)];
    e.attachment = a;
    return e;
  };
  for (const PolicyAttachment& a : legacyAttachments(context, dataplane, plugins)) {
    if (a.policy == nullptr || a.policy->descriptor == nullptr) {
      continue;
    }
    Json& list = entryOf(a).byType[a.policy->descriptor->name];
    if (list.is_null()) {
      list = Json::array();
    }
    list.push_back(policyMeta(*a.policy));
  }
  // The targeted policies that select the Dataplane, under the Dataplane itself.
  const policies::ProxyView view = proxyViewOf(dataplane, spec);
  for (const std::string& type : inspectedPolicyTypes()) {
    Json list = Json::array();
    for (const PolicyEntry* e : selectPolicies(context, type, view)) {
      list.push_back(policyMeta(*e->resource));
    }
    if (!list.empty()) {
      entryOf(PolicyAttachment{}).byType[type] = std::move(list);
    }
  }
  Json items = Json::array();
  for (auto& [key, entry] : entries) {
    Json item = attachmentJson(entry.attachment);
    Json matched = Json::object();
    for (auto& [type, list] : entry.byType) {
      matched[type] = std::move(list);
    }
    item["matchedPolicies"] = std::move(matched);
    items.push_back(std::move(item));
  }
  Json out;
  out["kind"] = "SidecarDataplane";
  out["total"] = items.size();
  out["items"] = std::move(items);
  return out;
}

Json inspectLegacyPolicyDataplanes(const MeshContext& context, const PolicyPluginList* plugins,
                                   std::string_view type, std::string_view name) {
  std::vector<const model::Resource*> dataplanes;
  for (const auto& dp : context.dataplanes()) {
    dataplanes.push_back(dp.get());
  }
  std::stable_sort(dataplanes.begin(), dataplanes.end(),
                   [](const auto* a, const auto* b) { return a->meta.name < b->meta.name; });
  Json items = Json::array();
  for (const model::Resource* dp : dataplanes) {
    std::map<std::string, PolicyAttachment> attached;  // sorted as Kuma's AttachmentList
    for (const PolicyAttachment& a : legacyAttachments(context, *dp, plugins)) {
      if (a.policy != nullptr && a.policy->descriptor != nullptr &&
          a.policy->descriptor->name == type && a.policy->meta.name == name) {
        attached.emplace(sortKey(a), a);  // Kuma: once per attachment
      }
    }
    if (attached.empty()) {
      continue;
    }
    Json list = Json::array();
    for (const auto& [key, a] : attached) {
      list.push_back(attachmentJson(a));
    }
    Json item;
    item["kind"] = "SidecarDataplane";
    item["dataplane"] = {{"mesh", dp->meta.mesh}, {"name", dp->meta.name}};
    item["attachments"] = std::move(list);
    items.push_back(std::move(item));
  }
  Json out;
  out["total"] = items.size();
  out["items"] = std::move(items);
  return out;
}

Json inspectLayout(const MeshContext& context, const model::Resource& dataplane,
                   const mesh::v1alpha1::Dataplane& spec) {
  const std::string kri = model::kriOf(dataplane);  // ends with '_': the section follows
  Json inbounds = Json::array();
  for (const auto& inbound : spec.networking().inbound()) {
    // Kuma's GetSectionName: the inbound's name, or its port.
    const std::string section =
        inbound.name().empty() ? std::to_string(inbound.port()) : inbound.name();
    auto protocol = inbound.tags().find("kuma.io/protocol");
    Json i;
    i["kri"] = kri + section;
    i["port"] = inbound.port();
    i["protocol"] = protocol == inbound.tags().end() ? "" : protocol->second;
    i["proxyResourceName"] = "self_inbound_dp_" + section;
    inbounds.push_back(std::move(i));
  }
  Json outbounds = Json::array();
  for (const ReachableBackendPort& p : reachableBackendPorts(context, spec)) {
    Json o;
    o["kri"] = p.kri;
    o["port"] = p.port;
    o["protocol"] = p.protocol;
    o["proxyResourceName"] = p.kri;
    outbounds.push_back(std::move(o));
  }
  Json labels = Json::object();
  for (const auto& [k, v] : dataplane.meta.labels) {
    labels[k] = v;
  }
  Json out;
  out["inbounds"] = std::move(inbounds);
  out["kri"] = kri;
  out["labels"] = std::move(labels);
  out["listeners"] = Json::array();
  out["outbounds"] = std::move(outbounds);
  return out;
}

namespace {

// The KRI of the policy an inspect origin's meta ({mesh, name, type}) names.
std::string originKri(const MeshContext& context, const Json& meta) {
  const std::string type = meta.value("type", "");
  const std::string name = meta.value("name", "");
  for (const PolicyEntry& e : context.policies(type)) {
    if (e.resource->meta.name == name) {
      return model::kriOf(*e.resource);
    }
  }
  return "";
}

}  // namespace

Json inspectProxyPolicies(const MeshContext& context, const model::Resource& dataplane,
                          const mesh::v1alpha1::Dataplane& spec) {
  Json policies = Json::array();
  const Json inspected = inspectRules(context, dataplane, spec);  // alive through the loop
  for (const Json& rule : inspected["rules"]) {
    auto proxyRule = rule.find("proxyRule");
    if (proxyRule == rule.end()) {
      continue;
    }
    Json origins = Json::array();
    for (const Json& origin : (*proxyRule)["origin"]) {
      origins.push_back({{"kri", originKri(context, origin)}});
    }
    Json p;
    p["conf"] = (*proxyRule)["conf"];
    p["kind"] = rule["type"];
    p["origins"] = std::move(origins);
    policies.push_back(std::move(p));
  }
  Json out;
  out["policies"] = std::move(policies);
  return out;
}

absl::StatusOr<Json> inspectInboundPolicies(const MeshContext& context,
                                            const model::Resource& dataplane,
                                            const mesh::v1alpha1::Dataplane& spec,
                                            std::string_view section) {
  // Kuma's InboundsSelectedBySectionName: the inbound of that name, or of that port.
  const mesh::v1alpha1::Dataplane_Networking_Inbound* inbound = nullptr;
  for (const auto& i : spec.networking().inbound()) {
    if (i.name() == section || std::to_string(i.port()) == section) {
      inbound = &i;
      break;
    }
  }
  if (inbound == nullptr) {
    return absl::NotFoundError("inbound not found");
  }
  Json policies = Json::array();
  const Json inspected = inspectRules(context, dataplane, spec);  // alive through the loop
  for (const Json& rule : inspected["rules"]) {
    for (const Json& entry : rule["inboundRules"]) {
      if (entry["inbound"].value("port", 0u) != inbound->port()) {
        continue;
      }
      Json rules = Json::array();
      Json origins = Json::array();
      std::vector<std::string> seen;
      for (const Json& r : entry["rules"]) {
        const std::string kri = originKri(context, r["origin"][0]["resourceMeta"]);
        Json item;
        item["conf"] = r["conf"][0];
        item["kri"] = kri;
        rules.push_back(std::move(item));
        if (std::find(seen.begin(), seen.end(), kri) == seen.end()) {
          seen.push_back(kri);
          origins.push_back({{"kri", kri}});
        }
      }
      Json p;
      p["kind"] = rule["type"];
      p["origins"] = std::move(origins);
      p["rules"] = std::move(rules);
      policies.push_back(std::move(p));
    }
  }
  Json out;
  out["policies"] = std::move(policies);
  return out;
}

namespace {

Json kriOrigins(const std::vector<ResourceRuleOrigin>& origins) {
  Json out = Json::array();
  for (const ResourceRuleOrigin& o : origins) {
    out.push_back({{"kri", model::kriOf(*o.entry->resource)}});
  }
  return out;
}

std::string withoutSection(model::Kri kri) {
  kri.sectionName.clear();
  return model::formatKri(kri);
}

}  // namespace

Json inspectOutboundPolicies(const MeshContext& context, const model::Resource& dataplane,
                             const mesh::v1alpha1::Dataplane& spec, const model::Kri& outbound,
                             const model::Kri* route) {
  std::vector<std::string> ids;
  if (route != nullptr) {
    ids.push_back(model::formatKri(*route));
  }
  ids.push_back(model::formatKri(outbound));
  ids.push_back(withoutSection(outbound));
  ids.push_back(meshKri(context.meshName()));
  const policies::ProxyView view = proxyViewOf(dataplane, spec);
  Json policies = Json::array();
  for (const std::string& type : inspectedPolicyTypes()) {
    if (route != nullptr && (type == kMeshHTTPRoute || type == kMeshTCPRoute)) {
      continue;
    }
    const ResourceRules rules =
        buildResourceRules(context, type, selectPolicies(context, type, view));
    const ResourceRule* rule = firstRule(rules, ids);
    if (rule == nullptr) {
      continue;
    }
    Json p;
    p["conf"] = Json::array({ordered(rule->conf)});
    p["kind"] = type;
    p["origins"] = kriOrigins(rule->origins);
    policies.push_back(std::move(p));
  }
  Json out;
  out["policies"] = std::move(policies);
  return out;
}

Json inspectOutboundRoutes(const MeshContext& context, const model::Resource& dataplane,
                           const mesh::v1alpha1::Dataplane& spec, const model::Kri& outbound,
                           std::string_view outboundType) {
  std::vector<std::string> ids = {model::formatKri(outbound)};
  if (outboundType == kMeshServiceType || outboundType == kMeshExternalServiceType ||
      outboundType == kMeshMultiZoneServiceType || outboundType == kMeshHTTPRoute) {
    if (!outbound.sectionName.empty()) {
      ids.push_back(withoutSection(outbound));
    }
    if (outbound.mesh == context.meshName()) {
      ids.push_back(meshKri(outbound.mesh));
    }
  }
  const policies::ProxyView view = proxyViewOf(dataplane, spec);
  Json routes = Json::array();
  for (std::string_view type : {kMeshHTTPRoute, kMeshTCPRoute}) {
    const ResourceRules rules =
        buildResourceRules(context, type, selectPolicies(context, type, view));
    const ResourceRule* rule = firstRule(rules, ids);
    if (rule == nullptr) {
      continue;
    }
    Json list = Json::array();
    if (type == kMeshHTTPRoute) {
      const nlohmann::json* items = policies::member(rule->conf, "rules");
      for (const nlohmann::json& item : items != nullptr ? *items : nlohmann::json::array()) {
        const nlohmann::json* matches = policies::member(item, "matches");
        const nlohmann::json m = matches != nullptr ? *matches : nlohmann::json::array();
        auto origin = rule->originByMatches.find(policies::meshhttproute::hashMatches(m));
        const nlohmann::json* conf = policies::member(item, "default");
        Json r;
        r["conf"] = conf != nullptr ? ordered(*conf) : Json::object();
        r["kri"] = origin != rule->originByMatches.end()
                       ? model::kriOf(*origin->second.entry->resource)
                       : std::string();
        r["matches"] = ordered(m);
        list.push_back(std::move(r));
      }
    } else {
      const nlohmann::json* conf = policies::member(rule->conf, "default");
      Json r;
      r["conf"] = conf != nullptr ? ordered(*conf) : Json::object();
      r["kri"] = "";
      r["matches"] = nullptr;
      list.push_back(std::move(r));
    }
    Json route;
    route["kind"] = std::string(type);
    route["origins"] = kriOrigins(rule->origins);
    route["rules"] = std::move(list);
    routes.push_back(std::move(route));
  }
  Json out;
  out["routes"] = std::move(routes);
  return out;
}

bool policySelectsDataplane(const model::Resource& policy, const model::Resource& dataplane) {
  const auto* spec = policies::schemaSpecOf(policy);
  const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(dataplane);
  if (spec == nullptr || dp == nullptr) {
    return false;
  }
  const nlohmann::json* ref = policies::member(spec->spec(), "targetRef");
  return policies::selectsProxy(policies::parseTargetRef(ref != nullptr ? *ref : nlohmann::json()),
                                proxyViewOf(dataplane, *dp));
}

Json inspectRules(const MeshContext& context, const model::Resource& dataplane,
                  const mesh::v1alpha1::Dataplane& spec) {
  const policies::ProxyView view = proxyViewOf(dataplane, spec);
  ProxyContext proxy;
  proxy.mesh = &context;
  proxy.dataplane = &dataplane;
  const bool exclusive =
      context.mesh().mesh_services().mode() == mesh::v1alpha1::Mesh_MeshServices_Mode_Exclusive;
  Json rules = Json::array();
  std::map<std::string, nlohmann::json> httpMatches;  // by Kuma's HashMatches
  for (const std::string& type : inspectedPolicyTypes()) {
    const std::vector<const PolicyEntry*> entries = selectPolicies(context, type, view);
    if (entries.empty()) {
      continue;
    }
    std::vector<const nlohmann::json*> specs;
    for (const PolicyEntry* e : entries) {
      specs.push_back(e->spec);
    }
    const bool fromAsRules = entries.front()->resource->descriptor != nullptr &&
                             entries.front()->resource->descriptor->policy.isFromAsRules;

    // to[]: legacy rules over kuma.io/service subsets.
    std::vector<policies::LegacyRuleItem> toItems;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i]->targetRef.kind == "MeshHTTPRoute") {
        continue;
      }
      const nlohmann::json* to = policies::member(*entries[i]->spec, "to");
      if (to == nullptr || !to->is_array()) {
        continue;
      }
      for (size_t j = 0; j < to->size(); ++j) {
        const nlohmann::json& item = (*to)[j];
        const nlohmann::json* ref = policies::member(item, "targetRef");
        policies::TargetRef target = policies::parseTargetRef(ref != nullptr ? *ref : nullptr);
        const nlohmann::json* conf = policies::member(item, "default");
        if (type == "MeshTCPRoute") {
          // Kuma's MeshTCPRoute To.GetDefault(): its first rule.
          const nlohmann::json* rules = policies::member(item, "rules");
          conf = rules != nullptr && rules->is_array() && !rules->empty() ? &(*rules)[0] : nullptr;
        }
        if (isOldKind(target.kind)) {
          toItems.push_back({std::move(target), conf, i});
        }
      }
    }
    // MeshHTTPRoute confs are Kuma's PolicyDefault: the route rules merged by matches
    // (the plugin's combineRules), for the destination the subset names.
    const bool httpRoute = type == "MeshHTTPRoute";
    auto routeConf = [&](const std::vector<policies::SubsetTag>& subset) {
      std::string service;
      for (const auto& t : subset) {
        if (t.key == "kuma.io/service" && !t.negated) {
          service = t.value;
        }
      }
      nlohmann::json conf = policies::meshhttproute::combineRules(specs, service);
      if (const nlohmann::json* rules = policies::member(conf, "rules")) {
        for (const nlohmann::json& rule : *rules) {
          const nlohmann::json* matches = policies::member(rule, "matches");
          const nlohmann::json m = matches != nullptr ? *matches : nlohmann::json::array();
          httpMatches[policies::meshhttproute::hashMatches(m)] = m;
        }
      }
      return conf;
    };
    Json toRules = Json::array();
    if (!exclusive) {
      for (policies::LegacyRule& rule : policies::legacyRules(toItems, false)) {
        Json r;
        r["conf"] = ordered(httpRoute ? routeConf(rule.subset) : rule.conf);
        r["matchers"] = matchersJson(rule.subset);
        r["origin"] = originsJson(entries, rule.origins);
        toRules.push_back(std::move(r));
      }
    }
    // to[] items that target real resources: Kuma's resource rules, sorted by the resource's
    // name (Kuma sorts by name only; the section name breaks ties here).
    Json toResourceRules = Json::array();
    const ResourceRules resourceRules = buildResourceRules(context, type, entries);
    std::vector<std::pair<std::string, const ResourceRule*>> byName;
    for (const auto& [id, rule] : resourceRules) {
      byName.emplace_back(rule.resource == nullptr ? context.meshName() : rule.resource->meta.name,
                          &rule);
    }
    std::stable_sort(byName.begin(), byName.end(), [](const auto& a, const auto& b) {
      return std::tie(a.first, a.second->sectionName) < std::tie(b.first, b.second->sectionName);
    });
    for (const auto& [name, rule] : byName) {
      Json origins = Json::array();
      for (const ResourceRuleOrigin& o : rule->origins) {
        origins.push_back(ruleOrigin(*o.entry, o.ruleIndex));
      }
      Json r;
      r["conf"] = Json::array({ordered(rule->conf)});
      r["origin"] = std::move(origins);
      r["resourceMeta"] =
          rule->resource == nullptr ? meshMeta(context.meshName()) : inspectMeta(*rule->resource);
      r["resourceSectionName"] = rule->sectionName;
      toResourceRules.push_back(std::move(r));
      if (const nlohmann::json* rules = policies::member(rule->conf, "rules");
          httpRoute && rules != nullptr && rules->is_array()) {
        for (const nlohmann::json& route : *rules) {
          const nlohmann::json* matches = policies::member(route, "matches");
          const nlohmann::json m = matches != nullptr ? *matches : nlohmann::json::array();
          httpMatches[policies::meshhttproute::hashMatches(m)] = m;
        }
      }
    }

    // Per inbound: legacy from[] rules and rules[] (from[] too for isFromAsRules types).
    Json fromRules = Json::array();
    Json inboundRules = Json::array();
    std::vector<std::pair<uint32_t, int>> inbounds;  // port, index: sorted by port like Kuma
    for (int i = 0; i < spec.networking().inbound_size(); ++i) {
      inbounds.emplace_back(spec.networking().inbound(i).port(), i);
    }
    std::stable_sort(inbounds.begin(), inbounds.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [port, index] : inbounds) {
      const auto& inbound = spec.networking().inbound(index);
      std::vector<const nlohmann::json*> mine =
          policies::specsForInbound(proxy, type, specs, index);
      std::vector<const PolicyEntry*> mineEntries;
      for (const nlohmann::json* s : mine) {
        for (const PolicyEntry* e : entries) {
          if (e->spec == s) {
            mineEntries.push_back(e);
            break;
          }
        }
      }
      std::vector<policies::LegacyRuleItem> fromItems;
      struct InboundItem {
        const PolicyEntry* entry;
        size_t index;
        const nlohmann::json* conf;
        const nlohmann::json* match;
      };
      std::vector<InboundItem> inboundItems;
      for (size_t i = 0; i < mineEntries.size(); ++i) {
        const nlohmann::json& s = *mineEntries[i]->spec;
        const nlohmann::json* from = policies::member(s, "from");
        const nlohmann::json* rulesList = policies::member(s, "rules");
        if (from != nullptr && from->is_array()) {
          for (const nlohmann::json& item : *from) {
            const nlohmann::json* ref = policies::member(item, "targetRef");
            fromItems.push_back({policies::parseTargetRef(ref != nullptr ? *ref : nullptr),
                                 policies::member(item, "default"), i});
          }
        }
        if (rulesList != nullptr && rulesList->is_array() && !rulesList->empty()) {
          for (size_t j = 0; j < rulesList->size(); ++j) {
            const nlohmann::json& item = (*rulesList)[j];
            const nlohmann::json* conf = policies::member(item, "default");
            const nlohmann::json* matches = policies::member(item, "matches");
            if (matches != nullptr && matches->is_array() && !matches->empty()) {
              for (const nlohmann::json& m : *matches) {
                inboundItems.push_back({mineEntries[i], j, conf, &m});
              }
            } else {
              inboundItems.push_back({mineEntries[i], j, conf, nullptr});
            }
          }
        } else if (fromAsRules && from != nullptr && from->is_array()) {
          for (size_t j = 0; j < from->size(); ++j) {
            inboundItems.push_back(
                {mineEntries[i], j, policies::member((*from)[j], "default"), nullptr});
          }
        }
      }
      std::vector<policies::LegacyRule> legacy = policies::legacyRules(fromItems, true);
      if (!legacy.empty()) {
        Json list = Json::array();
        for (policies::LegacyRule& rule : legacy) {
          Json r;
          r["conf"] = ordered(rule.conf);
          r["matchers"] = matchersJson(rule.subset);
          r["origin"] = originsJson(mineEntries, rule.origins);
          list.push_back(std::move(r));
        }
        fromRules.push_back({{"inbound", inboundJson(inbound)}, {"rules", std::move(list)}});
      }
      if (!inboundItems.empty()) {
        std::stable_sort(inboundItems.begin(), inboundItems.end(),
                         [](const InboundItem& a, const InboundItem& b) {
                           return matchRank(a.match) > matchRank(b.match);
                         });
        Json list = Json::array();
        for (const InboundItem& item : inboundItems) {
          Json r;
          r["conf"] = Json::array({item.conf != nullptr ? ordered(*item.conf) : Json(nullptr)});
          if (item.match != nullptr) {
            r["match"] = ordered(*item.match);
          }
          r["origin"] = Json::array({ruleOrigin(*item.entry, item.index)});
          list.push_back(std::move(r));
        }
        inboundRules.push_back({{"inbound", inboundJson(inbound)}, {"rules", std::move(list)}});
      }
    }

    // Single-item policies: the merge of every selected policy's top-level `default`.
    Json proxyRule;
    {
      nlohmann::json merged = nlohmann::json::object();
      Json origin = Json::array();
      for (const PolicyEntry* e : entries) {
        const nlohmann::json* conf = policies::member(*e->spec, "default");
        if (conf == nullptr) {
          continue;
        }
        merged.merge_patch(*conf);
        origin.push_back(inspectMeta(*e->resource));
      }
      if (!origin.empty()) {
        proxyRule["conf"] = ordered(merged);
        proxyRule["origin"] = std::move(origin);
      }
    }

    if (proxyRule.is_null() && fromRules.empty() && toRules.empty() && toResourceRules.empty() &&
        inboundRules.empty()) {
      continue;
    }
    Json rule;
    rule["fromRules"] = std::move(fromRules);
    rule["inboundRules"] = std::move(inboundRules);
    if (!proxyRule.is_null()) {
      rule["proxyRule"] = std::move(proxyRule);
    }
    rule["toResourceRules"] = std::move(toResourceRules);
    rule["toRules"] = std::move(toRules);
    rule["type"] = type;
    rule["warnings"] = Json::array();
    rules.push_back(std::move(rule));
  }
  Json matches = Json::array();
  for (const auto& [hash, match] : httpMatches) {
    matches.push_back({{"hash", hash}, {"match", ordered(match)}});
  }
  Json out;
  out["httpMatches"] = std::move(matches);
  out["resource"] = inspectMeta(dataplane);
  out["rules"] = std::move(rules);
  return out;
}

}  // namespace kuma::xds
