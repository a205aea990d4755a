#pragma once

// File: register.h
// Kuma 2.14's workload-identity resource types (Workload, MeshIdentity, MeshTrust): one folder
// each, registered here; their controllers are in controllers/.

#include <string_view>

#include "source/core/model/registry.h"
#include "source/plugins/policies/core/policy.h"

namespace kuma::identity {

void registerIdentityTypes(model::TypeRegistry& registry);

/** The definition (schemas included) of an identity type, or nullptr for other types. */
const policies::PolicyDefinition* identityDefinition(std::string_view typeName);

}  // namespace kuma::identity
