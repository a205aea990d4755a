#pragma once

// File: from_rules.h
// Kuma's "from rules" (spec §3.7 step 4): the `from[]` items of the MeshTrafficPermissions that
// select one inbound, turned into rules over client tag subsets. Each item's targetRef is a tag
// subset (Mesh → {}, MeshService → {kuma.io/service}, MeshServiceSubset → service + tags,
// MeshSubset → tags). Items whose subsets intersect are grouped (maximal cliques of the
// intersection graph, or connected components when the cliques algorithm is disabled); every
// combination of a group's tags, each positive or negated, becomes a candidate subset whose conf
// is the merge of every item contained in it. Rules are ordered by number of positive tags,
// descending. Nothing here knows about Envoy; rbac.h renders the rules.
//
//   std::vector<FromItem> items = {{subsetOf(meshRef), {{"action", "Allow"}}},
//                                  {subsetOf(serviceRef), {{"action", "Deny"}}}};
//   std::vector<FromRule> rules = buildFromRules(items, /*useCliques=*/true);
//   // [{kuma.io/service=web: Deny}, {kuma.io/service!=web: Allow}]

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "source/plugins/policies/core/target_ref.h"

namespace kuma::policies::mtp {

/** One tag condition on the client: `key == value`, or `key != value` when `negated`. */
struct Tag {
  std::string key;
  std::string value;
  bool negated = false;

  bool operator==(const Tag&) const = default;
};

/** A group of clients: every condition holds (an empty subset is every client). */
using Subset = std::vector<Tag>;

/**
 * The subset a `from[].targetRef` names: Mesh → {}, MeshService → {kuma.io/service: name},
 * MeshServiceSubset → service + tags, MeshSubset → tags (tags in key order). Other kinds cannot
 * be written as tags. @return nullopt for those.
 */
std::optional<Subset> subsetOf(const TargetRef& ref);

/** Kuma's IsSubset: is every client of `inner` also in `outer`? (Empty `outer`: always.) */
bool contains(const Subset& outer, const Subset& inner);

/**
 * Kuma's Intersect: can one client be in both? False only when a key has different positive
 * values in the two subsets (negations are ignored).
 */
bool intersects(const Subset& a, const Subset& b);

/** A `from[]` item: its client subset and its `default` conf. */
struct FromItem {
  Subset subset;
  nlohmann::json conf;
};

/** A client subset and the merged conf of every item that applies to it. */
struct FromRule {
  Subset subset;
  nlohmann::json conf;
};

/**
 * Kuma's BuildRules for `from` items (spec §3.7 step 4). `items` must be in application order:
 * policies by precedence, then each policy's `from[]` in spec order; confs are merged with RFC
 * 7396 merge-patch in that order (later wins).
 * @param useCliques group by maximal cliques (Kuma's default); false: connected components
 *        (`KUMA_MESH_TRAFFIC_PERMISSION_DISABLE_CLIQUES_ALGORITHM=true`)
 * @return the rules, most positive tags first (stable otherwise); empty when `items` is.
 */
std::vector<FromRule> buildFromRules(const std::vector<FromItem>& items, bool useCliques);

/** Readable form of a subset for logs and test messages: `{a=1, b!=2}`. */
std::string toString(const Subset& subset);

}  // namespace kuma::policies::mtp
