#pragma once

// File: policy_inspect.h
// Kuma's policy inspection of one proxy (the `_rules` API, Kuma's InspectRulesResponse): for
// every policy type, in Kuma's plugin order, the policies of the mesh context that select the
// Dataplane (selectPolicies, the generator's own matching) turned into Kuma's rule views:
//   toRules          legacy `to[]` rules over subsets of kuma.io/service tags (BuildRules without
//                    negations), each with its merged conf and origins;
//   toResourceRules  `to[]` items that target real resources (here: the Mesh);
//   fromRules        per inbound, legacy `from[]` rules (BuildRules with negations);
//   inboundRules     per inbound, `rules[]` items (and `from[]` for isFromAsRules types);
//   proxyRule        the merged top-level `default` of single-item policies.
//
//   nlohmann::ordered_json body = inspectRules(*context, *dataplane, *spec);

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "kuma/xds/policy_plugin.h"
#include "kuma/model/resource.h"
#include "source/core/model/kri.h"
#include "nlohmann/json.hpp"
#include "source/xds/context/mesh_context.h"

namespace kuma::xds {

/** Every targeted policy type in Kuma's plugin order (MeshHTTPRoute 100 … MeshProxyPatch 9999). */
const std::vector<std::string>& inspectedPolicyTypes();

/** Kuma's resource meta of an inspect answer: {labels, mesh, name, type}. */
nlohmann::ordered_json inspectMeta(const model::Resource& resource);

/**
 * Kuma's InspectRulesResponse for `dataplane` (a Dataplane of the context's mesh):
 * `{"httpMatches": [], "resource": meta, "rules": [...]}`; types without any rule are left out.
 */
nlohmann::ordered_json inspectRules(const MeshContext& context, const model::Resource& dataplane,
                                    const mesh::v1alpha1::Dataplane& spec);

/**
 * Kuma's DataplaneInspectResponse of a sidecar (`/meshes/{mesh}/dataplanes/{name}/policies`,
 * `kumactl inspect dataplane --type=policies`): `{"kind": "SidecarDataplane", "total": N,
 * "items": [{"type": "dataplane"|"inbound"|"outbound"|"service", "name", "service",
 * "matchedPolicies": {<type>: [<policy meta>]}}]}` in Kuma's attachment order: the targeted
 * policies selecting the Dataplane (in precedence order) and the legacy TrafficTrace under
 * "dataplane", the legacy policies where the plugins attach them (PolicyPlugin::attachments;
 * `plugins` may be null: none).
 */
nlohmann::ordered_json inspectMatchedPolicies(const MeshContext& context,
                                              const model::Resource& dataplane,
                                              const mesh::v1alpha1::Dataplane& spec,
                                              const PolicyPluginList* plugins);

/**
 * Kuma's `/meshes/{mesh}/{legacyType}/{name}/dataplanes` (`kumactl inspect <policy> NAME`) for
 * a legacy policy: `{"total": N, "items": [{"kind": "SidecarDataplane", "dataplane": {mesh,
 * name}, "attachments": [{type, name, service}]}]}`, the Dataplanes (by name) it is attached to.
 */
nlohmann::ordered_json inspectLegacyPolicyDataplanes(const MeshContext& context,
                                                     const PolicyPluginList* plugins,
                                                     std::string_view type, std::string_view name);

/**
 * Kuma's DataplaneNetworkingLayout (`/meshes/{mesh}/dataplanes/{name}/_layout`, meshes with
 * `meshServices.mode: Exclusive`): `{inbounds: [{kri, port, protocol, proxyResourceName}], kri,
 * labels, listeners: [], outbounds: [{kri, port, protocol, proxyResourceName}]}`, the outbounds
 * being the MeshService-family ports the Dataplane can reach (reachableBackendPorts).
 */
nlohmann::ordered_json inspectLayout(const MeshContext& context, const model::Resource& dataplane,
                                     const mesh::v1alpha1::Dataplane& spec);

/**
 * Kuma's `/meshes/{mesh}/dataplanes/{name}/_policies` (Exclusive meshes): `{"policies": [{conf,
 * kind, origins: [{kri}]}]}`, the merged top-level `default` of each single-item policy type
 * (the `proxyRule` of inspectRules), in plugin order.
 */
nlohmann::ordered_json inspectProxyPolicies(const MeshContext& context,
                                            const model::Resource& dataplane,
                                            const mesh::v1alpha1::Dataplane& spec);

/**
 * Kuma's `_inbounds/{kri}/_policies` for the inbound `section` names (its name or port):
 * `{"policies": [{kind, origins: [{kri}], rules: [{conf, kri}]}]}`, each type's inbound rules
 * (inspectRules' `inboundRules`). NotFound when no inbound has that section name.
 */
absl::StatusOr<nlohmann::ordered_json> inspectInboundPolicies(const MeshContext& context,
                                                              const model::Resource& dataplane,
                                                              const mesh::v1alpha1::Dataplane& spec,
                                                              std::string_view section);

/**
 * Kuma's `_outbounds/{kri}/_policies` (`route` null) and `_outbounds/{kri}/_routes/{route}/
 * _policies`: `{"policies": [{conf: [conf], kind, origins: [{kri}]}]}`, for every policy type
 * (the route view: but MeshHTTPRoute and MeshTCPRoute) the resource rule (resource_rules.h) of
 * the first of the route, the outbound's port, the outbound and the mesh that has one.
 */
nlohmann::ordered_json inspectOutboundPolicies(const MeshContext& context,
                                               const model::Resource& dataplane,
                                               const mesh::v1alpha1::Dataplane& spec,
                                               const model::Kri& outbound, const model::Kri* route);

/**
 * Kuma's `_outbounds/{kri}/_routes`: `{"routes": [{kind, origins: [{kri}], rules: [{conf, kri,
 * matches}]}]}`, the MeshHTTPRoute and MeshTCPRoute resource rules of the outbound (Kuma's
 * ResourceRules.Compute: the port, then the service, then the mesh the KRI names when
 * `outboundType` is a MeshService-family type or MeshHTTPRoute).
 */
nlohmann::ordered_json inspectOutboundRoutes(const MeshContext& context,
                                             const model::Resource& dataplane,
                                             const mesh::v1alpha1::Dataplane& spec,
                                             const model::Kri& outbound,
                                             std::string_view outboundType);

/** Does the targeted policy `policy` (its top-level targetRef) select `dataplane`? */
bool policySelectsDataplane(const model::Resource& policy, const model::Resource& dataplane);

}  // namespace kuma::xds
