#pragma once

// File: xds_configurer.h
// MeshMetric's xDS plugin (Kuma 2.14's meshmetric plugin, order 1500). From the merged `default`
// of the MeshMetric policies that select the proxy (single-item rules), when it names backends:
//
// * per Prometheus backend the listener `_kuma:metrics:prometheus:<clientId|default-backend>` on
//   the Dataplane's address and the backend's port (INBOUND, reuse port as the DP announces),
//   whose HTTP connection manager routes the backend's path (prefix) to the cluster
//   `_kuma:metrics:hijacker`, rewritten to `/meshmetric`; that cluster is STATIC with one endpoint,
//   kuma-dp's metrics hijacker socket `<workdir>/kuma-mh-<dataplane>-<mesh>.sock`;
// * per OpenTelemetry backend with an inline endpoint (Kuma names it after the endpoint, '/'
//   removed and ':' → '-') the HTTP/2 cluster `_kuma:metrics:opentelemetry:<name>` to the
//   collector and the pipe listener of the same name on `<workdir>/kuma-otel-<name>.sock`
//   (gRPC stats, route `/` to the cluster), where kuma-dp pushes the metrics;
// * the `/meshmetric` document of the `_kuma:dynamicconfig` listener (added to the listener the
//   DNS generator made, or a new one): kuma-dp's metrics configuration as Kuma marshals it
//   (applications, backends, sidecar profiles, extra labels: mesh, zone, kuma.proxy_role,
//   kuma.workload, the Dataplane's tags as Prometheus labels, dataplane and service).
//
// Not (yet): ProvidedTLS (kuma-cpp's DP metadata has no metrics certificate: Kuma falls back to
// the plain listener then, as here), `backendRef` OpenTelemetry backends, unified naming, gateway
// and zone-proxy roles, the legacy Mesh `metrics` backends (kuma-cpp generates none to replace).

#include <map>
#include <string>

#include "kuma/xds/policy_plugin.h"

namespace kuma::policies::meshmetric {

/** kuma-dp's metrics hijacker socket: `<workdir>/kuma-mh-<name>-<mesh>` cut to 98, `.sock`. */
std::string metricsHijackerSocketPath(const std::string& workdir, const std::string& name,
                                      const std::string& mesh);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
};

}  // namespace kuma::policies::meshmetric
