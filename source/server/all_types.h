#pragma once

// File: all_types.h
// The one table of every resource type kuma-cp serves: Kuma's core types and every policy plugin,
// registered explicitly (no static registration).

#include "source/core/model/registry.h"

namespace kuma::server {

/** Built on first use; immutable and safe to share between threads afterwards. */
const model::TypeRegistry& allTypes();

}  // namespace kuma::server
