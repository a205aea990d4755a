#pragma once

// File: meshmetric.h
// MeshMetric (pkg/plugins/policies/meshmetric, Kuma 2.14): spec schema with Kuma's defaults,
// Kuma's semantic validation (every violation with Kuma's path, including its
// `backends.backend[i]` and `applications.application[i]` spellings), deprecations and registry
// entry. A single `default` conf selected by the top-level targetRef (no to/from/rules).

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshmetric {

/** The MeshMetric plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshmetric
