#include "source/plugins/policies/core/rules.h"

#include <algorithm>
#include <string_view>
#include <tuple>
#include <vector>

#include "absl/strings/str_split.h"

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies {
namespace {

using nlohmann::json;
using Tags = std::map<std::string, std::string>;

constexpr char kServiceTag[] = "kuma.io/service";

bool subsetOf(const Tags& subset, const Tags& tags) {
  return std::all_of(subset.begin(), subset.end(), [&](const auto& kv) {
    auto it = tags.find(kv.first);
    return it != tags.end() && it->second == kv.second;
  });
}

bool anyInbound(const ProxyView& proxy, const Tags& want) {
  return std::any_of(proxy.inboundTags.begin(), proxy.inboundTags.end(),
                     [&](const Tags& tags) { return subsetOf(want, tags); });
}

}  // namespace

bool selectsProxy(const TargetRef& ref, const ProxyView& proxy) {
  if (ref.kind == kMesh) {
    return ref.proxyTypes.empty() || std::find(ref.proxyTypes.begin(), ref.proxyTypes.end(),
                                               proxy.proxyType) != ref.proxyTypes.end();
  }
  if (ref.kind == kMeshSubset) {
    return anyInbound(proxy, ref.tags);
  }
  if (ref.kind == kMeshService || ref.kind == kMeshServiceSubset) {
    Tags want = ref.kind == kMeshServiceSubset ? ref.tags : Tags{};
    want[kServiceTag] = ref.name;
    return anyInbound(proxy, want);
  }
  if (ref.kind == kDataplane) {
    if (!ref.name.empty()) {
      return ref.name == proxy.name;
    }
    return subsetOf(ref.labels, proxy.labels);
  }
  return false;
}

bool coversDestination(const TargetRef& ref, const std::string& service) {
  const Tags destination = {{kServiceTag, service}};
  if (ref.kind == kMesh) {
    return true;
  }
  if (ref.kind == kMeshService) {
    return ref.name == service && ref.sectionName.empty();
  }
  if (ref.kind == kMeshServiceSubset) {
    return ref.name == service && subsetOf(ref.tags, destination);
  }
  if (ref.kind == kMeshSubset) {
    return subsetOf(ref.tags, destination);
  }
  if (ref.kind == kMeshExternalService || ref.kind == kMeshMultiZoneService) {
    // Their names are DNS labels: no '_' inside a part.
    const std::vector<std::string> parts = absl::StrSplit(service, '_');
    const std::string_view shortName = ref.kind == kMeshExternalService ? "extsvc" : "mzsvc";
    return parts.size() == 7 && parts[0] == "kri" && parts[1] == shortName &&
           parts[5] == ref.name && (ref.sectionName.empty() || parts[6] == ref.sectionName);
  }
  return false;
}

bool appliesBefore(const TargetRef& refA, std::string_view nameA, const TargetRef& refB,
                   std::string_view nameB) {
  const int ka = targetRefKindOrder(refA.kind);
  const int kb = targetRefKindOrder(refB.kind);
  if (ka != kb) {
    return ka < kb;
  }
  return nameA > nameB;
}

json mergeDestinationConf(const std::vector<const json*>& specs, const std::string& service) {
  // Kuma's outbound Sort: the policies' top-level targetRef kind, then the `to[]` item's kind
  // (a MeshService with a sectionName after one without), then the policies' order (`specs`),
  // which is stable here. The last one merged wins.
  struct Item {
    int topKind;
    int toKind;
    int section;
    const json* conf;
  };
  std::vector<Item> items;
  for (const json* spec : specs) {
    const json* to = spec == nullptr ? nullptr : member(*spec, "to");
    if (to == nullptr || !to->is_array()) {
      continue;
    }
    const json* top = member(*spec, "targetRef");
    const int topKind = targetRefKindOrder(parseTargetRef(top != nullptr ? *top : json()).kind);
    for (const auto& item : *to) {
      const json* ref = member(item, "targetRef");
      const json* conf = member(item, "default");
      const TargetRef target = parseTargetRef(ref != nullptr ? *ref : json());
      if (conf == nullptr || !coversDestination(target, service)) {
        continue;
      }
      const int section = target.kind == kMeshService && !target.sectionName.empty() ? 1 : 0;
      items.push_back({topKind, targetRefKindOrder(target.kind), section, conf});
    }
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
    return std::tie(a.topKind, a.toKind, a.section) < std::tie(b.topKind, b.toKind, b.section);
  });
  json merged;  // null: nothing applies
  for (const Item& item : items) {
    if (merged.is_null()) {
      merged = json::object();
    }
    merged.merge_patch(*item.conf);
  }
  return merged;
}

json mergeInboundConf(const std::vector<const json*>& specs) {
  json merged = json::object();
  for (const json* spec : specs) {
    if (spec == nullptr) {
      continue;
    }
    for (std::string_view key : {"from", "rules"}) {
      const json* items = member(*spec, key);
      if (items == nullptr || !items->is_array()) {
        continue;
      }
      for (const auto& item : *items) {
        if (key == "rules" && arraySize(item, "matches") > 0) {
          continue;
        }
        if (const json* conf = member(item, "default")) {
          merged.merge_patch(*conf);
        }
      }
    }
  }
  return merged;
}

}  // namespace kuma::policies
