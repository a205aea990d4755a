#pragma once

// File: xds_configurer.h
// MeshRateLimit's xDS plugin (Kuma 2.14's meshratelimit plugin, order 900). For every inbound
// listener of the proxy, from the merged catch-all inbound conf of the policies whose top-level
// targetRef selects that inbound (`from[]` items and `rules[]` without `matches`; Kuma treats
// `from` as rules for this type), on every filter chain:
//
// * `local.http` (unless disabled, with a requestRate): the HTTP filter
//   `envoy.filters.http.local_ratelimit` (LocalRateLimit, stat prefix `rate_limit`, no bucket)
//   inserted before the router (replacing one of that name), and on every route of the HCM's
//   route config a typed_per_filter_config of that name with the bucket (requestRate.num tokens
//   per requestRate.interval), filter enabled/enforced at 100 % (runtime keys
//   `local_rate_limit_enabled`/`_enforced`), onRateLimit's status (Envoy's 429 when unset) and
//   response headers (`add`: append; `set`: overwrite, one header per comma-separated value). A
//   route that already has a local rate limit keeps it.
// * `local.tcp` (unless disabled, with a connectionRate): the network filter
//   `envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit` (stat prefix
//   `tcp_rate_limit`) as the chain's first filter, on HTTP and TCP inbounds alike, as Kuma does.
//
// It works in apply(), after the typed hooks, so that its HTTP filter lands after those of the
// plugins before it in Kuma's order (MeshFaultInjection, 800), as in Kuma.
// Not (yet): `rules[]` with `matches` (Kuma duplicates routes with filter-state matches on the
// caller's SPIFFE ID/SNI), gateways, zone proxies, the legacy RateLimit policy.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"

namespace envoy::extensions::filters::http::local_ratelimit::v3 {
class LocalRateLimit;
}  // namespace envoy::extensions::filters::http::local_ratelimit::v3
namespace envoy::extensions::filters::network::local_ratelimit::v3 {
class LocalRateLimit;
}  // namespace envoy::extensions::filters::network::local_ratelimit::v3

namespace envoy::extensions::filters::network::http_connection_manager::v3 {
class HttpFilter;
}  // namespace envoy::extensions::filters::network::http_connection_manager::v3

namespace kuma::policies::meshratelimit {

/** `envoy.filters.http.local_ratelimit`. */
extern const char kHttpFilterName[];

/** One HTTP local rate limit, as Kuma's RateLimitConfiguration (shared with legacy RateLimit). */
struct HttpRateLimit {
  uint32_t requests = 0;
  std::chrono::nanoseconds interval{0};
  /** The status of a limited request; 0: Envoy's 429. */
  uint32_t status = 0;
  struct Header {
    std::string name;
    std::string value;
    bool append = false;  // APPEND_IF_EXISTS_OR_ADD, else OVERWRITE_IF_EXISTS_OR_ADD
  };
  std::vector<Header> headers;
};

/**
 * Kuma's NewRateLimitConfiguration: the per-route LocalRateLimit (stat prefix `rate_limit`, the
 * bucket, filter enabled/enforced at 100 %, status, response headers).
 */
envoy::extensions::filters::http::local_ratelimit::v3::LocalRateLimit httpLocalRateLimit(
    const HttpRateLimit& limit);

/** The HCM's `envoy.filters.http.local_ratelimit` filter: stat prefix `rate_limit`, no bucket. */
envoy::extensions::filters::network::http_connection_manager::v3::HttpFilter httpRateLimitFilter();

/** The per-route HTTP LocalRateLimit of a `local.http` conf; nullopt when disabled/no rate. */
std::optional<envoy::extensions::filters::http::local_ratelimit::v3::LocalRateLimit>
httpRouteRateLimitOf(const nlohmann::json& http);

/** The network LocalRateLimit of a `local.tcp` conf; nullopt when disabled/no rate. */
std::optional<envoy::extensions::filters::network::local_ratelimit::v3::LocalRateLimit>
tcpRateLimitOf(const nlohmann::json& tcp);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
};

}  // namespace kuma::policies::meshratelimit
