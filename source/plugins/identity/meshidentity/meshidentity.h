#pragma once

// File: meshidentity.h
// The MeshIdentity resource type (Kuma 2.14's pkg/core/resources/apis/meshidentity): the
// Dataplane selector, SPIFFE ID templates, the Bundled/Spire/Extension provider with its secure
// data sources, Kuma's validation messages, and the `status.conditions` the reconciler sets.

#include "source/plugins/policies/core/policy.h"

namespace kuma::identity::meshidentity {

policies::PolicyDefinition definition();

}  // namespace kuma::identity::meshidentity
