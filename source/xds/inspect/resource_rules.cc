#include "source/xds/inspect/resource_rules.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/core/model/kri.h"
#include "source/core/model/rest_codec.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/target_ref.h"
#include "source/plugins/policies/meshhttproute/xds_configurer.h"
#include "source/xds/generator/meshservice_outbounds.h"

namespace kuma::xds {
namespace {

using nlohmann::json;

constexpr char kZoneLabel[] = "kuma.io/zone";
constexpr char kNamespaceLabel[] = "k8s.kuma.io/namespace";
constexpr char kDisplayNameLabel[] = "kuma.io/display-name";

std::string labelOf(const model::Resource& r, const char* key) {
  auto it = r.meta.labels.find(key);
  return it == r.meta.labels.end() ? "" : it->second;
}

bool hasLabels(const model::Resource& r, const std::map<std::string, std::string>& wanted) {
  return std::all_of(wanted.begin(), wanted.end(), [&](const auto& kv) {
    auto it = r.meta.labels.find(kv.first);
    return it != r.meta.labels.end() && it->second == kv.second;
  });
}

bool isResourceKind(std::string_view kind) {
  return kind == policies::kMeshService || kind == policies::kMeshExternalService ||
         kind == policies::kMeshMultiZoneService || kind == policies::kMeshHTTPRoute;
}

/** One resource (or port of it) a `to[]` item resolved to; resource null: the mesh. */
struct Resolved {
  const model::Resource* resource = nullptr;
  std::string section;
  std::string id;
};

// Kuma's resolve.TargetRef: the resources (and ports) a `to[]` targetRef names. By labels, or by
// the identifier the policy's own zone and namespace complete; a MeshService name of the form
// `<name>_<namespace>_svc[_<port>]` (without sectionName) by its display name and namespace.
std::vector<Resolved> resolveTargetRef(const MeshContext& context, const policies::TargetRef& ref,
                                       const model::Resource& policy) {
  if (ref.kind == policies::kMesh) {
    return {Resolved{nullptr, "", meshKri(context.meshName())}};
  }
  if (!isResourceKind(ref.kind)) {
    return {};
  }
  std::map<std::string, std::string> byLabels = ref.labels;
  std::string section = ref.sectionName;
  int64_t port = 0;
  if (ref.kind == policies::kMeshService && section.empty()) {
    const std::vector<std::string> parts = absl::StrSplit(ref.name, '_');
    const bool withPort = parts.size() == 4 && absl::SimpleAtoi(parts[3], &port) &&
                          port >= INT32_MIN && port <= INT32_MAX;
    if (withPort || parts.size() == 3) {
      byLabels = {{kNamespaceLabel, parts[1]}, {kDisplayNameLabel, parts[0]}};
      port = withPort ? port : 0;
    } else {
      port = 0;
    }
  }
  const std::string ns = ref.ns.empty() ? labelOf(policy, kNamespaceLabel) : ref.ns;
  const std::string zone = labelOf(policy, kZoneLabel);
  std::vector<Resolved> out;
  for (const PolicyEntry& e : context.policies(ref.kind)) {
    const model::Resource& r = *e.resource;
    const bool matches = !byLabels.empty()
                             ? hasLabels(r, byLabels)
                             : r.meta.name == ref.name && labelOf(r, kZoneLabel) == zone &&
                                   labelOf(r, kNamespaceLabel) == ns;
    if (!matches) {
      continue;
    }
    const std::string kri = model::kriOf(r);
    if ((port == 0 && section.empty()) || ref.kind == policies::kMeshHTTPRoute) {
      out.push_back({&r, "", kri});
      continue;
    }
    for (const json& p : destinationPorts(r)) {
      if (port != 0 ? p.value("port", int64_t{0}) == port : portSectionName(p) == section) {
        const std::string name = portSectionName(p);
        out.push_back({&r, name, kri + name});
        break;
      }
    }
  }
  return out;
}

std::string typeOf(const model::Resource* r) {
  return r == nullptr ? "Mesh" : r->descriptor->name;
}

// Kuma's withResolvedResource.isRelevant: does an item resolved to `item` apply to the rule of
// `other`? The mesh's items apply everywhere; a service's items without a section to its ports.
bool isRelevant(const Resolved& item, const Resolved& other) {
  if (item.resource == nullptr) {
    return true;
  }
  const std::string type = typeOf(item.resource);
  if (typeOf(other.resource) != type) {
    return false;
  }
  const bool sameResource = model::kriOf(*item.resource) == model::kriOf(*other.resource);
  if (type == policies::kMeshService || type == policies::kMeshMultiZoneService) {
    return item.id == other.id || (sameResource && item.section.empty() && !other.section.empty());
  }
  return sameResource;
}

struct Item {
  const PolicyEntry* entry;
  size_t index;
  const json* item;  // the `to[]` entry
  const json* conf;  // what Kuma merges: `default`, a MeshTCPRoute's first rule
  policies::TargetRef target;
  std::tuple<int, int, int> order;
};

}  // namespace

std::string meshKri(std::string_view mesh) {
  model::Kri kri;
  kri.shortName = "m";
  kri.name = std::string(mesh);
  return model::formatKri(kri);
}

ResourceRules buildResourceRules(const MeshContext& context, std::string_view type,
                                 const std::vector<const PolicyEntry*>& selected) {
  const bool httpRoute = type == policies::kMeshHTTPRoute;
  const bool tcpRoute = type == "MeshTCPRoute";
  std::vector<Item> items;
  for (const PolicyEntry* e : selected) {
    if (e->targetRef.kind == policies::kMeshHTTPRoute) {
      continue;  // route-level policies apply to the route, not to `to[]` resources
    }
    const json* to = policies::member(*e->spec, "to");
    if (to == nullptr || !to->is_array()) {
      continue;
    }
    const int topKind = policies::targetRefKindOrder(e->targetRef.kind);
    for (size_t j = 0; j < to->size(); ++j) {
      const json& entry = (*to)[j];
      const json* ref = policies::member(entry, "targetRef");
      policies::TargetRef target = policies::parseTargetRef(ref != nullptr ? *ref : json());
      const json* conf = policies::member(entry, "default");
      if (tcpRoute) {
        const json* rules = policies::member(entry, "rules");
        conf = rules != nullptr && rules->is_array() && !rules->empty() ? &(*rules)[0] : nullptr;
      }
      const int section =
          target.kind == policies::kMeshService && !target.sectionName.empty() ? 1 : 0;
      const int toKind = policies::targetRefKindOrder(target.kind);
      items.push_back({e, j, &entry, conf, std::move(target), {topKind, toKind, section}});
    }
  }
  // Kuma's outbound Sort: the policies' attributes (`selected` is in that order), then the
  // item's kind, a MeshService with a sectionName after one without.
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.order < b.order; });

  std::vector<std::pair<size_t, Resolved>> resolved;  // item index, what it resolved to
  std::map<std::string, Resolved> indexed;
  for (size_t i = 0; i < items.size(); ++i) {
    for (Resolved& r : resolveTargetRef(context, items[i].target, *items[i].entry->resource)) {
      indexed.emplace(r.id, r);
      resolved.emplace_back(i, std::move(r));
    }
  }

  ResourceRules rules;
  for (const auto& [id, target] : indexed) {
    std::vector<const Item*> relevant;
    for (const auto& [i, r] : resolved) {
      if (isRelevant(r, target)) {
        relevant.push_back(&items[i]);
      }
    }
    if (relevant.empty()) {
      continue;
    }
    ResourceRule rule;
    rule.resource = target.resource;
    rule.sectionName = target.section;
    std::set<std::pair<const PolicyEntry*, size_t>> seen;
    for (const Item* item : relevant) {
      if (seen.insert({item->entry, item->index}).second) {
        rule.origins.push_back({item->entry, item->index});
      }
    }
    if (httpRoute) {
      std::vector<const json*> entries;
      for (const Item* item : relevant) {
        entries.push_back(item->item);
      }
      rule.conf = policies::meshhttproute::mergeToItems(entries);
      for (const Item* item : relevant) {
        const json* list = policies::member(*item->item, "rules");
        if (list == nullptr || !list->is_array()) {
          continue;
        }
        for (const json& r : *list) {
          const json* matches = policies::member(r, "matches");
          rule.originByMatches[policies::meshhttproute::hashMatches(
              matches != nullptr ? *matches : json::array())] = {item->entry, item->index};
        }
      }
    } else {
      rule.conf = json::object();
      for (const Item* item : relevant) {
        if (item->conf != nullptr) {
          rule.conf.merge_patch(*item->conf);
        }
      }
    }
    rules.emplace(id, std::move(rule));
  }
  return rules;
}

const ResourceRule* firstRule(const ResourceRules& rules, const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    if (auto it = rules.find(id); it != rules.end()) {
      return &it->second;
    }
  }
  return nullptr;
}

}  // namespace kuma::xds
