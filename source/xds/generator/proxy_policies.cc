#include "source/xds/generator/proxy_policies.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "source/plugins/policies/core/rules.h"

namespace kuma::xds {

policies::ProxyView proxyViewOf(const model::Resource& dataplane,
                                const mesh::v1alpha1::Dataplane& spec) {
  policies::ProxyView proxy;
  proxy.name = dataplane.meta.name;
  proxy.labels = dataplane.meta.labels;
  for (const auto& inbound : spec.networking().inbound()) {
    proxy.inboundTags.emplace_back(inbound.tags().begin(), inbound.tags().end());
  }
  return proxy;
}

std::vector<const PolicyEntry*> selectPolicies(const MeshContext& context, std::string_view type,
                                               const policies::ProxyView& proxy) {
  std::vector<const PolicyEntry*> out;
  for (const PolicyEntry& e : context.policies(type)) {
    if (policies::selectsProxy(e.targetRef, proxy)) {
      out.push_back(&e);
    }
  }
  return out;
}

ProxyPolicies::ProxyPolicies(const MeshContext& context, const model::Resource& dataplane,
                             const mesh::v1alpha1::Dataplane& spec, const PolicyPluginList& plugins,
                             const ProxyContext& proxyContext)
    : context_(context) {
  const policies::ProxyView proxy = proxyViewOf(dataplane, spec);
  for (const PolicyPluginPtr& plugin : plugins) {
    selected_.push_back({plugin.get(), {}});
  }
  std::stable_sort(selected_.begin(), selected_.end(),
                   [](const PluginSpecs& a, const PluginSpecs& b) {
                     return a.plugin->order() < b.plugin->order();
                   });
  for (PluginSpecs& s : selected_) {
    absl::StrAppend(&signature_, std::string(s.plugin->policyType()), ":");
    for (const PolicyEntry* e : selectPolicies(context, s.plugin->policyType(), proxy)) {
      s.specs.push_back(e->spec);
      absl::StrAppend(&signature_, e->resource->meta.name, ",");
    }
    absl::StrAppend(&signature_, s.plugin->signatureOf(proxyContext), ";");
  }
}

PluginConfs ProxyPolicies::withPlugins(
    std::shared_ptr<const std::vector<nlohmann::json>> confs) const {
  PluginConfs out;
  out.items.reserve(selected_.size());
  for (size_t i = 0; i < selected_.size(); ++i) {
    out.items.push_back({selected_[i].plugin, &(*confs)[i]});
  }
  out.confs = std::move(confs);
  return out;
}

PluginConfs ProxyPolicies::inbound() const {
  auto confs = std::make_shared<std::vector<nlohmann::json>>();
  confs->reserve(selected_.size());
  for (const PluginSpecs& s : selected_) {
    std::optional<nlohmann::json> conf = s.plugin->inboundConf(s.specs);
    confs->push_back(conf ? *std::move(conf) : policies::mergeInboundConf(s.specs));
  }
  return withPlugins(std::move(confs));
}

PluginConfs ProxyPolicies::outbound(const std::string& service) const {
  // Equal signatures select equal policies for every plugin (and equal signatureOf()), so the
  // confs of a destination depend only on (signature, service).
  return withPlugins(context_.memo<std::vector<nlohmann::json>>(
      absl::StrCat("confs|", signature_, "|", service),
      [&]() -> std::shared_ptr<const std::vector<nlohmann::json>> {
        auto confs = std::make_shared<std::vector<nlohmann::json>>();
        confs->reserve(selected_.size());
        for (const PluginSpecs& s : selected_) {
          std::optional<nlohmann::json> conf = s.plugin->destinationConf(s.specs, service);
          confs->push_back(conf ? *std::move(conf)
                                : policies::mergeDestinationConf(s.specs, service));
        }
        return confs;
      }));
}

}  // namespace kuma::xds
