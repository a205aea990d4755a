#pragma once

// File: meshtls.h
// MeshTLS (pkg/plugins/policies/meshtls): the mode (Strict/Permissive), TLS versions and cipher
// suites of the mesh's mTLS; spec schema, Kuma's validation and registry entry.

#include <string_view>
#include <vector>

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::meshtls {

/** Kuma's common_tls.AllCiphers, in its order. */
const std::vector<std::string>& allCiphers();

/** The MeshTLS plugin definition (schema, validator, REST names, policy flags). */
PolicyDefinition definition();

}  // namespace kuma::policies::meshtls
