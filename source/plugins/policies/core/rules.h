#pragma once

// File: rules.h
// The policy-independent half of applying Mesh* policies to one proxy, shared by every policy
// plugin: which policies a proxy's top-level targetRef selects, in which order they apply, which
// `to[]` items cover a destination service and the RFC 7396 merge of their `default` confs.
// Everything here works on the normalized spec JSON and a plain view of the proxy, so that it
// knows nothing about Envoy, the mesh context or any one policy.
//
//   ProxyView proxy{.name = "web-1", .inboundTags = {{{"kuma.io/service", "web"}}}};
//   std::vector<const nlohmann::json*> specs;  // selected, in precedence order
//   for (const auto& p : sortedPolicies) if (selectsProxy(p.targetRef, proxy)) specs.push_back(..);
//   nlohmann::json conf = mergeDestinationConf(specs, "backend");  // null: nothing applies

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "source/plugins/policies/core/target_ref.h"

namespace kuma::policies {

/** The proxy a top-level targetRef is matched against (a Universal sidecar). */
struct ProxyView {
  /** Dataplane name (targetRef kind Dataplane with `name`). */
  std::string name;
  /** Dataplane labels (targetRef kind Dataplane with `labels`). */
  std::map<std::string, std::string> labels;
  /** Tags of every inbound (MeshSubset / MeshService / MeshServiceSubset). */
  std::vector<std::map<std::string, std::string>> inboundTags;
  /** Matched against a Mesh targetRef's `proxyTypes` ("Sidecar" or "Gateway"). */
  std::string proxyType = "Sidecar";
};

/**
 * Does a policy's top-level targetRef select `proxy`? Mesh: when `proxyTypes` is empty or lists
 * the proxy's type; MeshSubset: some inbound carries all `tags`; MeshService / MeshServiceSubset:
 * some inbound has `kuma.io/service` = name (and the subset's tags); Dataplane: by `name`, else
 * by `labels` (all of them). Other kinds select nothing.
 */
bool selectsProxy(const TargetRef& ref, const ProxyView& proxy);

/**
 * Does a `to[]` item's targetRef cover traffic to the legacy service `service`? Mesh always;
 * MeshService of that name without `sectionName`; MeshServiceSubset of that name whose tags are
 * satisfied by `kuma.io/service` alone; MeshSubset likewise. A MeshExternalService or
 * MeshMultiZoneService outbound is known by its port's KRI (`kri_<extsvc|mzsvc>_<mesh>_<zone>_
 * <namespace>_<name>_<section>`): a targetRef of that kind and name covers it, with a
 * `sectionName` only that port. Other kinds cover nothing.
 */
bool coversDestination(const TargetRef& ref, const std::string& service);

/**
 * Precedence order of two policies of one type: true when policy a (`refA`, `nameA`) is applied
 * before policy b, so that b's conf wins on merge. Less specific top-level targetRef kinds come
 * first; of two equal kinds the policy whose name sorts first is applied last. A strict weak
 * ordering, for std::stable_sort.
 */
bool appliesBefore(const TargetRef& refA, std::string_view nameA, const TargetRef& refB,
                   std::string_view nameB);

/**
 * The merged `default` of every `to[]` item of `specs` (selected policies in precedence order)
 * that covers `service`, each merged over the previous ones with RFC 7396 merge-patch, in Kuma's
 * outbound order: the policies' top-level targetRef kind, then the `to[]` item's kind (Mesh
 * before MeshService before MeshExternalService ...; a MeshService with a sectionName last),
 * then the order of `specs`.
 * @return null when no item covers `service`; otherwise an object.
 */
nlohmann::json mergeDestinationConf(const std::vector<const nlohmann::json*>& specs,
                                    const std::string& service);

/**
 * The merged catch-all inbound conf of `specs` (in precedence order): the `default` of every
 * `from[]` item and of every `rules[]` item without `matches`, in spec order per policy.
 * `from[]` targetRefs are not matched against the caller (they are treated as rules, as Kuma's
 * IsFromAsRules does for MeshTimeout).
 * @return an object (empty when nothing applies).
 */
nlohmann::json mergeInboundConf(const std::vector<const nlohmann::json*>& specs);

}  // namespace kuma::policies
