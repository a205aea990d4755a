#include "source/xds/generator/proxy_policies.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "source/plugins/policies/core/rules.h"

namespace kuma::xds {

ProxyPolicies::ProxyPolicies(const MeshContext& context, const model::Resource& dataplane,
                             const mesh::v1alpha1::Dataplane& spec, const PolicyPluginList& plugins,
                             const ProxyContext& proxyContext) {
  policies::ProxyView proxy;
  proxy.name = dataplane.meta.name;
  proxy.labels = dataplane.meta.labels;
  for (const auto& inbound : spec.networking().inbound()) {
    proxy.inboundTags.emplace_back(inbound.tags().begin(), inbound.tags().end());
  }
  for (const PolicyPluginPtr& plugin : plugins) {
    selected_.push_back({plugin.get(), {}});
  }
  std::stable_sort(selected_.begin(), selected_.end(),
                   [](const PluginSpecs& a, const PluginSpecs& b) {
                     return a.plugin->order() < b.plugin->order();
                   });
  for (PluginSpecs& s : selected_) {
    absl::StrAppend(&signature_, std::string(s.plugin->policyType()), ":");
    for (const PolicyEntry& e : context.policies(s.plugin->policyType())) {
      if (policies::selectsProxy(e.targetRef, proxy)) {
        s.specs.push_back(e.spec);
        absl::StrAppend(&signature_, e.resource->meta.name, ",");
      }
    }
    absl::StrAppend(&signature_, s.plugin->signatureOf(proxyContext), ";");
  }
}

PluginConfs ProxyPolicies::inbound() const {
  PluginConfs out;
  out.reserve(selected_.size());
  for (const PluginSpecs& s : selected_) {
    std::optional<nlohmann::json> conf = s.plugin->inboundConf(s.specs);
    out.push_back({s.plugin, conf ? *std::move(conf) : policies::mergeInboundConf(s.specs)});
  }
  return out;
}

PluginConfs ProxyPolicies::outbound(const std::string& service) const {
  PluginConfs out;
  out.reserve(selected_.size());
  for (const PluginSpecs& s : selected_) {
    std::optional<nlohmann::json> conf = s.plugin->destinationConf(s.specs, service);
    out.push_back(
        {s.plugin, conf ? *std::move(conf) : policies::mergeDestinationConf(s.specs, service)});
  }
  return out;
}

}  // namespace kuma::xds
