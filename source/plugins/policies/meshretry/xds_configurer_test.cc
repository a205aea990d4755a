// MeshRetry's xDS plugin: the retry policy of routes per protocol and tcp_proxy connect attempts.

#include <string>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/meshretry/xds_configurer.h"
#include "source/xds/envoy/envoy_util.h"
#include "test/plugins/policies/conformance_golden.h"
#include "test/plugins/policies/plugin_test_util.h"

namespace kuma::policies {
namespace {

using namespace testing;  // NOLINT: outTarget, inTarget, ms, common, clusterWithHttpOptions
using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;

const json kConf = json::parse(R"({
  "connectionTimeout": "2s", "idleTimeout": "20s",
  "http": {"requestTimeout": "1500ms", "streamIdleTimeout": "40s", "maxStreamDuration": "7s",
           "maxConnectionDuration": "8s", "requestHeadersTimeout": "300ms"}})");

TEST(MeshRetryXds, RouteRetryPolicyPerProtocol) {
  meshretry::XdsConfigurer plugin;
  const json conf = json::parse(R"({
    "http": {"numRetries": 2, "perTryTimeout": "1s", "retryOn": ["5xx", "503", "504", "999"],
             "backOff": {"baseInterval": "10ms", "maxInterval": "1s"}},
    "grpc": {"retryOn": []},
    "tcp": {"maxConnectAttempt": 4}})");
  auto http = routeToCluster();
  ASSERT_TRUE(
      plugin.configureOutboundRoute(conf, outTarget("api", xds::Protocol::Http), http).ok());
  const auto& rp = http.route().retry_policy();
  // 999 is no status code Go knows: Kuma takes it as a retryOn name without Envoy value.
  EXPECT_EQ(rp.retry_on(), "5xx,,retriable-status-codes");
  ASSERT_EQ(rp.retriable_status_codes_size(), 2);
  EXPECT_EQ(rp.retriable_status_codes(1), 504u);
  EXPECT_EQ(rp.num_retries().value(), 2u);
  EXPECT_EQ(ms(rp.per_try_timeout()), 1000);
  EXPECT_EQ(ms(rp.retry_back_off().base_interval()), 10);
  EXPECT_EQ(ms(rp.retry_back_off().max_interval()), 1000);

  auto grpc = routeToCluster();
  ASSERT_TRUE(
      plugin.configureOutboundRoute(conf, outTarget("api", xds::Protocol::Grpc), grpc).ok());
  EXPECT_EQ(grpc.route().retry_policy().retry_on(),
            "cancelled,connect-failure,gateway-error,refused-stream,reset,resource-exhausted,"
            "unavailable");

  // HTTP/2 destinations get no retry policy (Kuma's GetRouteRetryConfig knows http and grpc).
  auto h2 = routeToCluster();
  ASSERT_TRUE(plugin.configureOutboundRoute(conf, outTarget("api", xds::Protocol::Http2), h2).ok());
  EXPECT_FALSE(h2.route().has_retry_policy());
  // numRetries 0: no retry policy.
  auto zero = routeToCluster();
  ASSERT_TRUE(plugin
                  .configureOutboundRoute(json::parse(R"({"http": {"numRetries": 0}})"),
                                          outTarget("api", xds::Protocol::Http), zero)
                  .ok());
  EXPECT_FALSE(zero.route().has_retry_policy());

  auto none = routeToCluster();
  ASSERT_TRUE(
      plugin.configureOutboundRoute(json(), outTarget("api", xds::Protocol::Http), none).ok());
  EXPECT_FALSE(none.route().has_retry_policy());

  tcp_v3::TcpProxy tcp;
  ASSERT_TRUE(
      plugin.configureOutboundTcpProxy(conf, outTarget("redis", xds::Protocol::Tcp), tcp).ok());
  EXPECT_EQ(tcp.max_connect_attempts().value(), 4u);
  tcp_v3::TcpProxy untouched;
  ASSERT_TRUE(
      plugin.configureOutboundTcpProxy(json(), outTarget("redis", xds::Protocol::Tcp), untouched)
          .ok());
  EXPECT_FALSE(untouched.has_max_connect_attempts());
}

// Every field of the case's MeshRetry (retriable response and request headers, methods, status
// codes, back-offs, host selection, gRPC retryOn) as Kuma 2.14.3 renders it: the oracle's dump of
// tools/conformance/cases/meshretry-headers, cut into
// testdata/conformance-meshretry-headers.xds.json.
TEST(MeshRetryXds, RoutesAsKumaRendersThem) {
  const xds::testing::ConformanceCase c = xds::testing::loadConformanceCase("meshretry-headers");
  const xds::GeneratedResources out = c.generate("web");
  const json golden = xds::testing::readJson(
      xds::testing::sourceRoot() /
      "source/plugins/policies/meshretry/testdata/conformance-meshretry-headers.xds.json");
  ASSERT_EQ(golden["routes"].size(), 3u);
  ASSERT_EQ(golden["tcp"].size(), 1u);
  xds::testing::expectOutboundFields(c, out, golden, {"retry_policy"});
}

}  // namespace
}  // namespace kuma::policies
