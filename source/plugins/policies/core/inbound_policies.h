#pragma once

// File: inbound_policies.h
// Which of a plugin's selected policies apply to one inbound of the proxy. Kuma matches inbound
// policies per inbound listener: a policy whose top-level targetRef is `MeshService web` selects
// the whole proxy but configures only its `web` inbounds; the generator's `specs` are per proxy.
// For plugins that work per inbound in apply() (MeshRateLimit, MeshFaultInjection).
//
//   for (const InboundTarget& in : *proxy.inbounds) {
//     std::vector<const json*> mine = specsForInbound(proxy, "MeshRateLimit", specs, in.index);
//   }

#include <string>
#include <string_view>
#include <vector>

#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/core/target_ref.h"

namespace kuma::policies {

/**
 * The specs among `specs` (selected policies of `type`, precedence order kept) whose top-level
 * targetRef selects inbound `inboundIndex` of the Dataplane: Mesh and Dataplane (without
 * sectionName) every inbound; Dataplane with sectionName the inbound of that name or port;
 * MeshSubset / MeshService / MeshServiceSubset the inbounds whose tags they match. A spec that is
 * not one of the mesh context's policies of `type` is kept.
 */
std::vector<const nlohmann::json*> specsForInbound(const xds::ProxyContext& proxy,
                                                   std::string_view type,
                                                   const std::vector<const nlohmann::json*>& specs,
                                                   int inboundIndex);

/** One tag of a subset of callers: `key` = `value`, or ≠ when `negated`. */
struct SubsetTag {
  std::string key;
  std::string value;
  bool negated = false;
};

/** A rule of Kuma's legacy `from[]` rules: the callers it covers and their merged conf. */
struct LegacyFromRule {
  std::vector<SubsetTag> subset;  // empty: every caller
  nlohmann::json conf;
};

/** One item of Kuma's legacy BuildRules: a `to[]` or `from[]` item. */
struct LegacyRuleItem {
  TargetRef targetRef;
  const nlohmann::json* conf = nullptr;  // its `default` (may be null)
  size_t origin = 0;                     // the caller's index of the policy it came from
};

/** A rule of Kuma's legacy BuildRules with the policies it was merged from. */
struct LegacyRule {
  std::vector<SubsetTag> subset;  // empty: everything
  nlohmann::json conf;
  /** `origin` of every item merged, first occurrence order, without duplicates. */
  std::vector<size_t> origins;
};

/**
 * Kuma's legacy BuildRules(items, withNegations) over `items` (precedence order; only the kinds
 * Mesh, MeshSubset, MeshService and MeshServiceSubset count). Without negations and with at most
 * one tag key, one rule per distinct subset (most tags first); otherwise the subsets are grouped
 * into maximal cliques of intersecting subsets and every combination of a clique's tags (each key
 * one of its values, or all of them negated) that some items cover gets the RFC 7396 merge of
 * those items' `default`s, rules with more positive tags first. Bounded as legacyFromRules.
 */
std::vector<LegacyRule> legacyRules(const std::vector<LegacyRuleItem>& items, bool withNegations);

/**
 * Kuma's legacy BuildRules(fromItems, withNegations = true) over the `from[]` items of `specs`
 * (precedence order, items in spec order; only the kinds Mesh, MeshSubset, MeshService and
 * MeshServiceSubset): the items' subsets are grouped into maximal cliques of intersecting subsets
 * (Kuma's default `useCliques`); for each clique, every combination of its tags (each key one of
 * its values, or all of them negated) that some items cover gets the RFC 7396 merge of those items'
 * `default`s. Rules with more positive tags come first. Bounded against hostile input: only the
 * first 16 items count, and a clique whose combinations would exceed the 1024 left over all
 * cliques gives no rule.
 */
std::vector<LegacyFromRule> legacyFromRules(const std::vector<const nlohmann::json*>& specs);

}  // namespace kuma::policies
