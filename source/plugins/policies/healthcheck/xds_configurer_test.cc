// The legacy HealthCheck (source/plugins/policies/healthcheck/xds_configurer.h) on the legacy
// outbound path. Expected values are Kuma 2.14.3's, read from its Envoy config dump of the
// conformance case legacy-resilience (tools/conformance/cases/legacy-resilience/).

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "gtest/gtest.h"
#include "test/xds/generator/legacy_fixtures.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;

const std::string kClusterType = "type.googleapis.com/envoy.config.cluster.v3.Cluster";

const char kHcAll[] = R"(type: HealthCheck
mesh: default
name: hc-all
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: "*"}}]
conf:
  interval: 10s
  timeout: 2s
  unhealthyThreshold: 3
  healthyThreshold: 1
  tcp: {send: Zm9v, receive: [YmFy]}
)";

const char kHcBackend[] = R"(type: HealthCheck
mesh: default
name: hc-backend
sources: [{match: {kuma.io/service: web}}]
destinations: [{match: {kuma.io/service: backend}}]
conf:
  interval: 5s
  timeout: 1s
  unhealthyThreshold: 2
  healthyThreshold: 2
  initialJitter: 1s
  intervalJitter: 2s
  intervalJitterPercent: 10
  healthyPanicThreshold: 60
  failTrafficOnPanic: true
  noTrafficInterval: 7s
  reuseConnection: false
  alwaysLogHealthCheckFailures: true
  http:
    path: /health
    requestHeadersToAdd:
    - {header: {key: x-probe, value: kuma}, append: false}
    - {header: {key: x-probe-2, value: two}, append: true}
    expectedStatuses: [200, 204]
)";

nlohmann::json clusterJson(const GeneratedResources& out, const std::string& name) {
  return testing::resourceJson(out, kClusterType, name);
}

TEST(LegacyHealthCheck, TheMostSpecificPolicyConfiguresEachServicesClusterAsKuma) {
  const GeneratedResources out = testing::legacy::generateWeb({kHcAll, kHcBackend});
  // backend: hc-backend (source web beats `*`), exactly Kuma's dump.
  const nlohmann::json backend = clusterJson(out, "backend");
  EXPECT_EQ(backend["healthChecks"], nlohmann::json::parse(R"([{
    "timeout": "1s", "interval": "5s", "initialJitter": "1s", "intervalJitter": "2s",
    "intervalJitterPercent": 10, "unhealthyThreshold": 2, "healthyThreshold": 2,
    "reuseConnection": false, "noTrafficInterval": "7s", "alwaysLogHealthCheckFailures": true,
    "httpHealthCheck": {"path": "/health",
      "requestHeadersToAdd": [
        {"header": {"key": "x-probe", "value": "kuma"}, "appendAction": "OVERWRITE_IF_EXISTS_OR_ADD"},
        {"header": {"key": "x-probe-2", "value": "two"}}],
      "expectedStatuses": [{"start": "200", "end": "201"}, {"start": "204", "end": "205"}]}}])"))
      << backend.dump(2);
  EXPECT_EQ(backend["commonLbConfig"], nlohmann::json::parse(R"({
    "healthyPanicThreshold": {"value": 60}, "zoneAwareLbConfig": {"failTrafficOnPanic": true}})"));
  // db: the wildcard one, TCP with Kuma's hex payloads.
  const nlohmann::json db = clusterJson(out, "db");
  EXPECT_EQ(db["healthChecks"], nlohmann::json::parse(R"([{
    "timeout": "2s", "interval": "10s", "unhealthyThreshold": 3, "healthyThreshold": 1,
    "tcpHealthCheck": {"send": {"text": "666f6f"}, "receive": [{"text": "626172"}]}}])"))
      << db.dump(2);
  EXPECT_FALSE(db.contains("commonLbConfig"));
}

TEST(LegacyHealthCheck, NoEffectOutsideTheLegacyPathOrForOtherSources) {
  // Without a TrafficRoute Kuma's legacy generator does not run: no health checks at all.
  const GeneratedResources plain = testing::legacy::generateWeb({kHcAll, kHcBackend}, false);
  EXPECT_FALSE(clusterJson(plain, "backend").contains("healthChecks"));
  EXPECT_FALSE(clusterJson(plain, "db").contains("healthChecks"));
  // A policy whose sources do not match web does not apply to web's clusters.
  std::string other = kHcBackend;
  other.replace(other.find("service: web}"), 13, "service: api}");
  const GeneratedResources out = testing::legacy::generateWeb({other});
  EXPECT_FALSE(clusterJson(out, "backend").contains("healthChecks"));
}

TEST(LegacyHealthCheck, NeitherTcpNorHttpGivesAnEmptyTcpCheck) {
  const GeneratedResources out = testing::legacy::generateWeb({R"(type: HealthCheck
mesh: default
name: bare
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: db}}]
conf: {interval: 3s, timeout: 1s, unhealthyThreshold: 1, healthyThreshold: 1}
)"});
  EXPECT_EQ(clusterJson(out, "db")["healthChecks"], nlohmann::json::parse(R"([{
    "timeout": "1s", "interval": "3s", "unhealthyThreshold": 1, "healthyThreshold": 1,
    "tcpHealthCheck": {}}])"));
}

}  // namespace
}  // namespace kuma::xds
