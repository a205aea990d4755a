#include "source/plugins/policies/xds_plugins.h"

#include <algorithm>

#include "source/plugins/policies/meshcircuitbreaker/xds_configurer.h"
#include "source/plugins/policies/meshretry/xds_configurer.h"
#include "source/plugins/policies/meshtimeout/xds_configurer.h"

namespace kuma::policies {

xds::PolicyPluginList makeXdsPolicyPlugins() {
  xds::PolicyPluginList plugins;
  plugins.push_back(std::make_unique<meshtimeout::XdsConfigurer>());
  plugins.push_back(std::make_unique<meshcircuitbreaker::XdsConfigurer>());
  plugins.push_back(std::make_unique<meshretry::XdsConfigurer>());
  std::stable_sort(plugins.begin(), plugins.end(),
                   [](const auto& a, const auto& b) { return a->order() < b->order(); });
  return plugins;
}

const xds::PolicyPluginList& xdsPolicyPlugins() {
  static const xds::PolicyPluginList kPlugins = makeXdsPolicyPlugins();
  return kPlugins;
}

}  // namespace kuma::policies
