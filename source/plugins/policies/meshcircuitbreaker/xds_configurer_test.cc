// MeshCircuitBreaker's xDS plugin: connection limits and outlier detection as Kuma 2.14.3 renders
// them (the oracle's dump of tools/conformance/cases/meshcircuitbreaker-outlier, cut into
// testdata/conformance-meshcircuitbreaker-outlier.xds.json), `track_remaining` on every cluster
// also without any MeshCircuitBreaker, and the shared clusters left shared.

#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/meshcircuitbreaker/xds_configurer.h"
#include "test/plugins/policies/conformance_golden.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using nlohmann::json;
namespace mcb = policies::meshcircuitbreaker;

TEST(MeshCircuitBreakerXds, ClustersAsKumaRendersThem) {
  const testing::ConformanceCase c = testing::loadConformanceCase("meshcircuitbreaker-outlier");
  const GeneratedResources out = c.generate("web");
  const json golden = testing::readJson(testing::sourceRoot() /
                                        "source/plugins/policies/meshcircuitbreaker/testdata/"
                                        "conformance-meshcircuitbreaker-outlier.xds.json");
  // Every cluster of Kuma's dump, the inbound (from[]) and admin clusters included.
  ASSERT_EQ(golden["clusters"].size(), 7u);
  testing::expectClusterFields(c, out, golden,
                               {"circuit_breakers", "outlier_detection", "common_lb_config"});
}

// No MeshCircuitBreaker at all (the mesh skipped its default policies), transparent proxying:
// every cluster still gets track_remaining, the passthrough ones included.
TEST(MeshCircuitBreakerXds, TrackRemainingOnEveryClusterWithoutPolicy) {
  std::vector<std::string> yamls = testing::caseAOthers();
  yamls.push_back(testing::caseBDataplane());
  yamls.push_back(testing::meshYaml());
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  auto out =
      generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(ProxyOptions{}));
  ASSERT_TRUE(out.ok()) << out.status();
  const std::vector<std::string> names = testing::namesOf(*out, kClusterType);
  for (const char* expected : {"api", "outbound:passthrough:ipv4", "inbound:passthrough:ipv6",
                               "localhost:18080", "kuma:envoy:admin"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  for (const std::string& name : names) {
    const Cluster cl = testing::decode<Cluster>(*out, kClusterType, name);
    ASSERT_EQ(cl.circuit_breakers().thresholds_size(), 1) << name;
    EXPECT_TRUE(cl.circuit_breakers().thresholds(0).track_remaining()) << name;
    EXPECT_FALSE(cl.circuit_breakers().thresholds(0).has_max_connections()) << name;
    EXPECT_FALSE(cl.has_outlier_detection()) << name;
  }
}

// apply() leaves the destinations' shared clusters alone: two proxies with the same policies get
// the same object.
TEST(MeshCircuitBreakerXds, SharedClustersStayShared) {
  std::vector<std::string> yamls = testing::caseAOthers();
  yamls.push_back(testing::caseADataplane());
  std::string second = testing::caseADataplane();
  second.replace(second.find("web-1"), 5, "web-2");
  yamls.push_back(second);
  for (const auto& p : testing::defaultPolicyYamls()) {
    yamls.push_back(p);
  }
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  auto one =
      generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(ProxyOptions{}));
  auto two =
      generate(**ctx, *testing::dataplaneOf(**ctx, "web-2"), testing::withPlugins(ProxyOptions{}));
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_EQ(one->find(kClusterType, "api").get(), two->find(kClusterType, "api").get());
  EXPECT_EQ(one->find(kClusterType, "redis").get(), two->find(kClusterType, "redis").get());
  const Cluster api = testing::decode<Cluster>(*one, kClusterType, "api");
  ASSERT_EQ(api.circuit_breakers().thresholds_size(), 1);
  EXPECT_TRUE(api.circuit_breakers().thresholds(0).track_remaining());
  EXPECT_EQ(api.circuit_breakers().thresholds(0).max_connections().value(), 1024u);
}

TEST(MeshCircuitBreakerXds, ConfOntoOneCluster) {
  // The threshold of priority DEFAULT is reused, a HIGH one left alone.
  Cluster c;
  auto* high = c.mutable_circuit_breakers()->add_thresholds();
  high->set_priority(envoy::config::core::v3::HIGH);
  high->mutable_max_connections()->set_value(1);
  ASSERT_TRUE(mcb::configureCluster(json::parse(R"({"connectionLimits": {"maxConnections": 3,
      "maxRequests": 0, "maxRetries": -1}})"),
                                    c)
                  .ok());
  ASSERT_EQ(c.circuit_breakers().thresholds_size(), 2);
  const auto& th = c.circuit_breakers().thresholds(1);
  EXPECT_EQ(th.max_connections().value(), 3u);
  EXPECT_TRUE(th.has_max_requests());
  EXPECT_FALSE(th.has_max_pending_requests());
  EXPECT_FALSE(th.has_max_retries());  // negative: ignored
  EXPECT_TRUE(th.track_remaining());
  EXPECT_EQ(c.circuit_breakers().thresholds(0).max_connections().value(), 1u);
  mcb::ensureTrackRemaining(c);
  EXPECT_EQ(c.circuit_breakers().thresholds_size(), 2);

  // Disabled outlier detection: none; the success-rate factor is exact in decimal.
  Cluster disabled;
  ASSERT_TRUE(mcb::configureCluster(json::parse(R"({"outlierDetection": {"disabled": true,
      "detectors": {"totalFailures": {"consecutive": 1}}}})"),
                                    disabled)
                  .ok());
  EXPECT_FALSE(disabled.has_outlier_detection());
  for (const auto& [factor, expected] : std::vector<std::pair<json, uint32_t>>{
           {"1.9", 1900}, {2, 2000}, {"0.0015", 1}, {"3.14159", 3141}}) {
    Cluster sr;
    json conf = json::parse(R"({"outlierDetection": {"detectors": {"successRate": {}}}})");
    conf["outlierDetection"]["detectors"]["successRate"]["standardDeviationFactor"] = factor;
    ASSERT_TRUE(mcb::configureCluster(conf, sr).ok());
    EXPECT_EQ(sr.outlier_detection().success_rate_stdev_factor().value(), expected) << factor;
    EXPECT_EQ(sr.outlier_detection().enforcing_success_rate().value(), 100u);
    EXPECT_EQ(sr.outlier_detection().enforcing_failure_percentage().value(), 0u);
    EXPECT_FALSE(sr.outlier_detection().has_consecutive_5xx());
  }
  Cluster bad;
  EXPECT_FALSE(mcb::configureCluster(json::parse(R"({"outlierDetection": {"detectors":
      {"successRate": {"standardDeviationFactor": "x"}}}})"),
                                     bad)
                   .ok());
}

}  // namespace
}  // namespace kuma::xds
