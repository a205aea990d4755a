#pragma once

// File: meshopentelemetrybackend.h
// MeshOpenTelemetryBackend (pkg/core/resources/apis/meshopentelemetrybackend, Kuma 2.14): a
// Mesh-scoped resource (not a policy) naming an OpenTelemetry collector that observability
// policies reference by labels (MeshTrace's `openTelemetry.backendRef`). Schema with Kuma's
// defaults, Kuma's validation and the registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshopentelemetrybackend {

/** The MeshOpenTelemetryBackend definition (schema, validator, REST names). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshopentelemetrybackend
