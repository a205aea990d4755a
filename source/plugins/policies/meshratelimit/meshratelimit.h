#pragma once

// File: meshratelimit.h
// MeshRateLimit (pkg/plugins/policies/meshratelimit): spec schema, Kuma's semantic validation and
// registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshratelimit {

/** The MeshRateLimit plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshratelimit
