#pragma once

// File: proxy_policies.h
// The policies of one proxy, per registered policy plugin: which policies of the plugin's type
// select the proxy (in the mesh context's precedence order) and their merged confs for the
// inbounds and for each destination service (source/plugins/policies/core/rules.h), ready to be
// handed to the plugins' configurer hooks (kuma/xds/policy_plugin.h).
//
//   ProxyPolicies policies(context, dataplane, spec, policies::xdsPolicyPlugins());
//   PluginConfs confs = policies.outbound("backend");
//   KUMA_RETURN_IF_ERROR(applyPlugins(confs, [&](const PolicyPlugin& p, const nlohmann::json& c) {
//     return p.configureOutboundCluster(c, target, cluster);
//   }));

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "kuma/model/resource.h"
#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"
#include "source/xds/context/mesh_context.h"

namespace kuma::xds {

/** One plugin with its merged conf for one inbound or destination (null: no policy applies). */
struct PluginConf {
  const PolicyPlugin* plugin = nullptr;
  nlohmann::json conf;
};
/** Every plugin's conf, in plugin order. */
using PluginConfs = std::vector<PluginConf>;

/** The policies selecting one proxy, per plugin, in precedence order. Immutable. */
class ProxyPolicies {
 public:
  /**
   * Selects, for every plugin of `plugins` (run in order(), stable), the policies of its type in
   * `context` whose top-level targetRef selects `dataplane`. `plugins` must outlive this object.
   */
  ProxyPolicies(const MeshContext& context, const model::Resource& dataplane,
                const mesh::v1alpha1::Dataplane& spec, const PolicyPluginList& plugins);

  /**
   * A key identifying the selected set (equal keys ⇒ equal confs for every destination), used to
   * share outbound resources between proxies. Names every plugin type and selected policy.
   */
  const std::string& signature() const { return signature_; }

  /** Every plugin's catch-all inbound conf (`from[]` and match-less `rules[]`). */
  PluginConfs inbound() const;
  /** Every plugin's conf for traffic to `service` (`to[]`). */
  PluginConfs outbound(const std::string& service) const;

 private:
  struct Selected {
    const PolicyPlugin* plugin;
    std::vector<const nlohmann::json*> specs;
  };
  std::vector<Selected> selected_;
  std::string signature_;
};

/** Calls `hook(plugin, conf)` for every entry of `confs` in order; stops at the first error. */
template <class Hook>
absl::Status applyPlugins(const PluginConfs& confs, Hook&& hook) {
  for (const PluginConf& pc : confs) {
    if (absl::Status s = hook(*pc.plugin, pc.conf); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace kuma::xds
