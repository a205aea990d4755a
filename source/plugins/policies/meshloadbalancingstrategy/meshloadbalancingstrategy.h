#pragma once

// File: meshloadbalancingstrategy.h
// MeshLoadBalancingStrategy (pkg/plugins/policies/meshloadbalancingstrategy): spec schema, Kuma's
// semantic validation and registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshloadbalancingstrategy {

/** The MeshLoadBalancingStrategy plugin definition (schema, validator, REST names, policy flags).
 */
PolicyDefinition definition();

}  // namespace kuma::policies::meshloadbalancingstrategy
