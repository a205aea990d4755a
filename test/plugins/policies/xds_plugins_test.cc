// The registered xDS plugin table: one plugin per policy type, sorted by Kuma's order.

#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "source/plugins/policies/xds_plugins.h"

namespace kuma::policies {
namespace {

TEST(XdsPolicyPlugins, TableIsSortedByKumasOrderWithOnePluginPerType) {
  // Kuma 2.14's orders (each policy type's descriptor `Order`); a new plugin must use its own.
  const std::map<std::string, int> kKumaOrder = {{"MeshHTTPRoute", 100},
                                                 {"MeshTCPRoute", 200},
                                                 {"MeshTLS", 300},
                                                 {"MeshLoadBalancingStrategy", 400},
                                                 {"MeshPassthrough", 500},
                                                 {"MeshAccessLog", 600},
                                                 {"MeshTrace", 700},
                                                 {"MeshFaultInjection", 800},
                                                 {"MeshRateLimit", 900},
                                                 {"MeshTimeout", 1000},
                                                 {"MeshTrafficPermission", 1100},
                                                 {"MeshHealthCheck", 1200},
                                                 {"MeshCircuitBreaker", 1300},
                                                 {"MeshRetry", 1400},
                                                 {"MeshMetric", 1500},
                                                 {"MeshProxyPatch", 9999}};
  const xds::PolicyPluginListConstSharedPtr plugins = makeXdsPolicyPlugins();
  std::set<std::string> types;
  int previous = -1;
  for (const auto& plugin : *plugins) {
    const std::string type(plugin->policyType());
    EXPECT_TRUE(types.insert(type).second) << type << " twice";
    EXPECT_LT(previous, plugin->order()) << type;
    previous = plugin->order();
    if (auto it = kKumaOrder.find(type); it != kKumaOrder.end()) {
      EXPECT_EQ(plugin->order(), it->second) << type;
    }
  }
  for (const char* type : {"MeshTimeout", "MeshTrafficPermission", "MeshCircuitBreaker",
                           "MeshRetry", "MeshLoadBalancingStrategy"}) {
    EXPECT_TRUE(types.contains(type)) << type;
  }
}

}  // namespace
}  // namespace kuma::policies
