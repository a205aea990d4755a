// The legacy CircuitBreaker (source/plugins/policies/circuitbreaker/xds_configurer.h) on the
// legacy outbound path. Expected values are Kuma 2.14.3's, read from its Envoy config dump of the
// conformance case legacy-resilience (tools/conformance/cases/legacy-resilience/).

#include "gtest/gtest.h"
#include "test/xds/generator/legacy_fixtures.h"

namespace kuma::xds {
namespace {

const std::string kClusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

const char kCbBackend[] = R"(type: CircuitBreaker
mesh: default
name: cb-backend
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: backend}}]
conf:
  interval: 5s
  baseEjectionTime: 30s
  maxEjectionPercent: 20
  splitExternalAndLocalErrors: true
  thresholds: {maxConnections: 2, maxPendingRequests: 3, maxRequests: 4, maxRetries: 5}
  detectors:
    totalErrors: {consecutive: 20}
    gatewayErrors: {consecutive: 10}
    localErrors: {consecutive: 7}
    standardDeviation: {requestVolume: 10, minimumHosts: 5, factor: 1.9}
    failure: {requestVolume: 10, minimumHosts: 5, threshold: 85}
)";

const char kCbDb[] = R"(type: CircuitBreaker
mesh: default
name: cb-db
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: db}}]
conf:
  interval: 1s
  baseEjectionTime: 30s
  detectors: {gatewayErrors: {}}
)";

TEST(LegacyCircuitBreaker, ThresholdsAndOutlierDetectionAsKuma) {
  const GeneratedResources out = testing::legacy::generateWeb({kCbBackend, kCbDb});
  const nlohmann::json backend = testing::resourceJson(out, kClusterType, "backend");
  EXPECT_EQ(backend["circuitBreakers"], nlohmann::json::parse(R"({"thresholds": [{
    "maxConnections": 2, "maxPendingRequests": 3, "maxRequests": 4, "maxRetries": 5,
    "trackRemaining": true}]})"))
      << backend.dump(2);
  EXPECT_EQ(backend["outlierDetection"], nlohmann::json::parse(R"({
    "consecutive5xx": 20, "interval": "5s", "baseEjectionTime": "30s", "maxEjectionPercent": 20,
    "enforcingConsecutive5xx": 100, "enforcingSuccessRate": 100, "successRateMinimumHosts": 5,
    "successRateRequestVolume": 10, "successRateStdevFactor": 1900,
    "consecutiveGatewayFailure": 10, "enforcingConsecutiveGatewayFailure": 100,
    "splitExternalLocalOriginErrors": true, "consecutiveLocalOriginFailure": 7,
    "enforcingConsecutiveLocalOriginFailure": 100, "enforcingLocalOriginSuccessRate": 100,
    "failurePercentageThreshold": 85, "enforcingFailurePercentage": 100,
    "enforcingFailurePercentageLocalOrigin": 100, "failurePercentageMinimumHosts": 5,
    "failurePercentageRequestVolume": 10})"))
      << backend.dump(2);
  // db: no thresholds (only Kuma's track_remaining), every other detector enforced at 0.
  const nlohmann::json db = testing::resourceJson(out, kClusterType, "db");
  EXPECT_EQ(db["circuitBreakers"],
            nlohmann::json::parse(R"({"thresholds": [{"trackRemaining": true}]})"));
  EXPECT_EQ(db["outlierDetection"], nlohmann::json::parse(R"({
    "interval": "1s", "baseEjectionTime": "30s", "enforcingConsecutive5xx": 0,
    "enforcingSuccessRate": 0, "enforcingConsecutiveGatewayFailure": 100,
    "enforcingConsecutiveLocalOriginFailure": 0, "enforcingFailurePercentage": 0})"))
      << db.dump(2);
}

TEST(LegacyCircuitBreaker, NoEffectWithoutTrafficRouteAndMeshCircuitBreakerWins) {
  const GeneratedResources plain = testing::legacy::generateWeb({kCbBackend}, false);
  EXPECT_FALSE(testing::resourceJson(plain, kClusterType, "backend").contains("outlierDetection"));
  // A MeshCircuitBreaker runs after Kuma's legacy generator: its limits and its outlier
  // detection replace the legacy ones, the legacy limits it does not set stay.
  const GeneratedResources out =
      testing::legacy::generateWeb({kCbBackend, R"(type: MeshCircuitBreaker
mesh: default
name: mcb
spec:
  targetRef: {kind: Mesh}
  to:
  - targetRef: {kind: Mesh}
    default:
      connectionLimits: {maxConnections: 9}
      outlierDetection:
        interval: 7s
        detectors: {totalFailures: {consecutive: 3}}
)"});
  const nlohmann::json backend = testing::resourceJson(out, kClusterType, "backend");
  EXPECT_EQ(backend["circuitBreakers"]["thresholds"][0]["maxConnections"], 9);
  EXPECT_EQ(backend["circuitBreakers"]["thresholds"][0]["maxRequests"], 4);
  EXPECT_EQ(backend["outlierDetection"]["interval"], "7s");
  EXPECT_FALSE(backend["outlierDetection"].contains("maxEjectionPercent"));
}

}  // namespace
}  // namespace kuma::xds
