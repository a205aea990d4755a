#pragma once

// File: dynamic_config.h
// Kuma's dynamic configuration listener (pkg/xds/dynconf): `_kuma:dynamicconfig` on the pipe
// `<workdir>/kuma-mesh-metric-config.sock`, where kuma-dp polls JSON documents by path (`/dns`
// for its embedded DNS proxy, `/meshmetric` for its metrics hijacker). Each document is two
// direct-response routes: a 304 for `If-None-Match: <sha256 of the body>` and a 200 with the body
// and an `Etag` header.
//
//   Listener l = dynamicConfigListener(workDir, {{"/dns", "/dns", body}}, ipv6);
//   addDynamicConfigRoute(l, {"/meshmetric", "/meshmetric", json});   // a second document

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "envoy/config/listener/v3/listener.pb.h"

namespace kuma::xds {

/** `_kuma:dynamicconfig`. */
inline constexpr char kDynamicConfigListenerName[] = "_kuma:dynamicconfig";

/** One direct-response route of the dynamic-config listener: `path` answers `body`. */
struct DynamicConfigRoute {
  std::string name;  // `_kuma:dynamicconfig:<name>`
  std::string path;
  std::string body;
};

/** `<workdir>/kuma-mesh-metric-config.sock` (the path cut to 98 characters before `.sock`). */
std::string dynamicConfigSocketPath(const std::string& workDir);

/** Lowercase hex sha256 of `body`: the route's `Etag`. */
std::string dynamicConfigEtag(const std::string& body);

/**
 * Listener `_kuma:dynamicconfig` on the pipe `dynamicConfigSocketPath(workDir)` with `routes`
 * (Kuma's AddConfigRoute for each, in order).
 */
envoy::config::listener::v3::Listener dynamicConfigListener(
    const std::string& workDir, const std::vector<DynamicConfigRoute>& routes, bool ipv6Enabled);

/**
 * Appends `route`'s two routes to the listener's virtual host and raises
 * `max_direct_response_body_size_bytes` to the body's size (Kuma's AddConfigRoute on an existing
 * listener). Error: the listener has no HTTP connection manager with a route config.
 */
absl::Status addDynamicConfigRoute(envoy::config::listener::v3::Listener& listener,
                                   const DynamicConfigRoute& route);

}  // namespace kuma::xds
