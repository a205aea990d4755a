#pragma once

// File: xds_configurer.h
// The legacy TrafficTrace's xDS plugin: Kuma 2.14's TracingConfigurer
// (pkg/xds/envoy/listeners/v3/tracing_configurer.go) and TracingProxyGenerator.
//
// The proxy's TrafficTrace is Kuma's SelectDataplanePolicy over its inbounds (policies by name;
// a policy without selectors or with an empty selector matches with rank 0; the most specific
// matching selector wins, ties to the later created), and its backend the Mesh's tracing backend
// of that name (the Mesh's `defaultBackend` when the TrafficTrace names none; an unknown name:
// no tracing). Then:
// - every HTTP inbound's connection manager (always, as Kuma's inbound generator) and every HTTP
//   outbound's (on the legacy outbound path only, as Kuma's outbound generator) gets `tracing`:
//   spawn_upstream_span false, `overall_sampling` from the backend's `sampling`, and the provider:
//   Zipkin (`envoy.tracers.zipkin`: cluster, the URL's path and host, 128-bit trace ids, API
//   version — `httpJson`/`httpProto`, else JSON —, shared span context when set) or Datadog
//   (`envoy.tracers.datadog`: cluster, service name — the inbound's service, or the proxy's
//   identifying service on outbounds; with `splitService` `<svc>_INBOUND` and
//   `<svc>_OUTBOUND_<destination>`);
// - the collector cluster `tracing:<backend name>` (meshtrace's collectorCluster: STATIC for an
//   IP, else STRICT_DNS, 5s connect timeout).
//
// Order 5, with Kuma's generators before every Mesh* plugin (a MeshTrace, order 700, replaces the
// HCM's tracing where it applies).

#include <map>
#include <string>
#include <vector>

#include "api/mesh/v1alpha1/mesh.pb.h"
#include "api/mesh/v1alpha1/traffic_trace.pb.h"
#include "kuma/model/resource.h"
#include "kuma/xds/policy_plugin.h"

namespace kuma::policies::traffictrace {

/** Kuma's SelectTrafficTrace for a proxy whose inbounds carry `inboundTags` (null: none). */
const model::Resource* selectTrafficTrace(
    const std::vector<model::ResourceConstSharedPtr>& traces,
    const std::vector<std::map<std::string, std::string>>& inboundTags);

/** The Mesh's tracing backend `name` (empty: the default one); null when there is none. */
const mesh::v1alpha1::TracingBackend* tracingBackend(const mesh::v1alpha1::Mesh& mesh,
                                                     const std::string& name);

/** Kuma's TracingConfigurer on one HCM. InvalidArgument for a Zipkin backend without a URL. */
absl::Status configureTracing(
    const mesh::v1alpha1::TracingBackend& backend, const std::string& datadogServiceName,
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  std::string_view policyType() const override;
  int order() const override;
  absl::Status configureInboundHcm(
      const nlohmann::json& conf, const xds::InboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  absl::Status configureOutboundHcm(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
  /** Kuma's MatchedPolicies of this legacy type (inspect API). */
  void attachments(const xds::ProxyContext& proxy,
                   std::vector<xds::PolicyAttachment>& out) const override;
};

}  // namespace kuma::policies::traffictrace
