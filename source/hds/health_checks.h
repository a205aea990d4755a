#pragma once

// File: health_checks.h
// What Kuma's Health Discovery Service asks of a proxy's Envoy and what it makes of the answers
// (Kuma 2.14's pkg/hds/tracker), as pure functions:
//   - healthCheckSpecifier(): one ClusterHealthCheck for Envoy itself (an HTTP check of its
//     admin `/ready`, cluster `kuma:envoy:admin`) and one TCP check per inbound with a
//     `serviceProbe` (cluster `localhost:<workload port>`, the probe's timeout, interval and
//     thresholds or dpServer.hds.checkDefaults; bound to 127.0.0.6 / ::6 when the proxy is
//     transparent and the workload is not on loopback), reported every dpServer.hds.interval;
//   - dataplaneWithHealth(): the inbound states after an EndpointHealthResponse: an inbound is
//     Ready when its workload port's check (or, without one, Envoy's own) is HEALTHY or UNKNOWN
//     and Envoy's is too; `health.ready` is written along, as Kuma does for older readers.
//
//   auto specifier = healthCheckSpecifier(dataplane, {.adminSocketPath = ""}, options);
//   if (auto updated = dataplaneWithHealth(dataplane, report)) { /* store it */ }

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "envoy/service/health/v3/hds.pb.h"

namespace kuma::hds {

/** dpServer.hds.checkDefaults. */
struct CheckDefaults {
  std::chrono::nanoseconds timeout = std::chrono::seconds(2);
  std::chrono::nanoseconds interval = std::chrono::seconds(1);
  std::chrono::nanoseconds noTrafficInterval = std::chrono::seconds(1);
  uint32_t healthyThreshold = 1;
  uint32_t unhealthyThreshold = 1;
};

struct SpecifierOptions {
  /** dpServer.hds.interval: how often Envoy reports. */
  std::chrono::nanoseconds interval = std::chrono::seconds(5);
  CheckDefaults checks;
  /** Envoy's admin port when the Dataplane names none (bootstrapServer.params.adminPort). */
  uint32_t defaultAdminPort = 9901;
};

/** What the proxy's node metadata says that the checks depend on. */
struct ProxyFacts {
  /** `dataplane.admin.socketPath`: Envoy's admin on a Unix socket (empty: TCP on loopback). */
  std::string adminSocketPath;
};

/** Kuma's name of Envoy's own check (names.GetEnvoyAdminClusterName). */
inline constexpr char kEnvoyAdminCluster[] = "kuma:envoy:admin";

/** Kuma's HealthCheckSpecifier for `dataplane`. */
envoy::service::health::v3::HealthCheckSpecifier healthCheckSpecifier(
    const mesh::v1alpha1::Dataplane& dataplane, const ProxyFacts& proxy,
    const SpecifierOptions& options);

/**
 * `dataplane` with the inbound states `response` implies; nullopt when nothing changes. A
 * cluster name that is neither Envoy's check nor `localhost:<port>` is an InvalidArgument in
 * `error` (Kuma fails the report), and nothing changes.
 */
std::optional<mesh::v1alpha1::Dataplane> dataplaneWithHealth(
    const mesh::v1alpha1::Dataplane& dataplane,
    const envoy::service::health::v3::EndpointHealthResponse& response, std::string* error);

}  // namespace kuma::hds
