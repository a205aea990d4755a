#pragma once

// File: system_types.h
// Kuma's system types (registered by registerMeshTypes()), all of global scope: Config, with no
// REST path, the control plane's own state, such as a mesh's VIPs (`kuma-<mesh>-dns-vips`) or
// the cluster id (`kuma-cluster-id`), visible only in the store; Zone and its ZoneInsight.

#include <string_view>

#include "api/system/v1alpha1/config.pb.h"
#include "api/system/v1alpha1/zone.pb.h"
#include "api/system/v1alpha1/zone_insight.pb.h"
#include "kuma/model/resource.h"

namespace kuma::resources {

inline constexpr std::string_view kConfigType = "Config";
/** A zone (REST `zones`): a zone control plane keeps one, named after its zone. */
inline constexpr std::string_view kZoneType = "Zone";
/** The global control plane's view of a zone's KDS connections (REST `zone-insights`). */
inline constexpr std::string_view kZoneInsightType = "ZoneInsight";

/** Wraps a Config message as a resource spec. */
model::SpecConstSharedPtr makeConfigSpec(system::v1alpha1::Config config);

}  // namespace kuma::resources
