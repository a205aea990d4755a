#pragma once

// File: schema_openapi.h
// A policy Schema as the structural OpenAPI v3 schema a Kubernetes CustomResourceDefinition
// carries (`kuma-cp install crds`, docs/kubernetes.md).

#include "nlohmann/json.hpp"
#include "source/plugins/policies/core/schema.h"

namespace kuma::policies {

/**
 * Types, enums, bounds, patterns, required fields, defaults, int-or-string and preserved unknown
 * fields (Any). Schema has no descriptions, so there are none.
 */
nlohmann::ordered_json toOpenApi(const Schema& schema);

}  // namespace kuma::policies
