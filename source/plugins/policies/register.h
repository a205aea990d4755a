#pragma once

// File: register.h
// Registers every Mesh* policy type this build supports (explicit, no static initializers).

#include <string_view>

#include "source/core/model/registry.h"
#include "source/plugins/policies/core/schema.h"

namespace kuma::policies {

/** Adds one descriptor per Mesh* policy to `registry`. */
void registerPolicies(model::TypeRegistry& registry);

/**
 * The `spec` schema of a type registerPolicies() adds (by type name, "MeshTimeout"), or nullptr
 * for any other type. Built on first use; thread-safe.
 */
const Schema* policySpecSchema(std::string_view typeName);

}  // namespace kuma::policies
