#pragma once

// File: xds_configurer.h
// MeshFaultInjection's xDS plugin (Kuma 2.14's meshfaultinjection plugin, order 800). On every
// HTTP (http, http2, grpc) inbound listener, from the policies whose top-level targetRef selects
// that inbound, on every filter chain, before the router, one HTTP
// filter per fault of the conf's `http` list (each an HTTPFault with the fault's delay — fixed
// delay, abort — HTTP status, and responseBandwidth — fixed limit in kbps, each with its
// percentage as Kuma converts it: whole numbers per HUNDRED, two decimals per TEN_THOUSAND,
// else per MILLION):
//
// * When a selected policy has `rules[]` (Kuma's inbound rules; this type does not read `from`
//   as rules): per rule, most specific match first (SPIFFE ID exact, prefix, SNI, catch-all),
//   policies in precedence order, filters named by the rule's policy KRI
//   (`kri_mfi_<mesh>_<zone>_<namespace>_<name>_`) whose config is an ExtensionWithMatcher around
//   the `envoy.filters.http.fault` config: an empty matcher for a catch-all rule, else a matcher
//   that skips the fault for callers NOT matching the rule's SPIFFE ID/SNI.
// * Otherwise Kuma's legacy path from `from[]` (policies::legacyFromRules: Kuma's subsets of
//   callers with negations, grouped in cliques, most positive tags first), filters named
//   `envoy.filters.http.fault`, each with the rule's callers as `x-kuma-tags` header matchers
//   (Kuma's tags.MatchingRegex; positive tags must match, negated ones must not).
//
// It works in apply() so that its filters precede MeshRateLimit's (order 900), as in Kuma.
//
// The callers' side of the legacy matchers: while the mesh has any MeshFaultInjection, legacy
// FaultInjection or legacy RateLimit (Kuma's MeshContext.IsXKumaTagsUsed), every HTTP outbound
// route configuration of every proxy of the mesh sends `x-kuma-tags` with the proxy's inbound tags
// (`&key=v1,v2&` per key, keys sorted), unless the route configuration already has it (the legacy
// TrafficRoute path adds it itself).

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"

namespace envoy::extensions::filters::http::fault::v3 {
class HTTPFault;
}  // namespace envoy::extensions::filters::http::fault::v3
namespace envoy::type::v3 {
class FractionalPercent;
}  // namespace envoy::type::v3

namespace kuma::policies::meshfaultinjection {

/** Kuma's ConvertPercentage of a percentage (int or decimal string). */
envoy::type::v3::FractionalPercent fractionalPercentOf(double percentage);

/** Kuma's ConvertBandwidthToKbps: `<digits>[ ]<kbps|Mbps|Gbps>` in kbps (0 when unparsable). */
uint64_t kbpsOf(const std::string& limit);

/**
 * Kuma's tags.MatchingRegex: `.*` then `&key=[^&]*value[,&].*` per key in key order (dots of
 * the value escaped; `*` matches any value), matched against the caller's `x-kuma-tags`.
 */
std::string matchingRegex(const std::map<std::string, std::string>& tags);

/** The HTTPFault of one item of a conf's `http` list. */
envoy::extensions::filters::http::fault::v3::HTTPFault httpFaultOf(const nlohmann::json& fault);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status configureOutboundHcm(
      const nlohmann::json& conf, const xds::OutboundTarget& target,
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm)
      const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
};

}  // namespace kuma::policies::meshfaultinjection
