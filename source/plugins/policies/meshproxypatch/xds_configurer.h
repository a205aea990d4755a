#pragma once

// File: xds_configurer.h
// MeshProxyPatch's xDS plugin (Kuma 2.14's meshproxypatch plugin, order 9999: after every other
// plugin). The `appendModifications` of the policies that select the proxy, concatenated in
// precedence order (Kuma appends `append*` lists when it merges), run in that order over the
// proxy's whole resource set:
//
// * cluster / listener: Add (the parsed value, by its name), Remove and Patch (merge the value,
//   Kuma's util_proto.Merge, or apply `jsonPatches`) of every resource that matches `name`,
//   `origin` and, for listeners, `tags` (the listener's `io.kuma.tags` metadata);
// * networkFilter: on every filter chain of the matching listeners (`listenerName`, `origin`,
//   `listenerTags`), AddFirst/AddLast/AddBefore/AddAfter (relative to the first filter named
//   `name`), Remove and Patch (of the typed config: merge or `jsonPatches`);
// * httpFilter: the same on the HTTP filters of every HTTP connection manager of those chains;
// * virtualHost: Add/Remove/Patch on the route configuration embedded in each HTTP connection
//   manager of the listeners with the `origin`, when `routeConfigurationName` matches.
//
// Shared resources (outbound clusters serialized once for many proxies) are edited through
// ResourceSet::find(), which copies the resource for this proxy: another proxy's copy is
// untouched. A modification that fails (a patch that does not apply, a value that no longer
// parses) fails the proxy's generation with "could not apply <i> modification: ...", as in Kuma:
// the reconciler logs it and the proxy keeps its last config.
//
// Origins are Kuma's, derived from kuma-cpp's resource names: `inbound` (inbound listeners and
// their `localhost:<port>` clusters), `outbound`, `transparent` (the passthrough listeners and
// clusters), `admin` (`kuma:envoy:admin`, `kuma:readiness`), `dns`, `prometheus`, `mesh-trace`.
// Not (yet): gateway and zone-proxy origins, Kuma's listener-name equivalents of unified naming.

#include <vector>

#include "kuma/xds/policy_plugin.h"

namespace kuma::policies::meshproxypatch {

/**
 * Applies `modifications` (items of MeshProxyPatch's `appendModifications`: `{cluster |
 * listener | networkFilter | httpFilter | virtualHost: {match, operation, value,
 * jsonPatches}}`) to `resources` in order; the first that fails is the error "could not apply
 * <i> modification: <reason>". ProxyTemplate's modifications run through it too.
 */
absl::Status applyModifications(const xds::ProxyContext& proxy,
                                const std::vector<const nlohmann::json*>& modifications,
                                xds::ResourceSet& resources);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
};

}  // namespace kuma::policies::meshproxypatch
