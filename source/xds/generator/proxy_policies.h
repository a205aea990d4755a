#pragma once

// File: proxy_policies.h
// The policies of one proxy, per registered policy plugin: which policies of the plugin's type
// select the proxy (in the mesh context's precedence order) and their merged confs for the
// inbounds and for each destination service (source/plugins/policies/core/rules.h), ready to be
// handed to the plugins' configurer hooks (kuma/xds/policy_plugin.h).
//
//   ProxyPolicies policies(context, dataplane, spec, *options.plugins, proxyContext);
//   PluginConfs confs = policies.outbound("backend");
//   KUMA_RETURN_IF_ERROR(applyPlugins(confs, [&](const PolicyPlugin& p, const nlohmann::json& c) {
//     return p.configureOutboundCluster(c, target, cluster);
//   }));

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "kuma/model/resource.h"
#include "kuma/xds/policy_plugin.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/core/rules.h"
#include "source/xds/context/mesh_context.h"

namespace kuma::xds {

/** One plugin with its merged conf for one inbound or destination (null: no policy applies). */
struct PluginConf {
  const PolicyPlugin* plugin = nullptr;
  const nlohmann::json* conf = nullptr;  // owned by the PluginConfs
};
/** Every plugin's conf, in plugin order; holds the (possibly shared) confs it points to. */
struct PluginConfs {
  std::vector<PluginConf> items;
  std::shared_ptr<const std::vector<nlohmann::json>> confs;

  std::vector<PluginConf>::const_iterator begin() const { return items.begin(); }
  std::vector<PluginConf>::const_iterator end() const { return items.end(); }
};

/** One plugin with the policies of its type that select the proxy, in precedence order. */
struct PluginSpecs {
  const PolicyPlugin* plugin = nullptr;
  std::vector<const nlohmann::json*> specs;
};

/** The policies selecting one proxy, per plugin, in precedence order. Immutable. */
class ProxyPolicies {
 public:
  /**
   * Selects, for every plugin of `plugins` (run in order(), stable), the policies of its type in
   * `context` whose top-level targetRef selects `dataplane`. `plugins` must outlive this object.
   * `proxy` feeds the plugins' PolicyPlugin::signatureOf().
   */
  ProxyPolicies(const MeshContext& context, const model::Resource& dataplane,
                const mesh::v1alpha1::Dataplane& spec, const PolicyPluginList& plugins,
                const ProxyContext& proxy);

  /**
   * A key identifying the selected set (equal keys ⇒ equal confs for every destination), used to
   * share outbound resources between proxies. Names every plugin type, every selected policy and
   * every plugin's signatureOf().
   */
  const std::string& signature() const { return signature_; }

  /** Every plugin's catch-all inbound conf (`from[]` and match-less `rules[]`). */
  PluginConfs inbound() const;
  /**
   * Every plugin's conf for traffic to `service` (`to[]`). Merged once per (signature, service)
   * in the mesh context and shared by every proxy with the same signature.
   */
  PluginConfs outbound(const std::string& service) const;
  /** Every plugin with its selected policies, in plugin order. */
  const std::vector<PluginSpecs>& selected() const { return selected_; }

 private:
  PluginConfs withPlugins(std::shared_ptr<const std::vector<nlohmann::json>> confs) const;

  const MeshContext& context_;
  std::vector<PluginSpecs> selected_;
  std::string signature_;
};

/**
 * The view of `dataplane` that top-level targetRefs are matched against (its name, labels and the
 * tags of every inbound); what ProxyPolicies selects with and what the inspect API reports.
 */
policies::ProxyView proxyViewOf(const model::Resource& dataplane,
                                const mesh::v1alpha1::Dataplane& spec);

/**
 * The policies of `type` in `context` whose top-level targetRef selects `proxy`, in the mesh
 * context's precedence order (the policy applied last comes last).
 */
std::vector<const PolicyEntry*> selectPolicies(const MeshContext& context, std::string_view type,
                                               const policies::ProxyView& proxy);

/** Calls `hook(plugin, conf)` for every entry of `confs` in order; stops at the first error. */
template <class Hook>
absl::Status applyPlugins(const PluginConfs& confs, Hook&& hook) {
  for (const PluginConf& pc : confs) {
    if (absl::Status s = hook(*pc.plugin, *pc.conf); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace kuma::xds
