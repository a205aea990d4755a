#pragma once

// File: meshretry.h
// MeshRetry (pkg/plugins/policies/meshretry): spec schema, Kuma's semantic validation and registry
// entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshretry {

/** The MeshRetry plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshretry
