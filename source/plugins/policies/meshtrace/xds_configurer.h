#pragma once

// File: xds_configurer.h
// MeshTrace's xDS plugin (Kuma 2.14's meshtrace plugin, order 700). From the merged `default` of
// the MeshTrace policies that select the proxy (single-item rules; an inbound drops the
// `Dataplane` policies whose sectionName names another inbound), with its one backend:
//
// * every HTTP connection manager of the proxy's inbound and outbound listeners gets `tracing`:
//   spawn_upstream_span false, the sampling percentages (overall/client/random, decimals), the
//   custom tags (literal and request header) followed by `kuma.mesh`, `kuma.zone` and, for a
//   Dataplane labelled `kuma.io/workload`, `kuma.workload` (its KRI), and the provider:
//   - Zipkin: envoy.tracers.zipkin (cluster, the URL's path and host, 128-bit ids, API version,
//     shared span context);
//   - Datadog: envoy.tracers.datadog (cluster, service name; with splitService
//     `<svc>_INBOUND` and `<svc>_OUTBOUND_<destination>`);
//   - OpenTelemetry: envoy.tracers.opentelemetry with the service name and a gRPC service on the
//     cluster, or, for a MeshOpenTelemetryBackend with protocol http, an HTTP service to
//     `<scheme>://<host:port><path>/v1/traces` (timeout 10s). An inline `endpoint` or a
//     `backendRef` (labels; the oldest matching backend wins; none: no provider, no cluster).
//   The service name is Kuma's IdentifyingName (the first `kuma.io/service` of the Dataplane's
//   tags, sorted; `unknown` without one).
// * the collector cluster `meshtrace:zipkin|datadog|opentelemetry` (STATIC for an IP, else
//   STRICT_DNS, connect timeout 5s, HTTP/2 for gRPC OpenTelemetry).
//
// Not (yet): gateways and zone proxies, an https Zipkin/OTel collector's TLS transport socket,
// kuma-dp as OpenTelemetry intermediary (`feature-otel-via-kuma-dp`, which kuma-cpp's kuma-dp does
// not announce: the backend is exported to directly, as Kuma does for such a DP), unified naming.

#include <cstdint>
#include <string>

#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "kuma/xds/policy_plugin.h"

namespace kuma::policies::meshtrace {

/** Kuma's IdentifyingName: the first `kuma.io/service` of the Dataplane's tags, sorted. */
std::string identifyingName(const mesh::v1alpha1::Dataplane* dp);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
};

}  // namespace kuma::policies::meshtrace
