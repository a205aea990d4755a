#pragma once

// File: meshproxypatch.h
// MeshProxyPatch (pkg/plugins/policies/meshproxypatch): `default.appendModifications`, each one
// cluster/listener/networkFilter/httpFilter/virtualHost modification (add, patch by merge or by
// RFC 6902 `jsonPatches`, remove) of the proxy's Envoy config; spec schema, Kuma's validation
// (including the `value`s parsed into their Envoy messages, envoy_value.h) and registry entry.

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshproxypatch {

/** The MeshProxyPatch plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshproxypatch
