#pragma once

// File: xds_configurer.h
// The legacy FaultInjection's xDS plugin: Kuma 2.14's FaultInjectionConfigurer
// (pkg/xds/envoy/listeners/v3/fault_injection_configurer.go) on the HTTP inbound listeners
// (inbound_proxy_generator.go). Kuma's inbound generator applies it on every mesh, with or
// without TrafficRoutes.
//
// Per inbound, every FaultInjection with a destination selector matching the inbound's tags
// (Kuma's SelectInboundConnectionMatchingPolicies: policies by name, one entry per matching
// destination selector, then the most specific first source selector first, ties to the later
// created) adds one `envoy.filters.http.fault` HTTP filter before the router: fixed delay,
// HTTP-status abort and fixed response rate limit (kbps), each with Kuma's percentage
// conversion, applied only to callers whose `x-kuma-tags` header matches one of the policy's
// source selectors (Kuma's tags.MatchingRegex, ORed). While the mesh has a FaultInjection the
// callers send that header (meshfaultinjection/xds_configurer.h, Kuma's IsXKumaTagsUsed).
//
// Order 4: with Kuma's inbound generator, before every Mesh* plugin (MeshFaultInjection's
// filters follow these).

#include <map>
#include <string>
#include <vector>

#include "api/mesh/v1alpha1/fault_injection.pb.h"
#include "kuma/model/resource.h"
#include "kuma/xds/policy_plugin.h"

namespace envoy::extensions::filters::http::fault::v3 {
class HTTPFault;
}  // namespace envoy::extensions::filters::http::fault::v3
namespace envoy::config::route::v3 {
class HeaderMatcher;
}  // namespace envoy::config::route::v3

namespace kuma::policies::faultinjection {

/** The FaultInjections of `policies` for an inbound with `inboundTags`, in Kuma's filter order. */
std::vector<const model::Resource*> inboundFaultInjections(
    const std::vector<model::ResourceConstSharedPtr>& policies,
    const std::map<std::string, std::string>& inboundTags);

/**
 * Kuma's MatchSourceRegex as a header matcher: `x-kuma-tags` matching the callers that one of
 * `sources` selects (Kuma's tags.MatchingRegex of each, ORed), as the legacy FaultInjection and
 * RateLimit match their sources.
 */
envoy::config::route::v3::HeaderMatcher sourcesHeaderMatcher(
    const google::protobuf::RepeatedPtrField<mesh::v1alpha1::Selector>& sources);

/** Kuma's HTTPFault of one FaultInjection. */
envoy::extensions::filters::http::fault::v3::HTTPFault httpFaultOf(
    const mesh::v1alpha1::FaultInjection& spec);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  std::string_view policyType() const override;
  int order() const override;
  absl::Status configureInboundHcm(
      const nlohmann::json& conf, const xds::InboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  /** Kuma's MatchedPolicies of this legacy type (inspect API). */
  void attachments(const xds::ProxyContext& proxy,
                   std::vector<xds::PolicyAttachment>& out) const override;
};

}  // namespace kuma::policies::faultinjection
