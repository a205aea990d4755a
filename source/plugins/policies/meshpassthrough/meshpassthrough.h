#pragma once

// File: meshpassthrough.h
// MeshPassthrough (pkg/plugins/policies/meshpassthrough): which traffic a transparent proxy lets
// out of the mesh through its outbound passthrough listener (`passthroughMode` All / Matched /
// None, `appendMatch` of domains, IPs and CIDRs per protocol and port); spec schema, Kuma's
// validation and registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshpassthrough {

/** The MeshPassthrough plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshpassthrough
