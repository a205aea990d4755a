#pragma once

// File: meshhealthcheck.h
// MeshHealthCheck (pkg/plugins/policies/meshhealthcheck): spec schema, Kuma's semantic validation
// and registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshhealthcheck {

/** The MeshHealthCheck plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshhealthcheck
