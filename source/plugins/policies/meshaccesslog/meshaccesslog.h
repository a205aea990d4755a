#pragma once

// File: meshaccesslog.h
// MeshAccessLog (pkg/plugins/policies/meshaccesslog): spec schema, Kuma's semantic validation and
// registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshaccesslog {

/** The MeshAccessLog plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshaccesslog
