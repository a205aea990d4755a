#pragma once

// File: meshtrafficpermission.h
// MeshTrafficPermission (pkg/plugins/policies/meshtrafficpermission): spec schema, Kuma's semantic
// validation and registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshtrafficpermission {

/** The MeshTrafficPermission plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshtrafficpermission
