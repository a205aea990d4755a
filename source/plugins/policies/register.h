#pragma once

// File: register.h
// Registers every Mesh* policy type this build supports (explicit, no static initializers).

#include "source/core/model/registry.h"

namespace kuma::policies {

/** Adds one descriptor per Mesh* policy to `registry`. */
void registerPolicies(model::TypeRegistry& registry);

}  // namespace kuma::policies
