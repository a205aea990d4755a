#pragma once

// File: meshfaultinjection.h
// MeshFaultInjection (pkg/plugins/policies/meshfaultinjection): spec schema, Kuma's semantic
// validation and registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshfaultinjection {

/** The MeshFaultInjection plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshfaultinjection
