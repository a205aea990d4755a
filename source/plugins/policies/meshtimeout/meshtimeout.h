#pragma once

// File: meshtimeout.h
// MeshTimeout (pkg/plugins/policies/meshtimeout): spec schema, Kuma's semantic validation and
// registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshtimeout {

/** The MeshTimeout plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshtimeout
