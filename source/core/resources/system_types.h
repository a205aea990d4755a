#pragma once

// File: system_types.h
// Kuma's system type Config (registered by registerMeshTypes()): global scope, no REST path,
// the control plane's own state, such as a mesh's VIPs (`kuma-<mesh>-dns-vips`) or the cluster
// id (`kuma-cluster-id`). Visible only in the store.

#include <string_view>

#include "api/system/v1alpha1/config.pb.h"
#include "kuma/model/resource.h"

namespace kuma::resources {

inline constexpr std::string_view kConfigType = "Config";

/** Wraps a Config message as a resource spec. */
model::SpecConstSharedPtr makeConfigSpec(system::v1alpha1::Config config);

}  // namespace kuma::resources
