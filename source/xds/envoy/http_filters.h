#pragma once

// File: http_filters.h
// Editing an HTTP connection manager's filter list the way Kuma's policy plugins do
// (pkg/plugins/policies/core/xds/http_filters.go): new HTTP filters go right before the router,
// which must stay last; and editing the HCM packed in a listener's filter chain
// (pkg/xds/envoy/listeners/v3 UpdateHTTPConnectionManager), for plugins working in apply().
//
//   HttpFilter fault;
//   fault.set_name("envoy.filters.http.fault");
//   if (absl::Status s = insertHttpFiltersBeforeRouter(hcm, {fault}); !s.ok()) return s;

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "envoy/config/listener/v3/listener_components.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"

namespace kuma::xds {

inline constexpr char kRouterFilterName[] = "envoy.filters.http.router";

/**
 * Inserts `filters`, in order, right before the first `envoy.filters.http.router` of `hcm`.
 * @return FailedPrecondition (Kuma's error text) when the HCM has no router; `hcm` is unchanged.
 */
absl::Status insertHttpFiltersBeforeRouter(
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm,
    std::vector<envoy::extensions::filters::network::http_connection_manager::v3::HttpFilter>
        filters);

/**
 * Calls `edit` with the unpacked HTTP connection manager of every
 * `envoy.filters.network.http_connection_manager` filter of `chain` and packs the result back.
 * A chain without one is left alone (OK).
 * @return `edit`'s error; InvalidArgument when the filter's config is not an HCM.
 */
absl::Status updateHttpConnectionManager(
    envoy::config::listener::v3::FilterChain& chain,
    const std::function<absl::Status(
        envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager&)>&
        edit);

/**
 * Kuma's HCM internal address config: each CIDR of `cidrs` ("ip/len") as an internal address
 * range, the IPv6 ones only when `ipv6`; malformed entries are skipped.
 */
void addInternalAddresses(
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm,
    const std::vector<std::string>& cidrs, bool ipv6);

/** Appends the `envoy.filters.http.router` filter to `hcm`. */
void addRouter(
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager& hcm);

}  // namespace kuma::xds
