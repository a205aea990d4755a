#pragma once

// File: xds_configurer.h
// ProxyTemplate's xDS plugin (Kuma's TemplateSnapshotGenerator with its
// SimpleProxyTemplateResolver, pkg/xds/server/v3/reconcile.go): the ProxyTemplate that best selects
// the proxy (Kuma's SelectDataplanePolicy, trafficroute/xds_configurer.h) decides its config after
// every other plugin has run (MeshProxyPatch included, which Kuma runs inside the `default-proxy`
// profile):
//
// * `conf.imports` without `default-proxy`: nothing kuma-cp generated stays (the other profiles,
//   for zone proxies and gateways, generate nothing for a sidecar);
// * `conf.resources`: each raw resource (an Any of any Envoy type) is added, replacing the one of
//   the same type and name; one that does not parse fails the generation with Kuma's
//   "resources: raw.resources[<i>]{name=\"<name>\"}.resource: <reason>";
// * `conf.modifications`: applied in order by MeshProxyPatch's engine (same matches, origins and
//   merge), Kuma's lower-case operations mapped onto it; a failure is "could not apply
//   modifications: could not apply <i> modification: <reason>".
//
// A failed generation keeps the proxy's last config (the reconciler logs the error), as in Kuma.
// A proxy no ProxyTemplate selects gets the `default-proxy` profile, as under Kuma's default
// template. The inspect API lists the selected template under the Dataplane.

#include "kuma/xds/policy_plugin.h"

namespace kuma::policies::proxytemplate {

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
  void attachments(const xds::ProxyContext& proxy,
                   std::vector<xds::PolicyAttachment>& out) const override;
};

}  // namespace kuma::policies::proxytemplate
