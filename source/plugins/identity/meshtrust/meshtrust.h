#pragma once

// File: meshtrust.h
// The MeshTrust resource type (Kuma 2.14's pkg/core/resources/apis/meshtrust): a trust domain and
// its PEM CA bundles, `status.origin` (the MeshIdentity it came from), Kuma's validation and the
// deprecation of `spec.origin`.

#include "source/plugins/policies/core/policy.h"

namespace kuma::identity::meshtrust {

policies::PolicyDefinition definition();

}  // namespace kuma::identity::meshtrust
