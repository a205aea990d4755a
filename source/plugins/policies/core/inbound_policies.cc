#include "source/plugins/policies/core/inbound_policies.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <tuple>

#include "absl/strings/str_join.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/plugins/policies/core/policy.h"
#include "source/plugins/policies/core/rules.h"
#include "source/xds/context/mesh_context.h"

namespace kuma::policies {

std::vector<const nlohmann::json*> specsForInbound(const xds::ProxyContext& proxy,
                                                   std::string_view type,
                                                   const std::vector<const nlohmann::json*>& specs,
                                                   int inboundIndex) {
  if (proxy.mesh == nullptr || proxy.dataplane == nullptr) {
    return specs;
  }
  const auto* dp = model::protoSpecOf<mesh::v1alpha1::Dataplane>(*proxy.dataplane);
  if (dp == nullptr || inboundIndex < 0 || inboundIndex >= dp->networking().inbound_size()) {
    return specs;
  }
  const auto& inbound = dp->networking().inbound(inboundIndex);
  ProxyView view;
  view.name = proxy.dataplane->meta.name;
  view.labels = proxy.dataplane->meta.labels;
  view.inboundTags.emplace_back(inbound.tags().begin(), inbound.tags().end());
  const std::vector<xds::PolicyEntry>& entries = proxy.mesh->policies(type);
  std::vector<const nlohmann::json*> out;
  for (const nlohmann::json* spec : specs) {
    const xds::PolicyEntry* entry = nullptr;
    for (const xds::PolicyEntry& e : entries) {
      if (e.spec == spec) {
        entry = &e;
        break;
      }
    }
    if (entry == nullptr) {
      out.push_back(spec);
      continue;
    }
    const TargetRef& ref = entry->targetRef;
    if (ref.kind == "Dataplane" && !ref.sectionName.empty()) {
      if (ref.sectionName != inbound.name() && ref.sectionName != std::to_string(inbound.port())) {
        continue;
      }
    }
    if (selectsProxy(ref, view)) {
      out.push_back(spec);
    }
  }
  return out;
}

namespace {

using Subset = std::vector<SubsetTag>;

// Kuma's asSubset; nullopt for kinds that are not tags.
std::optional<Subset> asSubset(const TargetRef& ref) {
  Subset out;
  if (ref.kind == "Mesh") {
    return out;
  }
  if (ref.kind == "MeshService" || ref.kind == "MeshServiceSubset") {
    out.push_back({"kuma.io/service", ref.name, false});
  }
  if (ref.kind == "MeshSubset" || ref.kind == "MeshServiceSubset") {
    for (const auto& [k, v] : ref.tags) {
      out.push_back({k, v, false});
    }
    return out;
  }
  if (ref.kind == "MeshService") {
    return out;
  }
  return std::nullopt;
}

// subsetutils.isSubset of two tags of one key.
bool tagIsSubset(const SubsetTag& a, const SubsetTag& b) {
  if (a.key != b.key) {
    return false;
  }
  if (a.negated == b.negated) {
    return a.value == b.value;
  }
  if (a.negated) {
    return a.value != b.value;
  }
  return false;
}

// Subset.IsSubset: `ss` covers `other`.
bool isSubset(const Subset& ss, const Subset& other) {
  for (const SubsetTag& tag : ss) {
    bool found = false;
    for (const SubsetTag& o : other) {
      if (o.key != tag.key) {
        continue;
      }
      found = true;
      if (!tagIsSubset(tag, o)) {
        return false;
      }
    }
    if (!found) {
      return false;
    }
  }
  return true;
}

// Subset.Intersect (positive tags of one key must agree).
bool intersect(const Subset& a, const Subset& b) {
  if (a.empty() || b.empty()) {
    return true;
  }
  for (const SubsetTag& t : a) {
    if (t.negated) {
      continue;
    }
    for (const SubsetTag& o : b) {
      if (!o.negated && o.key == t.key && o.value != t.value) {
        return false;
      }
    }
  }
  return true;
}

int numPositive(const Subset& ss) {
  return static_cast<int>(
      std::count_if(ss.begin(), ss.end(), [](const SubsetTag& t) { return !t.negated; }));
}

// Every maximal clique of the graph (adjacency bitmasks), Bron–Kerbosch.
void maximalCliques(const std::vector<uint64_t>& adj, uint64_t r, uint64_t p, uint64_t x,
                    std::vector<uint64_t>& out) {
  if (p == 0 && x == 0) {
    out.push_back(r);
    return;
  }
  for (int v = 0; v < static_cast<int>(adj.size()); ++v) {
    const uint64_t bit = uint64_t{1} << v;
    if ((p & bit) == 0) {
      continue;
    }
    maximalCliques(adj, r | bit, p & adj[v], x & adj[v], out);
    p &= ~bit;
    x |= bit;
  }
}

// Bounds of the legacy rules (hostile input: the cliques and the combinations of their tags grow
// exponentially): items considered, and combinations of tags over all cliques.
constexpr size_t kMaxLegacyItems = 16;
constexpr size_t kMaxCombinations = 1024;

// Kuma's SubsetIter over sorted tags: an odometer over each key's values plus "all negated";
// the all-zero state (first value of every key) comes last. Empty when there would be more than
// `budget` (which is reduced by the number returned).
std::vector<Subset> combinations(const Subset& tags, size_t& budget) {
  std::vector<std::pair<std::string, std::vector<std::string>>> dims;
  for (const SubsetTag& t : tags) {
    if (dims.empty() || dims.back().first != t.key) {
      dims.push_back({t.key, {}});
    }
    auto& vals = dims.back().second;
    if (std::find(vals.begin(), vals.end(), t.value) == vals.end()) {
      vals.push_back(t.value);
    }
  }
  size_t total = 1;
  for (const auto& dim : dims) {
    total *= dim.second.size() + 1;
    if (total > budget) {
      return {};
    }
  }
  budget -= total;
  std::vector<size_t> idx(dims.size(), 0);
  auto current = [&] {
    Subset out;
    for (size_t i = 0; i < dims.size(); ++i) {
      const auto& [key, vals] = dims[i];
      if (idx[i] == vals.size()) {
        for (const auto& v : vals) {
          out.push_back({key, v, true});
        }
      } else {
        out.push_back({key, vals[vals.size() - idx[i] - 1], false});
      }
    }
    return out;
  };
  std::vector<Subset> out;
  while (true) {
    bool advanced = false;
    for (size_t i = 0; i < idx.size(); ++i) {
      if (++idx[i] < dims[i].second.size() + 1) {
        advanced = true;
        break;
      }
      idx[i] = 0;
    }
    out.push_back(current());
    if (!advanced) {
      return out;
    }
  }
}

}  // namespace

std::vector<LegacyRule> legacyRules(const std::vector<LegacyRuleItem>& input, bool withNegations) {
  struct Item {
    Subset subset;
    const LegacyRuleItem* item = nullptr;
  };
  std::vector<Item> items;
  for (const LegacyRuleItem& in : input) {
    std::optional<Subset> subset = asSubset(in.targetRef);
    if (subset && items.size() < kMaxLegacyItems) {
      items.push_back({*std::move(subset), &in});
    }
  }
  std::vector<LegacyRule> rules;
  if (items.empty()) {
    return rules;
  }
  // Kuma's createRule: the merge of every item covering `ss`, with their origins.
  auto createRule = [&](Subset ss) {
    nlohmann::json merged = nlohmann::json::object();
    std::vector<size_t> origins;
    bool relevant = false;
    for (const Item& item : items) {
      if (isSubset(item.subset, ss)) {
        relevant = true;
        if (item.item->conf != nullptr) {
          merged.merge_patch(*item.item->conf);
        }
        if (std::find(origins.begin(), origins.end(), item.item->origin) == origins.end()) {
          origins.push_back(item.item->origin);
        }
      }
    }
    if (relevant) {
      rules.push_back({std::move(ss), std::move(merged), std::move(origins)});
    }
  };
  std::set<std::string> keys;
  for (const Item& item : items) {
    for (const SubsetTag& t : item.subset) {
      keys.insert(t.key);
    }
  }
  if (!withNegations && keys.size() <= 1) {
    std::vector<Subset> distinct;
    for (const Item& item : items) {
      Subset sorted = item.subset;
      std::sort(sorted.begin(), sorted.end(), [](const SubsetTag& a, const SubsetTag& b) {
        return std::tie(a.key, a.value, a.negated) < std::tie(b.key, b.value, b.negated);
      });
      const bool seen = std::any_of(distinct.begin(), distinct.end(), [&](const Subset& d) {
        return d.size() == sorted.size() &&
               std::equal(d.begin(), d.end(), sorted.begin(), [](const auto& a, const auto& b) {
                 return a.key == b.key && a.value == b.value && a.negated == b.negated;
               });
      });
      if (!seen) {
        distinct.push_back(std::move(sorted));
      }
    }
    for (Subset& ss : distinct) {
      createRule(std::move(ss));
    }
    std::stable_sort(rules.begin(), rules.end(), [](const LegacyRule& a, const LegacyRule& b) {
      return a.subset.size() > b.subset.size();
    });
    return rules;
  }
  const int n = static_cast<int>(items.size());
  std::vector<uint64_t> adj(n, 0);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < n; ++j) {
      if (i != j && intersect(items[i].subset, items[j].subset)) {
        adj[i] |= uint64_t{1} << j;
      }
    }
  }
  std::vector<uint64_t> cliques;
  const uint64_t all = (uint64_t{1} << n) - 1;
  maximalCliques(adj, 0, all, 0, cliques);
  // Kuma's sortComponents: node ids ascending within a clique, cliques by their joined ids
  // ("0:1") in descending string order.
  std::vector<std::pair<std::string, uint64_t>> sorted;
  for (uint64_t c : cliques) {
    std::vector<int> ids;
    for (int v = 0; v < n; ++v) {
      if (c & (uint64_t{1} << v)) {
        ids.push_back(v);
      }
    }
    sorted.push_back({absl::StrJoin(ids, ":"), c});
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  size_t budget = kMaxCombinations;
  for (const auto& [key, clique] : sorted) {
    std::set<std::pair<std::string, std::string>> tagSet;
    for (int v = 0; v < n; ++v) {
      if (clique & (uint64_t{1} << v)) {
        for (const SubsetTag& t : items[v].subset) {
          tagSet.insert({t.key, t.value});
        }
      }
    }
    Subset tags;
    for (const auto& [k, v] : tagSet) {
      tags.push_back({k, v, false});
    }
    for (Subset& ss : combinations(tags, budget)) {
      createRule(std::move(ss));
    }
  }
  std::stable_sort(rules.begin(), rules.end(), [](const LegacyRule& a, const LegacyRule& b) {
    return numPositive(a.subset) > numPositive(b.subset);
  });
  return rules;
}

std::vector<LegacyFromRule> legacyFromRules(const std::vector<const nlohmann::json*>& specs) {
  std::vector<LegacyRuleItem> items;
  for (size_t i = 0; i < specs.size(); ++i) {
    const nlohmann::json* spec = specs[i];
    const nlohmann::json* from = spec != nullptr ? member(*spec, "from") : nullptr;
    if (from == nullptr || !from->is_array()) {
      continue;
    }
    for (const nlohmann::json& item : *from) {
      const nlohmann::json* ref = member(item, "targetRef");
      items.push_back(
          {parseTargetRef(ref != nullptr ? *ref : nullptr), member(item, "default"), i});
    }
  }
  std::vector<LegacyFromRule> out;
  for (LegacyRule& rule : legacyRules(items, /*withNegations=*/true)) {
    out.push_back({std::move(rule.subset), std::move(rule.conf)});
  }
  return out;
}

}  // namespace kuma::policies
