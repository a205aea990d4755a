#pragma once

// File: otel_backend.h
// Telemetry collectors of policies. An OpenTelemetry backend of a policy (MeshTrace, MeshMetric,
// ...) resolved to its collector, as Kuma's policies_xds.ResolveOtelBackend does: an inline
// `endpoint` ("host:port") or a `backendRef` to a MeshOpenTelemetryBackend by labels.
//
//   Collector c = parseOtelEndpoint("otel:4317");
//   std::optional<OtelBackend> b = resolveBackendRef(mesh, spec["backendRef"]);

#include <cstdint>
#include <optional>
#include <string>

#include "nlohmann/json.hpp"

namespace envoy::config::cluster::v3 {
class Cluster;
}  // namespace envoy::config::cluster::v3
namespace kuma::xds {
class MeshContext;
}  // namespace kuma::xds

namespace kuma::policies {

// The collector a backend sends to.
struct Collector {
  std::string host;  // IP or hostname; empty with `pipe`
  uint32_t port = 0;
};

// A resolved OpenTelemetry backend (Kuma's ResolvedOtelBackend).
struct OtelBackend {
  Collector collector;
  bool http = false;  // protocol http (else gRPC)
  bool https = false;
  std::string path;  // base path (http), may be empty
};

/** Kuma's ParseOtelEndpoint: "host:port" (port 4317 when absent or invalid). */
Collector parseOtelEndpoint(const std::string& endpoint);

/**
 * Kuma's resolveFromBackendRef: the MeshOpenTelemetryBackend carrying every label of `ref`, the
 * oldest on a tie; nullopt when none.
 */
std::optional<OtelBackend> resolveBackendRef(const xds::MeshContext& mesh,
                                             const nlohmann::json& ref);

/**
 * Kuma's ResolveOtelBackend for an `openTelemetry` object: its `backendRef`
 * (resolveBackendRef()), else its inline `endpoint` (gRPC); nullopt when neither gives a
 * collector (a dangling backendRef included).
 */
std::optional<OtelBackend> resolveOtelBackend(const xds::MeshContext& mesh,
                                              const nlohmann::json& otel);

/**
 * A telemetry collector's cluster (Kuma's ProvidedEndpointCluster with DefaultTimeout): STATIC
 * for an IP host, else STRICT_DNS (V4_ONLY unless the proxy is IPv6), connect timeout 5s, Kuma's
 * track_remaining, HTTP/2 when `http2`.
 */
envoy::config::cluster::v3::Cluster collectorCluster(const std::string& name,
                                                     const std::string& host, uint32_t port,
                                                     bool http2, bool ipv6Proxy);

}  // namespace kuma::policies
