#pragma once

// File: proxytemplate.h
// Kuma's legacy ProxyTemplate (REST `proxytemplates`, a Flat proto spec,
// api/mesh/v1alpha1/proxy_template.proto): the Envoy config of the proxies it selects as the
// profiles it imports (`default-proxy`: everything kuma-cp generates), raw Envoy resources added
// to them and modifications applied last. Its resource definition and Kuma's validation
// (pkg/core/resources/apis/mesh/proxytemplate_validator.go): selectors, profile names, raw
// resources and every modification's operation, match and `value`, each parsed into its Envoy
// message (meshproxypatch/envoy_value.h).

#include <string_view>

#include "source/plugins/policies/core/policy.h"

namespace kuma::policies::proxytemplate {

/** The profile that generates a sidecar's config (Kuma's core_mesh.ProfileDefaultProxy). */
inline constexpr std::string_view kDefaultProxyProfile = "default-proxy";

/** The ProxyTemplate definition (a proto-based descriptor with Kuma's validation). */
PolicyDefinition definition();

}  // namespace kuma::policies::proxytemplate
