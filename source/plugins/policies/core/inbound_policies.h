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

#include <string_view>
#include <vector>

#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"

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

}  // namespace kuma::policies
