#include "source/plugins/policies/meshtrafficpermission/xds/from_rules.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kuma::policies::mtp {
namespace {

constexpr char kServiceTag[] = "kuma.io/service";

// Is every client satisfying `inner` also satisfying `outer` (both about the same key)?
bool tagContains(const Tag& outer, const Tag& inner) {
  if (outer.key != inner.key) {
    return false;
  }
  if (outer.negated == inner.negated) {
    return outer.value == inner.value;
  }
  if (outer.negated) {
    return outer.value != inner.value;  // {k: a} lies inside {k: !b} iff a != b
  }
  return false;  // {k: !a} never lies inside {k: b}
}

size_t positiveCount(const Subset& subset) {
  return static_cast<size_t>(
      std::count_if(subset.begin(), subset.end(), [](const Tag& t) { return !t.negated; }));
}

using Graph = std::vector<std::vector<bool>>;
using Group = std::vector<size_t>;

// Bron–Kerbosch with pivoting: every maximal clique of `g` (isolated nodes are cliques of one).
void bronKerbosch(const Graph& g, Group& r, std::vector<size_t> p, std::vector<size_t> x,
                  std::vector<Group>& out) {
  if (p.empty() && x.empty()) {
    out.push_back(r);
    return;
  }
  // Pivot: the node of P ∪ X with most neighbours in P.
  size_t pivot = p.empty() ? x.front() : p.front();
  size_t best = 0;
  for (const auto* set : {&p, &x}) {
    for (size_t u : *set) {
      size_t n =
          static_cast<size_t>(std::count_if(p.begin(), p.end(), [&](size_t v) { return g[u][v]; }));
      if (n > best) {
        best = n;
        pivot = u;
      }
    }
  }
  std::vector<size_t> candidates;
  for (size_t v : p) {
    if (!g[pivot][v]) {
      candidates.push_back(v);
    }
  }
  for (size_t v : candidates) {
    std::vector<size_t> np, nx;
    for (size_t u : p) {
      if (g[v][u]) {
        np.push_back(u);
      }
    }
    for (size_t u : x) {
      if (g[v][u]) {
        nx.push_back(u);
      }
    }
    r.push_back(v);
    bronKerbosch(g, r, std::move(np), std::move(nx), out);
    r.pop_back();
    p.erase(std::find(p.begin(), p.end(), v));
    x.push_back(v);
  }
}

std::vector<Group> maximalCliques(const Graph& g) {
  std::vector<Group> out;
  Group r;
  std::vector<size_t> all(g.size());
  for (size_t i = 0; i < g.size(); ++i) {
    all[i] = i;
  }
  bronKerbosch(g, r, all, {}, out);
  return out;
}

std::vector<Group> connectedComponents(const Graph& g) {
  std::vector<Group> out;
  std::vector<bool> seen(g.size(), false);
  for (size_t start = 0; start < g.size(); ++start) {
    if (seen[start]) {
      continue;
    }
    Group component;
    std::vector<size_t> stack = {start};
    seen[start] = true;
    while (!stack.empty()) {
      size_t u = stack.back();
      stack.pop_back();
      component.push_back(u);
      for (size_t v = 0; v < g.size(); ++v) {
        if (g[u][v] && !seen[v]) {
          seen[v] = true;
          stack.push_back(v);
        }
      }
    }
    out.push_back(std::move(component));
  }
  return out;
}

// Kuma orders groups deterministically: members ascending, then groups by the ':'-joined decimal
// member list compared as strings, descending.
void sortGroups(std::vector<Group>& groups) {
  for (auto& g : groups) {
    std::sort(g.begin(), g.end());
  }
  std::stable_sort(groups.begin(), groups.end(), [](const Group& a, const Group& b) {
    return absl::StrJoin(a, ":") > absl::StrJoin(b, ":");
  });
}

// One candidate combination with redundant tags removed: per key (in first-seen order) either
// its single positive tag, or all of its negated tags. nullopt when a key has two positive values.
std::optional<Subset> simplified(const Subset& current) {
  std::vector<std::string> keyOrder;
  std::map<std::string, Subset> byKey;
  for (const Tag& t : current) {
    auto [it, inserted] = byKey.try_emplace(t.key);
    if (inserted) {
      keyOrder.push_back(t.key);
    }
    it->second.push_back(t);
  }
  Subset out;
  for (const auto& key : keyOrder) {
    const Subset& tags = byKey[key];
    const size_t positive = positiveCount(tags);
    if (positive == 0) {
      out.insert(out.end(), tags.begin(), tags.end());
    } else if (positive == 1) {
      out.push_back(
          *std::find_if(tags.begin(), tags.end(), [](const Tag& t) { return !t.negated; }));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// Advances the negation pattern like a binary counter (tag 0 is the lowest bit).
// @return false after the all-negated pattern wrapped around to all-positive.
bool advance(Subset& current) {
  for (Tag& t : current) {
    if (t.negated) {
      t.negated = false;
    } else {
      t.negated = true;
      return true;
    }
  }
  return false;
}

// Every combination of `tags` positive/negated, in Kuma's SubsetIter order: the counter starts
// at "tag 0 negated" and the all-positive combination comes last.
std::vector<Subset> combinations(Subset tags) {
  std::vector<Subset> out;
  while (true) {
    const bool more = advance(tags);
    std::optional<Subset> s = simplified(tags);
    if (!more) {
      if (s.has_value()) {
        out.push_back(std::move(*s));
      }
      return out;
    }
    if (s.has_value()) {
      out.push_back(std::move(*s));
    }
  }
}

}  // namespace

std::optional<Subset> subsetOf(const TargetRef& ref) {
  Subset out;
  if (ref.kind == kMesh) {
    return out;
  }
  if (ref.kind == kMeshService || ref.kind == kMeshServiceSubset) {
    out.push_back({kServiceTag, ref.name, false});
    if (ref.kind == kMeshService) {
      return out;
    }
  } else if (ref.kind != kMeshSubset) {
    return std::nullopt;
  }
  for (const auto& [k, v] : ref.tags) {
    out.push_back({k, v, false});
  }
  return out;
}

bool contains(const Subset& outer, const Subset& inner) {
  for (const Tag& t : outer) {
    bool found = false;
    for (const Tag& o : inner) {
      if (o.key != t.key) {
        continue;
      }
      found = true;
      if (!tagContains(t, o)) {
        return false;
      }
    }
    if (!found) {
      return false;
    }
  }
  return true;
}

bool intersects(const Subset& a, const Subset& b) {
  for (const Tag& t : a) {
    if (t.negated) {
      continue;
    }
    for (const Tag& o : b) {
      if (!o.negated && o.key == t.key && o.value != t.value) {
        return false;
      }
    }
  }
  return true;
}

std::vector<FromRule> buildFromRules(const std::vector<FromItem>& items, bool useCliques) {
  std::vector<FromRule> rules;
  if (items.empty()) {
    return rules;
  }
  const size_t n = items.size();
  Graph g(n, std::vector<bool>(n, false));
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      if (i != j && intersects(items[i].subset, items[j].subset)) {
        g[i][j] = true;
      }
    }
  }
  std::vector<Group> groups = useCliques ? maximalCliques(g) : connectedComponents(g);
  sortGroups(groups);

  for (const Group& group : groups) {
    std::set<std::pair<std::string, std::string>> unique;
    for (size_t node : group) {
      for (const Tag& t : items[node].subset) {
        unique.emplace(t.key, t.value);
      }
    }
    Subset tags;
    for (const auto& [k, v] : unique) {
      tags.push_back({k, v, false});
    }
    for (Subset& combination : combinations(std::move(tags))) {
      nlohmann::json merged = nlohmann::json::object();
      bool relevant = false;
      for (const FromItem& item : items) {
        if (contains(item.subset, combination)) {
          relevant = true;
          if (item.conf.is_object()) {
            merged.merge_patch(item.conf);
          }
        }
      }
      if (relevant) {
        rules.push_back({std::move(combination), std::move(merged)});
      }
    }
  }
  std::stable_sort(rules.begin(), rules.end(), [](const FromRule& a, const FromRule& b) {
    return positiveCount(a.subset) > positiveCount(b.subset);
  });
  return rules;
}

std::string toString(const Subset& subset) {
  return absl::StrCat("{",
                      absl::StrJoin(subset, ", ",
                                    [](std::string* out, const Tag& t) {
                                      absl::StrAppend(out, t.key, t.negated ? "!=" : "=", t.value);
                                    }),
                      "}");
}

}  // namespace kuma::policies::mtp
