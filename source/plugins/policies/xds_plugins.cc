#include "source/plugins/policies/xds_plugins.h"

#include <algorithm>
#include <memory>

// addAllXdsPlugins(), generated from the policy list of this folder's CMakeLists.txt.
#include "xds_plugins.inc"

namespace kuma::policies {

xds::PolicyPluginListConstSharedPtr makeXdsPolicyPlugins() {
  auto plugins = std::make_shared<xds::PolicyPluginList>();
  addAllXdsPlugins(*plugins);
  std::stable_sort(plugins->begin(), plugins->end(),
                   [](const auto& a, const auto& b) { return a->order() < b->order(); });
  return plugins;
}

}  // namespace kuma::policies
