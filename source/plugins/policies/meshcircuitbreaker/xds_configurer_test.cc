// MeshCircuitBreaker's xDS plugin: connection limits → the cluster's circuit-breaker threshold.

#include <string>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/meshcircuitbreaker/xds_configurer.h"
#include "source/xds/envoy/envoy_util.h"
#include "test/plugins/policies/plugin_test_util.h"

namespace kuma::policies {
namespace {

using namespace testing;  // NOLINT: outTarget, inTarget, ms, common, clusterWithHttpOptions
using nlohmann::json;
namespace cluster_v3 = envoy::config::cluster::v3;

const json kConf = json::parse(R"({
  "connectionTimeout": "2s", "idleTimeout": "20s",
  "http": {"requestTimeout": "1500ms", "streamIdleTimeout": "40s", "maxStreamDuration": "7s",
           "maxConnectionDuration": "8s", "requestHeadersTimeout": "300ms"}})");

TEST(MeshCircuitBreakerXds, ConnectionLimitsBecomeAThreshold) {
  meshcircuitbreaker::XdsConfigurer plugin;
  cluster_v3::Cluster none;
  ASSERT_TRUE(
      plugin.configureOutboundCluster(json(), outTarget("api", xds::Protocol::Http), none).ok());
  ASSERT_TRUE(plugin
                  .configureOutboundCluster(json::parse(R"({"outlierDetection": {}})"),
                                            outTarget("api", xds::Protocol::Http), none)
                  .ok());
  EXPECT_FALSE(none.has_circuit_breakers());

  cluster_v3::Cluster c;
  ASSERT_TRUE(
      plugin
          .configureOutboundCluster(json::parse(R"({"connectionLimits": {"maxConnections": 3,
                          "maxRequests": 0, "maxRetries": -1}})"),
                                    outTarget("api", xds::Protocol::Tcp), c)
          .ok());
  ASSERT_EQ(c.circuit_breakers().thresholds_size(), 1);
  const auto& th = c.circuit_breakers().thresholds(0);
  EXPECT_EQ(th.max_connections().value(), 3u);
  EXPECT_TRUE(th.has_max_requests());
  EXPECT_FALSE(th.has_max_pending_requests());
  EXPECT_FALSE(th.has_max_retries());  // negative: ignored
  EXPECT_TRUE(th.track_remaining());
}

}  // namespace
}  // namespace kuma::policies
