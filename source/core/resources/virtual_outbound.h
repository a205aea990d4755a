#pragma once

// File: virtual_outbound.h
// Kuma's legacy VirtualOutbound (REST `virtual-outbounds`, api/mesh/v1alpha1/
// virtual_outbound.proto): for every Dataplane inbound or ExternalService its selectors match, a
// hostname and port computed from Go templates over the tags its parameters name. The VIP
// allocator (source/xds/context/virtual_outbound_view.h) gives each hostname a VIP, and the
// proxies an outbound listener on it that reaches just the instances with those tags.
// This file holds what Kuma keeps on the resource (pkg/core/resources/apis/mesh/
// virtual_outbound_{validator,helpers}.go, pkg/dns/virtual_outbound_selector.go): validation,
// template evaluation and selector matching.
//
//   for (const auto* vo : matchVirtualOutbounds(vos, inboundTags)) {
//     auto host = evalVirtualOutboundHost(*spec, inboundTags);   // "backend.i-1.vo"
//     auto port = evalVirtualOutboundPort(*spec, inboundTags);   // 8080
//     Tags tags = filterVirtualOutboundTags(*spec, inboundTags); // the parameters' tags
//   }

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/mesh/v1alpha1/virtual_outbound.pb.h"
#include "kuma/model/resource.h"
#include "source/core/resources/tag_selector.h"
#include "source/core/validators/validation_error.h"

namespace kuma::resources {

/** Kuma's VirtualOutbound validation: selectors, parameters, then the host and port templates
 *  pre-evaluated with stub values ("dummy" and "1"). */
void validateVirtualOutbound(const mesh::v1alpha1::VirtualOutbound& spec,
                             validators::ValidationError& errors);

/** Kuma's EvalHost: the host template over `tags`; InvalidArgument with Kuma's reason when it
 *  does not compile, fails, or is not a DNS name. */
absl::StatusOr<std::string> evalVirtualOutboundHost(const mesh::v1alpha1::VirtualOutbound& spec,
                                                    const Tags& tags);

/** Kuma's EvalPort: the port template over `tags`, a number in [1, 65535]. */
absl::StatusOr<uint32_t> evalVirtualOutboundPort(const mesh::v1alpha1::VirtualOutbound& spec,
                                                 const Tags& tags);

/** Kuma's FilterTags: the tags the parameters name (tagKey, else name) that `tags` has. */
Tags filterVirtualOutboundTags(const mesh::v1alpha1::VirtualOutbound& spec, const Tags& tags);

/**
 * Kuma's dns.Match: the VirtualOutbounds of `vos` with a selector matching `tags`, most specific
 * best selector first; of equal ones the youngest (creation time) first.
 */
std::vector<const model::Resource*> matchVirtualOutbounds(
    const std::vector<model::ResourceConstSharedPtr>& vos, const Tags& tags);

}  // namespace kuma::resources
