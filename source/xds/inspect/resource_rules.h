#pragma once

// File: resource_rules.h
// Kuma's outbound resource rules (pkg/plugins/policies/core/rules/outbound) of one policy type
// for one proxy: every `to[]` item of the policies selecting the proxy, resolved to the real
// resources it targets (the Mesh; MeshServices, MeshMultiZoneServices and MeshExternalServices,
// by name or by labels, a port by `sectionName`; MeshHTTPRoutes), and for each of those
// resources the merge of the items relevant to it: the Mesh's items apply to every resource of
// the mesh, a service's items without a section to each of its ports. The inspect views read
// them: `_rules` (toResourceRules), `_outbounds/{kri}/_policies`, `_outbounds/{kri}/_routes` and
// `_outbounds/{kri}/_routes/{kri}/_policies`.
//
//   ResourceRules rules = buildResourceRules(context, "MeshTimeout", selected);
//   const ResourceRule* r = firstRule(rules, {outboundKri, noSectionKri, meshKri(mesh)});

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kuma/model/resource.h"
#include "nlohmann/json.hpp"
#include "source/xds/context/mesh_context.h"

namespace kuma::xds {

/** A `to[]` item a rule merged: its policy and the item's index. */
struct ResourceRuleOrigin {
  const PolicyEntry* entry = nullptr;
  size_t ruleIndex = 0;
};

/** The merged conf of one resource (or one port of it). */
struct ResourceRule {
  /** The targeted resource; nullptr: the mesh itself. */
  const model::Resource* resource = nullptr;
  std::string sectionName;
  /**
   * The merge of the relevant items' `default` (RFC 7396, in Kuma's order); MeshHTTPRoute:
   * `{"rules": [...]}` merged by matches; MeshTCPRoute: its first rule.
   */
  nlohmann::json conf;
  /** The relevant items, in merge order, without repeats. */
  std::vector<ResourceRuleOrigin> origins;
  /** MeshHTTPRoute: the item each rule's matches (Kuma's HashMatches) came from, last wins. */
  std::map<std::string, ResourceRuleOrigin> originByMatches;
};

/** Resource rules by the KRI of the resource, with the section name when there is one. */
using ResourceRules = std::map<std::string, ResourceRule>;

/** The KRI of the mesh `mesh` itself (`kri_m____<mesh>_`, Kuma's kri.From(mesh)). */
std::string meshKri(std::string_view mesh);

/**
 * Kuma's BuildRules for policies of `type` (`selected`: those selecting the proxy, in precedence
 * order): a rule for every resource (and port) some `to[]` item resolves to, merging every item
 * relevant to it, sorted as Kuma's outbound Sort does (the policies' order, then the item's
 * targetRef kind, a MeshService with a `sectionName` after one without).
 */
ResourceRules buildResourceRules(const MeshContext& context, std::string_view type,
                                 const std::vector<const PolicyEntry*>& selected);

/** The rule of the first of `ids` that has one (Kuma's ResourceContext.ResourceRule), or null. */
const ResourceRule* firstRule(const ResourceRules& rules, const std::vector<std::string>& ids);

}  // namespace kuma::xds
