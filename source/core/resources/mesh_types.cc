#include "source/core/resources/mesh_types.h"

#include <functional>
#include <string>

#include "api/mesh/v1alpha1/circuit_breaker.pb.h"
#include "api/mesh/v1alpha1/external_service.pb.h"
#include "api/mesh/v1alpha1/fault_injection.pb.h"
#include "api/mesh/v1alpha1/health_check.pb.h"
#include "api/mesh/v1alpha1/rate_limit.pb.h"
#include "api/mesh/v1alpha1/retry.pb.h"
#include "api/mesh/v1alpha1/timeout.pb.h"
#include "api/mesh/v1alpha1/traffic_log.pb.h"
#include "api/mesh/v1alpha1/traffic_permission.pb.h"
#include "api/mesh/v1alpha1/traffic_route.pb.h"
#include "api/mesh/v1alpha1/traffic_trace.pb.h"
#include "source/core/model/proto_spec.h"
#include "source/core/resources/dataplane.h"
#include "source/core/resources/mesh.h"
#include "source/core/resources/policies.h"
#include "source/core/resources/system_types.h"
#include "source/core/resources/virtual_outbound.h"

namespace kuma::resources {
namespace {

namespace v1 = mesh::v1alpha1;
using model::ProtoSpec;
using model::ResourceTypeDescriptor;
using model::Scope;
using validators::ValidationError;

// A Flat descriptor for message T; `check` validates the typed spec.
template <typename T>
ResourceTypeDescriptor protoType(std::string_view name, std::string_view wsPath,
                                 std::string_view singular, std::string_view plural,
                                 std::function<void(const T&, ValidationError&)> check) {
  ResourceTypeDescriptor d;
  d.name = std::string(name);
  d.wsPath = std::string(wsPath);
  d.singularDisplayName = std::string(singular);
  d.pluralDisplayName = std::string(plural);
  d.format = model::SpecFormat::Flat;
  d.parseSpec = &ProtoSpec<T>::parse;
  d.emptySpec = &ProtoSpec<T>::empty;
  if (check) {
    d.validate = [check](const model::Resource& resource, ValidationError& errors) {
      if (const T* spec = model::protoSpecOf<T>(resource)) {
        check(*spec, errors);
      }
    };
  } else {
    d.validate = [](const model::Resource&, ValidationError&) {};
  }
  return d;
}

template <typename T>
ResourceTypeDescriptor legacyPolicy(std::string_view name, std::string_view wsPath,
                                    std::string_view singular, std::string_view plural,
                                    void (*check)(const T&, ValidationError&)) {
  ResourceTypeDescriptor d = protoType<T>(name, wsPath, singular, plural, check);
  d.isPolicy = true;
  d.includeInFederation = true;
  d.policy.isTargetRef = false;
  return d;
}

}  // namespace

model::SpecConstSharedPtr makeDataplaneInsightSpec(v1::DataplaneInsight insight) {
  return std::make_shared<const ProtoSpec<v1::DataplaneInsight>>(std::move(insight));
}
model::SpecConstSharedPtr makeDataplaneSpec(v1::Dataplane dataplane) {
  return std::make_shared<const ProtoSpec<v1::Dataplane>>(std::move(dataplane));
}
model::SpecConstSharedPtr makeMeshSpec(v1::Mesh mesh) {
  return std::make_shared<const ProtoSpec<v1::Mesh>>(std::move(mesh));
}
model::SpecConstSharedPtr makeSecretSpec(v1::Secret secret) {
  return std::make_shared<const ProtoSpec<v1::Secret>>(std::move(secret));
}

model::SpecConstSharedPtr makeConfigSpec(system::v1alpha1::Config config) {
  return std::make_shared<const ProtoSpec<system::v1alpha1::Config>>(std::move(config));
}

void registerMeshTypes(model::TypeRegistry& registry) {
  {
    ResourceTypeDescriptor d = protoType<v1::Mesh>(kMeshType, "meshes", "Mesh", "Meshes", nullptr);
    d.shortName = "m";
    d.scope = Scope::Global;
    d.includeInFederation = true;
    d.deprecations = [](const model::Resource& resource) {
      return meshDeprecations(resource.meta.name);
    };
    d.validate = [](const model::Resource& resource, ValidationError& errors) {
      if (const auto* spec = model::protoSpecOf<v1::Mesh>(resource)) {
        validateMesh(*spec, resource.meta.name, errors);
      }
    };
    d.applyDefaults = [](const model::Resource& resource,
                         const model::DefaultingContext&) -> model::SpecConstSharedPtr {
      const auto* spec = model::protoSpecOf<v1::Mesh>(resource);
      if (spec == nullptr) {
        return nullptr;
      }
      auto defaulted = meshWithDefaults(*spec);
      return defaulted ? makeMeshSpec(std::move(*defaulted)) : nullptr;
    };
    registry.add(std::move(d));
  }
  {
    ResourceTypeDescriptor d = protoType<v1::Dataplane>(kDataplaneType, "dataplanes", "Dataplane",
                                                        "Dataplanes", &validateDataplane);
    d.shortName = "dp";
    d.providedByZone = true;
    d.isProxy = true;
    d.insightType = std::string(kDataplaneInsightType);
    d.applyDefaults = [](const model::Resource& resource,
                         const model::DefaultingContext& ctx) -> model::SpecConstSharedPtr {
      const auto* spec = model::protoSpecOf<v1::Dataplane>(resource);
      if (spec == nullptr) {
        return nullptr;
      }
      auto defaulted = dataplaneWithZoneTags(*spec, ctx.zone);
      return defaulted ? makeDataplaneSpec(std::move(*defaulted)) : nullptr;
    };
    registry.add(std::move(d));
  }
  {
    ResourceTypeDescriptor d =
        protoType<v1::DataplaneInsight>(kDataplaneInsightType, "dataplane-insights",
                                        "Dataplane Insight", "Dataplane Insights", nullptr);
    d.readOnly = true;
    d.providedByZone = true;
    registry.add(std::move(d));
  }
  {
    ResourceTypeDescriptor d =
        protoType<v1::Secret>(kSecretType, "secrets", "Secret", "Secrets", &validateSecret);
    d.adminOnly = true;
    d.providedByZone = true;
    d.includeInFederation = true;
    registry.add(std::move(d));
  }
  {
    ResourceTypeDescriptor d = protoType<v1::Secret>(
        kGlobalSecretType, "globalsecrets", "Global Secret", "Global Secrets", &validateSecret);
    d.wsAliases = {"global-secrets"};
    d.scope = Scope::Global;
    d.adminOnly = true;
    d.providedByZone = true;  // Kuma copies Secret's KDS flags: origin/zone/env labels
    d.includeInFederation = true;
    registry.add(std::move(d));
  }
  {
    ResourceTypeDescriptor d = protoType<v1::ExternalService>(
        kExternalServiceType, "external-services", "External Service", "External Services",
        &validateExternalService);
    d.includeInFederation = true;
    registry.add(std::move(d));
  }
  {
    // Kuma's system Config: no REST path, no kumactl argument; visible only in the store.
    ResourceTypeDescriptor d =
        protoType<system::v1alpha1::Config>(kConfigType, "", "Config", "Configs", nullptr);
    d.scope = Scope::Global;
    d.providedByZone = true;  // Kuma's KDS flags: GlobalToZones | ProvidedByZone
    d.includeInFederation = true;
    registry.add(std::move(d));
  }
  {
    ResourceTypeDescriptor d =
        protoType<system::v1alpha1::Zone>(kZoneType, "zones", "Zone", "Zones", nullptr);
    d.shortName = "z";
    d.scope = Scope::Global;
    d.providedByZone = true;  // Kuma's KDS flags: ProvidedByGlobal | ProvidedByZone
    d.insightType = std::string(kZoneInsightType);
    registry.add(std::move(d));
  }
  {
    ResourceTypeDescriptor d = protoType<system::v1alpha1::ZoneInsight>(
        kZoneInsightType, "zone-insights", "Zone Insight", "Zone Insights", nullptr);
    d.scope = Scope::Global;
    d.readOnly = true;
    d.providedByZone = true;
    registry.add(std::move(d));
  }
  registry.add(legacyPolicy<v1::TrafficPermission>(kTrafficPermissionType, "traffic-permissions",
                                                   "Traffic Permission", "Traffic Permissions",
                                                   &validateTrafficPermission));
  registry.add(legacyPolicy<v1::TrafficRoute>(kTrafficRouteType, "traffic-routes", "Traffic Route",
                                              "Traffic Routes", &validateTrafficRoute));
  registry.add(legacyPolicy<v1::HealthCheck>(kHealthCheckType, "health-checks", "Health Check",
                                             "Health Checks", &validateHealthCheck));
  registry.add(legacyPolicy<v1::CircuitBreaker>(kCircuitBreakerType, "circuit-breakers",
                                                "Circuit Breaker", "Circuit Breakers",
                                                &validateCircuitBreaker));
  registry.add(
      legacyPolicy<v1::Timeout>(kTimeoutType, "timeouts", "Timeout", "Timeouts", &validateTimeout));
  registry.add(legacyPolicy<v1::Retry>(kRetryType, "retries", "Retry", "Retries", &validateRetry));
  registry.add(legacyPolicy<v1::FaultInjection>(kFaultInjectionType, "fault-injections",
                                                "Fault Injection", "Fault Injections",
                                                &validateFaultInjection));
  registry.add(legacyPolicy<v1::TrafficTrace>(kTrafficTraceType, "traffic-traces", "Traffic Trace",
                                              "Traffic Traces", &validateTrafficTrace));
  registry.add(legacyPolicy<v1::RateLimit>(kRateLimitType, "rate-limits", "Rate Limit",
                                           "Rate Limits", &validateRateLimit));
  registry.add(legacyPolicy<v1::TrafficLog>(kTrafficLogType, "traffic-logs", "Traffic Log",
                                            "Traffic Logs", &validateTrafficLog));
  registry.add(legacyPolicy<v1::VirtualOutbound>(kVirtualOutboundType, "virtual-outbounds",
                                                 "Virtual Outbound", "Virtual Outbounds",
                                                 &validateVirtualOutbound));
}

}  // namespace kuma::resources
