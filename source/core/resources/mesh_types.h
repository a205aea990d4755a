#pragma once

// File: mesh_types.h
// Registration of Kuma's proto-based ("unversioned", flat) resource types: Mesh, Dataplane,
// DataplaneInsight, Secret, GlobalSecret, ExternalService and the legacy selector policies
// TrafficPermission, TrafficRoute, HealthCheck, CircuitBreaker, Timeout, Retry, FaultInjection,
// TrafficTrace, RateLimit, TrafficLog.
//
//   kuma::model::TypeRegistry registry;
//   kuma::resources::registerMeshTypes(registry);
//   registry.byPath("dataplanes")->parseSpec(json);

#include <string_view>

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "api/mesh/v1alpha1/dataplane_insight.pb.h"
#include "api/mesh/v1alpha1/mesh.pb.h"
#include "api/mesh/v1alpha1/secret.pb.h"
#include "kuma/model/resource.h"
#include "source/core/model/registry.h"

namespace kuma::resources {

inline constexpr std::string_view kMeshType = "Mesh";
inline constexpr std::string_view kDataplaneType = "Dataplane";
inline constexpr std::string_view kDataplaneInsightType = "DataplaneInsight";
inline constexpr std::string_view kSecretType = "Secret";
inline constexpr std::string_view kGlobalSecretType = "GlobalSecret";
inline constexpr std::string_view kExternalServiceType = "ExternalService";
inline constexpr std::string_view kTrafficPermissionType = "TrafficPermission";
inline constexpr std::string_view kTrafficRouteType = "TrafficRoute";
inline constexpr std::string_view kHealthCheckType = "HealthCheck";
inline constexpr std::string_view kCircuitBreakerType = "CircuitBreaker";
inline constexpr std::string_view kTimeoutType = "Timeout";
inline constexpr std::string_view kRetryType = "Retry";
inline constexpr std::string_view kFaultInjectionType = "FaultInjection";
inline constexpr std::string_view kTrafficTraceType = "TrafficTrace";
inline constexpr std::string_view kRateLimitType = "RateLimit";
inline constexpr std::string_view kTrafficLogType = "TrafficLog";
inline constexpr std::string_view kVirtualOutboundType = "VirtualOutbound";

/** Adds the descriptors of every type listed above. Called once at start-up. */
void registerMeshTypes(model::TypeRegistry& registry);

/** Wraps typed messages as resource specs (e.g. the insight sink and _overview building one). */
model::SpecConstSharedPtr makeDataplaneInsightSpec(mesh::v1alpha1::DataplaneInsight insight);
model::SpecConstSharedPtr makeDataplaneSpec(mesh::v1alpha1::Dataplane dataplane);
model::SpecConstSharedPtr makeMeshSpec(mesh::v1alpha1::Mesh mesh);
model::SpecConstSharedPtr makeSecretSpec(mesh::v1alpha1::Secret secret);

}  // namespace kuma::resources
