#pragma once

// File: policies.h
// Validators of the legacy selector-based policies (TrafficPermission, TrafficRoute, HealthCheck,
// CircuitBreaker, Timeout, Retry, FaultInjection, TrafficTrace, RateLimit, TrafficLog),
// Secret/GlobalSecret and ExternalService. Each appends every violation with Kuma's field path
// (`sources[0].match`, `conf.split[1].weight`, `data`, ...).

#include <set>
#include <utility>
#include <vector>
#include <string>

#include "api/mesh/v1alpha1/circuit_breaker.pb.h"
#include "api/mesh/v1alpha1/external_service.pb.h"
#include "api/mesh/v1alpha1/health_check.pb.h"
#include "api/mesh/v1alpha1/fault_injection.pb.h"
#include "api/mesh/v1alpha1/rate_limit.pb.h"
#include "api/mesh/v1alpha1/retry.pb.h"
#include "api/mesh/v1alpha1/traffic_log.pb.h"
#include "api/mesh/v1alpha1/traffic_trace.pb.h"
#include "api/mesh/v1alpha1/secret.pb.h"
#include "api/mesh/v1alpha1/timeout.pb.h"
#include "api/mesh/v1alpha1/traffic_permission.pb.h"
#include "api/mesh/v1alpha1/traffic_route.pb.h"
#include "source/core/validators/validation_error.h"

namespace kuma::resources {

void validateTrafficPermission(const mesh::v1alpha1::TrafficPermission& spec,
                               validators::ValidationError& errors);
void validateTrafficRoute(const mesh::v1alpha1::TrafficRoute& spec,
                          validators::ValidationError& errors);
void validateHealthCheck(const mesh::v1alpha1::HealthCheck& spec,
                         validators::ValidationError& errors);
void validateCircuitBreaker(const mesh::v1alpha1::CircuitBreaker& spec,
                            validators::ValidationError& errors);
void validateTimeout(const mesh::v1alpha1::Timeout& spec, validators::ValidationError& errors);
void validateRetry(const mesh::v1alpha1::Retry& spec, validators::ValidationError& errors);
void validateFaultInjection(const mesh::v1alpha1::FaultInjection& spec,
                            validators::ValidationError& errors);
void validateTrafficTrace(const mesh::v1alpha1::TrafficTrace& spec,
                          validators::ValidationError& errors);
/**
 * RateLimit: selectors, `conf` present, and an http conf's requests, interval and onRateLimit
 * headers. Kuma's manager-level check against the mesh's ExternalServices is
 * validateRateLimitForExternalServices().
 */
void validateRateLimit(const mesh::v1alpha1::RateLimit& spec, validators::ValidationError& errors);
/**
 * Kuma's RateLimitValidator (its manager's create/update check): while the mesh has
 * ExternalServices (`externalServices`: their kuma.io/service values, non-empty), a destination
 * selector naming one of them or `*` must select by kuma.io/service alone.
 */
void validateRateLimitForExternalServices(const mesh::v1alpha1::RateLimit& spec,
                                          const std::set<std::string>& externalServices,
                                          validators::ValidationError& errors);
/**
 * Kuma's ExternalServiceValidator (its manager's create/update check), the same rule from the
 * other side: an ExternalService of kuma.io/service `service` is refused while a RateLimit of
 * `rateLimits` (name, spec; the mesh's, by name) has a destination selector that names it (or
 * `*`) together with other tags; one violation at `externalservice` per such selector.
 */
void validateExternalServiceForRateLimits(
    const std::string& service,
    const std::vector<std::pair<std::string, const mesh::v1alpha1::RateLimit*>>& rateLimits,
    validators::ValidationError& errors);
void validateTrafficLog(const mesh::v1alpha1::TrafficLog& spec,
                        validators::ValidationError& errors);

/** Secret and GlobalSecret: `data` must be present and non-empty. */
void validateSecret(const mesh::v1alpha1::Secret& spec, validators::ValidationError& errors);

/** `networking.address` must be a valid "host:port"; `tags` must contain kuma.io/service. */
void validateExternalService(const mesh::v1alpha1::ExternalService& spec,
                             validators::ValidationError& errors);

}  // namespace kuma::resources
