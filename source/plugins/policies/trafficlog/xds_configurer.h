#pragma once

// File: xds_configurer.h
// The legacy TrafficLog's xDS plugin: Kuma 2.14's HttpAccessLogConfigurer and
// NetworkAccessLogConfigurer (pkg/xds/envoy/listeners/v3/*access_log_configurer.go) as its
// outbound and transparent-proxy generators use them.
//
// Per destination service, the proxy's TrafficLog is Kuma's SelectOutboundConnectionPolicies
// (trafficroute::selectConnectionPolicy: sources by the proxy's inbound tags, destinations by
// the service), its backend the Mesh's logging backend of that name (the Mesh's
// `defaultBackend` when the TrafficLog names none; an unknown name: no log). Then:
// - every outbound on Kuma's legacy outbound path (outbound generator) logs: HTTP outbounds in
//   the HCM's `access_log` with Kuma's default HTTP format, the others in the tcp_proxy's with
//   its default network format;
// - the transparent proxy's `outbound:passthrough:ipv4/ipv6` listeners (always, Kuma's
//   transparent-proxy generator) log for the service `pass_through`, destination `external`,
//   traffic direction UNSPECIFIED, network format.
// The backend's own `format` replaces the default; the %KUMA_*% placeholders are substituted
// here (meshaccesslog::interpolateKumaValues: source the proxy's identifying service, its IP,
// the mesh; no zone, no workload) and a newline appended. A `file` backend writes to its `path`;
// a `tcp` one writes `<address>;<line>` into kuma-dp's FIFO `<workdir>/kuma-al-<name>-<mesh>.sock`
// (meshaccesslog::accessLogSocketPath), which kuma-dp sends to the address
// (source/dp/access_log_streamer.h). Both use `envoy.access_loggers.file`.
//
// Order 7: with Kuma's generators before every Mesh* plugin (MeshAccessLog's logs follow).
// Not covered: gateways and Kuma's direct-access listeners, which kuma-cpp does not generate.

#include <optional>
#include <string>

#include "api/mesh/v1alpha1/mesh.pb.h"
#include "kuma/xds/policy_plugin.h"
#include "source/plugins/policies/meshaccesslog/xds_configurer.h"

namespace envoy::config::accesslog::v3 {
class AccessLog;
}  // namespace envoy::config::accesslog::v3

namespace kuma::policies::trafficlog {

/** The Mesh's logging backend `name` (empty: the default one); null when there is none. */
const mesh::v1alpha1::LoggingBackend* loggingBackend(const mesh::v1alpha1::Mesh& mesh,
                                                     const std::string& name);

/**
 * Kuma's convertLoggingBackend: the access log of `backend` (`format` unless the backend has
 * its own, placeholders substituted); nullopt for a backend type other than file and tcp.
 */
std::optional<envoy::config::accesslog::v3::AccessLog> accessLogOf(
    const mesh::v1alpha1::LoggingBackend& backend, const std::string& format,
    const meshaccesslog::KumaValues& values, const std::string& socketPath);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  std::string_view policyType() const override;
  int order() const override;
  absl::Status configureOutboundHcm(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  absl::Status configureOutboundTcpProxy(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy& proxy) const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
  /** Kuma's MatchedPolicies of this legacy type (inspect API). */
  void attachments(const xds::ProxyContext& proxy,
                   std::vector<xds::PolicyAttachment>& out) const override;
};

}  // namespace kuma::policies::trafficlog
