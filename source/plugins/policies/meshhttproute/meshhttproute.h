#pragma once

// File: meshhttproute.h
// MeshHTTPRoute (pkg/plugins/policies/meshhttproute): spec schema, Kuma's semantic validation and
// registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshhttproute {

/** The MeshHTTPRoute plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshhttproute
