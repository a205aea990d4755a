#pragma once

// File: meshcircuitbreaker.h
// MeshCircuitBreaker (pkg/plugins/policies/meshcircuitbreaker): spec schema, Kuma's semantic
// validation and registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshcircuitbreaker {

/** The MeshCircuitBreaker plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshcircuitbreaker
