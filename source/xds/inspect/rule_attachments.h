#pragma once

// File: rule_attachments.h
// Kuma's legacy rules view of one proxy (`/meshes/{mesh}/dataplanes/{name}/rules`, Kuma's
// BuildRulesAttachments and RuleInspectResponse): the legacy `from[]` rules of every inbound
// ("ClientSubset"), the legacy `to[]` rule that covers each outbound the Dataplane lists with a
// `kuma.io/service` tag ("DestinationSubset"), and the merged `default` of single-item policies
// ("SingleItem"), read off inspectRules().
//
//   nlohmann::ordered_json body = inspectRuleAttachments(*context, *dataplane, *spec, "mesh");

#include <string>

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "kuma/model/resource.h"
#include "nlohmann/json.hpp"
#include "source/xds/context/mesh_context.h"

namespace kuma::xds {

/**
 * `{"total": N, "items": [{type, name, addresses, service, tags, policyType, subset, conf,
 * origins: [{mesh, name}]}]}` sorted by name, then type (Kuma's order); empty members are left
 * out as Kuma's `omitempty` does. An outbound's addresses are `<domain>:<port>` for each DNS name
 * of its VIP (`dnsDomain`: `dnsServer.domain`), then `<address>:<port>`.
 */
nlohmann::ordered_json inspectRuleAttachments(const MeshContext& context,
                                              const model::Resource& dataplane,
                                              const mesh::v1alpha1::Dataplane& spec,
                                              const std::string& dnsDomain);

}  // namespace kuma::xds
