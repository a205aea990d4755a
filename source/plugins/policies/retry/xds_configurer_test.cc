// The legacy Retry (source/plugins/policies/retry/xds_configurer.h) on the legacy outbound path.
// Expected values are Kuma 2.14.3's, read from its Envoy config dump of the conformance case
// legacy-resilience (tools/conformance/cases/legacy-resilience/).

#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route_components.pb.h"
#include "gtest/gtest.h"
#include "source/plugins/policies/retry/xds_configurer.h"
#include "test/xds/generator/legacy_fixtures.h"

namespace kuma::xds {
namespace {

const std::string kListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener";

const char kRetryAll[] = R"(type: Retry
mesh: default
name: retry-all
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: "*"}}]
conf:
  http:
    numRetries: 5
    perTryTimeout: 200ms
    backOff: {baseInterval: 20ms, maxInterval: 1s}
    retriableStatusCodes: [500, 504]
    retriableMethods: [GET, DELETE]
    retryOn: [all_5xx, gateway_error, connect_failure]
  grpc:
    numRetries: 2
  tcp: {maxConnectAttempts: 3}
)";

nlohmann::json firstFilter(const GeneratedResources& out, const std::string& listener) {
  const nlohmann::json l = testing::resourceJson(out, kListenerType, listener);
  return l["filterChains"][0]["filters"].back()["typedConfig"];
}

TEST(LegacyRetry, VirtualHostRetryPolicyAndMaxConnectAttemptsAsKuma) {
  const GeneratedResources out = testing::legacy::generateWeb({kRetryAll});
  const nlohmann::json hcm = firstFilter(out, "outbound:127.0.0.1:10001");
  EXPECT_EQ(hcm["routeConfig"]["virtualHosts"][0]["retryPolicy"], nlohmann::json::parse(R"({
    "retryOn": "5xx,gateway-error,connect-failure,retriable-status-codes", "numRetries": 5,
    "perTryTimeout": "0.200s", "retriableStatusCodes": [500, 504],
    "retryBackOff": {"baseInterval": "0.020s", "maxInterval": "1s"},
    "retriableRequestHeaders": [{"name": ":method", "stringMatch": {"exact": "GET"}},
                                {"name": ":method", "stringMatch": {"exact": "DELETE"}}]})"))
      << hcm.dump(2);
  EXPECT_EQ(firstFilter(out, "outbound:127.0.0.1:10002")["maxConnectAttempts"], 3);
  // No TrafficRoute: Kuma's legacy generator does not run.
  const GeneratedResources plain = testing::legacy::generateWeb({kRetryAll}, false);
  EXPECT_FALSE(
      firstFilter(plain, "outbound:127.0.0.1:10001")["routeConfig"]["virtualHosts"][0].contains(
          "retryPolicy"));
  EXPECT_FALSE(firstFilter(plain, "outbound:127.0.0.1:10002").contains("maxConnectAttempts"));
}

TEST(LegacyRetry, RetryConfigPerProtocol) {
  mesh::v1alpha1::Retry::Conf conf;
  conf.mutable_http()->mutable_num_retries()->set_value(1);
  conf.mutable_grpc()->add_retry_on(mesh::v1alpha1::Retry::Conf::Grpc::deadline_exceeded);
  conf.mutable_grpc()->add_retry_on(mesh::v1alpha1::Retry::Conf::Grpc::resource_exhausted);
  envoy::config::route::v3::RetryPolicy policy;
  ASSERT_TRUE(policies::retry::retryPolicy(conf, Protocol::Http, policy));
  EXPECT_EQ(policy.retry_on(), "gateway-error,connect-failure,refused-stream");
  ASSERT_TRUE(policies::retry::retryPolicy(conf, Protocol::Grpc, policy));
  EXPECT_EQ(policy.retry_on(), "deadline-exceeded,resource-exhausted");
  EXPECT_FALSE(policy.has_num_retries());
  EXPECT_FALSE(policies::retry::retryPolicy(conf, Protocol::Http2, policy));
  EXPECT_FALSE(policies::retry::retryPolicy(conf, Protocol::Tcp, policy));
  conf.clear_grpc();
  EXPECT_FALSE(policies::retry::retryPolicy(conf, Protocol::Grpc, policy));
}

}  // namespace
}  // namespace kuma::xds
