#pragma once

// File: meshtcproute.h
// MeshTCPRoute (pkg/plugins/policies/meshtcproute): spec schema, Kuma's semantic validation and
// registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshtcproute {

/** The MeshTCPRoute plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshtcproute
