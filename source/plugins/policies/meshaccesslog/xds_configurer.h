#pragma once

// File: xds_configurer.h
// MeshAccessLog's xDS plugin (Kuma's pkg/plugins/policies/meshaccesslog/plugin, order 600):
// access logs on the proxy's listeners, appended to the HCM's `access_log` of HTTP chains and to
// the tcp_proxy's `access_log` of TCP chains.
//
//   inbound listeners    every from[]/rules[] entry of the policies selecting the inbound is a rule
//                        of its own (Kuma's IsFromAsRules inbound rules, not merged): each of its
//                        backends logs; an entry with `matches` gets one access log per match
//                        with a CEL filter (spiffeID / SNI). Values: source `unknown`, destination
//                        the proxy's identifying service.
//   outbound listeners   the merged `to[]` conf of the destination's kuma.io/service.
//   outbound:passthrough the merged conf of `pass_through`, destination `external`, default
//                        format Kuma's literal "tcp".
//
// Backends: File → envoy.access_loggers.file at `file.path`; Tcp → envoy.access_loggers.file
// writing `{"address": <tcp.address>, "message": <line>}` JSON lines into kuma-dp's FIFO
// `<workdir>/kuma-al-<name>-<mesh>.sock` (accessLogSocketPath), which kuma-dp forwards to the
// address (source/dp/access_log_streamer.h). Formats: Kuma's default HTTP/TCP formats, `plain` or
// `json`; the %KUMA_*% placeholders are substituted at generation time (interpolateKumaValues).
// OpenTelemetry → envoy.access_loggers.open_telemetry (Kuma's log_name `MeshAccessLog`, a gRPC
// service on the collector's cluster, the body: Kuma's default format, or the `body` read as an
// OTLP AnyValue with placeholders in its strings and keys, or else its JSON text; the
// `attributes`; resource attributes kuma.mesh, kuma.zone, kuma.workload) to the collector of an
// inline `endpoint` or of a `backendRef` to a MeshOpenTelemetryBackend (none matching: no log);
// one cluster per collector, `meshaccesslog:opentelemetry:<n>` numbered in order of first use
// (inbounds, outbounds in the proxy's order, passthrough), HTTP/2 unless the backend's protocol
// is http. Exported to directly: kuma-cpp's kuma-dp does not announce
// `feature-otel-via-kuma-dp`, Kuma's pipe through kuma-dp.

#include <string>
#include <vector>

#include "kuma/model/resource.h"
#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"

namespace envoy::config::accesslog::v3 {
class AccessLog;
}  // namespace envoy::config::accesslog::v3
namespace envoy::config::listener::v3 {
class Listener;
}  // namespace envoy::config::listener::v3

namespace kuma::policies::meshaccesslog {

/** Kuma's default access-log format of HTTP listeners (DefaultFormat). */
extern const char kDefaultHttpFormat[];
/** Kuma's default access-log format of TCP listeners. */
extern const char kDefaultNetworkFormat[];

/** Kuma's KumaValues: what the %KUMA_*% placeholders become. */
struct KumaValues {
  std::string sourceService;
  std::string sourceIp;
  std::string destinationService;
  std::string mesh;
  std::string zone;
  std::string workloadKri;
  std::string trafficDirection;  // INBOUND, OUTBOUND, UNSPECIFIED
};

/** Kuma's InterpolateKumaValues: every %KUMA_*% placeholder of `format` replaced. */
std::string interpolateKumaValues(std::string format, const KumaValues& values);

/** The proxy-wide values of the placeholders (Kuma's workloadIdentity and Dataplane helpers). */
struct ProxyValues {
  std::string mesh;
  std::string name;
  /** Kuma's Dataplane.GetIP(): the advertised address, else the address. */
  std::string ip;
  /** Kuma's IdentifyingName: the first (sorted) kuma.io/service of the Dataplane's tag set. */
  std::string identifyingName = "unknown";
  std::string zone;
  std::string workloadKri;
};
ProxyValues proxyValuesOf(const model::Resource& dataplane);

/**
 * Appends `logs` to the HCM and the tcp_proxy of every filter chain of `listener` (Kuma's
 * bldrs_listener.AccessLogs). @return InvalidArgument for an unreadable tcp_proxy.
 */
absl::Status appendAccessLogs(envoy::config::listener::v3::Listener& listener,
                              const std::vector<envoy::config::accesslog::v3::AccessLog>& logs);

/** Kuma's AccessLogSocketName: `<dir>/kuma-al-<name>-<mesh>` cut to 98 chars, plus `.sock`. */
std::string accessLogSocketPath(const std::string& dir, const std::string& name,
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

}  // namespace kuma::policies::meshaccesslog
