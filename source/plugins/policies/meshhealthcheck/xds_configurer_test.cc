// MeshHealthCheck's xDS plugin: HTTP, TCP and gRPC health checks, panic threshold and the event
// sink as Kuma 2.14.3 renders them (the oracle's dump of tools/conformance/cases/meshhealthcheck,
// cut into testdata/conformance-meshhealthcheck.xds.json), Kuma's choice of checker per protocol,
// and the per-proxy `x-kuma-tags` header on otherwise shared clusters.

#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/health_check.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/meshhealthcheck/xds_configurer.h"
#include "test/plugins/policies/conformance_golden.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using nlohmann::json;
namespace mhc = policies::meshhealthcheck;

TEST(MeshHealthCheckXds, ClustersAsKumaRendersThem) {
  const testing::ConformanceCase c = testing::loadConformanceCase("meshhealthcheck");
  const GeneratedResources out = c.generate("web");
  const json golden = testing::readJson(
      testing::sourceRoot() /
      "source/plugins/policies/meshhealthcheck/testdata/conformance-meshhealthcheck.xds.json");
  ASSERT_EQ(golden["clusters"].size(), 7u);
  // backend (HTTP), db (TCP), echo (gRPC), h2 (HTTP disabled: TCP fallback, event sink), and
  // the inbound and admin clusters without any.
  testing::expectClusterFields(c, out, golden, {"health_checks", "common_lb_config"});
}

TEST(MeshHealthCheckXds, CheckerPerProtocol) {
  const json all = json::parse(R"({"http": {}, "tcp": {}, "grpc": {}})");
  EXPECT_EQ(mhc::selectChecker(Protocol::Http, all), mhc::Checker::Http);
  EXPECT_EQ(mhc::selectChecker(Protocol::Http2, all), mhc::Checker::Http);
  EXPECT_EQ(mhc::selectChecker(Protocol::Grpc, all), mhc::Checker::Grpc);
  EXPECT_EQ(mhc::selectChecker(Protocol::Tcp, all), mhc::Checker::Tcp);
  EXPECT_EQ(mhc::selectChecker(Protocol::Unknown, all), mhc::Checker::None);
  EXPECT_EQ(mhc::selectChecker(Protocol::Kafka, all), mhc::Checker::None);
  // Fallback to TCP only when the protocol's own checker is there and disabled.
  const json httpOff = json::parse(R"({"http": {"disabled": true}, "tcp": {}})");
  EXPECT_EQ(mhc::selectChecker(Protocol::Http, httpOff), mhc::Checker::Tcp);
  EXPECT_EQ(mhc::selectChecker(Protocol::Http, json::parse(R"({"tcp": {}})")), mhc::Checker::None);
  EXPECT_EQ(
      mhc::selectChecker(Protocol::Grpc, json::parse(R"({"grpc": {"disabled": true}, "tcp": {}})")),
      mhc::Checker::Tcp);
  EXPECT_EQ(mhc::selectChecker(Protocol::Tcp, json::parse(R"({"tcp": {"disabled": true}})")),
            mhc::Checker::None);

  // Kuma's defaults; the panic settings apply without a checker too.
  Cluster c;
  ASSERT_TRUE(mhc::configureCluster(json::parse(R"({"tcp": {}, "healthyPanicThreshold": 0,
      "failTrafficOnPanic": false})"),
                                    Protocol::Tcp, "", c)
                  .ok());
  ASSERT_EQ(c.health_checks_size(), 1);
  const auto& hc = c.health_checks(0);
  EXPECT_EQ(hc.interval().seconds(), 60);
  EXPECT_EQ(hc.timeout().seconds(), 15);
  EXPECT_EQ(hc.unhealthy_threshold().value(), 5u);
  EXPECT_EQ(hc.healthy_threshold().value(), 1u);
  EXPECT_TRUE(hc.has_tcp_health_check());
  EXPECT_FALSE(hc.has_reuse_connection());
  EXPECT_TRUE(c.common_lb_config().has_healthy_panic_threshold());
  EXPECT_TRUE(c.common_lb_config().has_zone_aware_lb_config());
  Cluster none;
  ASSERT_TRUE(mhc::configureCluster(json::parse(R"({"healthyPanicThreshold": "12.5"})"),
                                    Protocol::Http, "", none)
                  .ok());
  EXPECT_EQ(none.health_checks_size(), 0);
  EXPECT_DOUBLE_EQ(none.common_lb_config().healthy_panic_threshold().value(), 12.5);
  Cluster nothing;
  ASSERT_TRUE(mhc::configureCluster(json(), Protocol::Http, "", nothing).ok());
  EXPECT_FALSE(nothing.has_common_lb_config());

  EXPECT_EQ(mhc::serviceFromClusterName("backend-0123456789abcdef"), "backend");
  EXPECT_EQ(mhc::serviceFromClusterName("backend-0123456789abcdeg"), "backend-0123456789abcdeg");
  EXPECT_EQ(mhc::serviceFromClusterName("backend"), "backend");
}

// Two proxies with the same policies but other tags: the HTTP check of each carries its own
// x-kuma-tags first; the TCP destination's cluster (no header) stays one shared object.
TEST(MeshHealthCheckXds, TagsHeaderPerProxy) {
  std::vector<std::string> yamls = testing::caseAOthers();
  yamls.push_back(testing::caseADataplane());
  std::string second = testing::caseADataplane();
  second.replace(second.find("web-1"), 5, "web-2");
  second.replace(second.find("kuma.io/zone: default"), 21, "kuma.io/zone: default, team: b");
  yamls.push_back(second);
  yamls.push_back(R"(type: MeshHealthCheck
mesh: default
name: hc
spec:
  targetRef: {kind: Mesh}
  to:
  - targetRef: {kind: Mesh}
    default:
      http: {path: /ready, requestHeadersToAdd: {set: [{name: x-a, value: "1"}]}}
      tcp: {}
)");
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  auto one =
      generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(ProxyOptions{}));
  auto two =
      generate(**ctx, *testing::dataplaneOf(**ctx, "web-2"), testing::withPlugins(ProxyOptions{}));
  ASSERT_TRUE(one.ok() && two.ok());
  const auto headersOf = [](const GeneratedResources& out) {
    const Cluster api = testing::decode<Cluster>(out, kClusterType, "api");
    EXPECT_EQ(api.health_checks_size(), 1);
    std::vector<std::string> h;
    for (const auto& o : api.health_checks(0).http_health_check().request_headers_to_add()) {
      h.push_back(o.header().key() + "=" + o.header().value());
    }
    return h;
  };
  EXPECT_EQ(headersOf(*one),
            (std::vector<std::string>{
                "x-kuma-tags=&kuma.io/protocol=http&&kuma.io/service=web&&kuma.io/zone=default&",
                "x-a=1"}));
  EXPECT_EQ(headersOf(*two),
            (std::vector<std::string>{"x-kuma-tags=&kuma.io/protocol=http&&kuma.io/service=web&&"
                                      "kuma.io/zone=default&&team=b&",
                                      "x-a=1"}));
  EXPECT_EQ(one->find(kClusterType, "redis").get(), two->find(kClusterType, "redis").get());
  // redis has no kuma.io/protocol: Kuma's protocol is unknown there, so no TCP check either.
  EXPECT_EQ(testing::decode<Cluster>(*one, kClusterType, "redis").health_checks_size(), 0);
}

}  // namespace
}  // namespace kuma::xds
