// The legacy FaultInjection (source/plugins/policies/faultinjection/xds_configurer.h) on web's
// HTTP inbound. Expected values are Kuma 2.14.3's, read from its Envoy config dump of the
// conformance case legacy-faultinjection (tools/conformance/cases/legacy-faultinjection/).

#include "gtest/gtest.h"
#include "test/xds/generator/legacy_fixtures.h"

namespace kuma::xds {
namespace {

const std::string kListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener";

const char kFiAll[] = R"(type: FaultInjection
mesh: default
name: fi-all
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: web, kuma.io/protocol: http}}]
conf:
  abort: {httpStatus: 503, percentage: 10}
  delay: {value: 2s, percentage: 5.5}
)";

const char kFiFrontend[] = R"(type: FaultInjection
mesh: default
name: fi-frontend
sources:
- match: {kuma.io/service: frontend, version: v2}
- match: {kuma.io/service: backend}
destinations: [{match: {kuma.io/service: web, kuma.io/protocol: http}}]
conf:
  responseBandwidth: {limit: 800 kbps, percentage: 50}
)";

const char kFiOther[] = R"(type: FaultInjection
mesh: default
name: fi-other
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: other, kuma.io/protocol: http}}]
conf:
  abort: {httpStatus: 500, percentage: 100}
)";

nlohmann::json inboundFilters(const GeneratedResources& out) {
  const nlohmann::json l = testing::resourceJson(out, kListenerType, "inbound:127.0.0.1:8080");
  return l["filterChains"][0]["filters"].back()["typedConfig"]["httpFilters"];
}

TEST(LegacyFaultInjection, OneFilterPerMatchingPolicyMostSpecificSourceFirstAsKuma) {
  // No TrafficRoute: Kuma's inbound generator applies FaultInjections on any mesh.
  const GeneratedResources out =
      testing::legacy::generateWeb({kFiAll, kFiFrontend, kFiOther}, false);
  const nlohmann::json filters = inboundFilters(out);
  ASSERT_EQ(filters.size(), 3u) << filters.dump(2);
  EXPECT_EQ(filters[0]["typedConfig"], nlohmann::json::parse(R"j({
    "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
    "headers": [{"name": "x-kuma-tags", "safeRegexMatch": {"regex":
      "(.*&kuma.io/service=[^&]*frontend[,&].*&version=[^&]*v2[,&].*|.*&kuma.io/service=[^&]*backend[,&].*)"}}],
    "responseRateLimit": {"fixedLimit": {"limitKbps": "800"}, "percentage": {"numerator": 50}}})j"))
      << filters.dump(2);
  EXPECT_EQ(filters[1]["typedConfig"], nlohmann::json::parse(R"({
    "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault",
    "delay": {"fixedDelay": "2s", "percentage": {"numerator": 550, "denominator": "TEN_THOUSAND"}},
    "abort": {"httpStatus": 503, "percentage": {"numerator": 10}},
    "headers": [{"name": "x-kuma-tags", "safeRegexMatch": {"regex": ".*&kuma.io/service=.*"}}]})"))
      << filters.dump(2);
  EXPECT_EQ(filters[0]["name"], "envoy.filters.http.fault");
  EXPECT_EQ(filters[2]["name"], "envoy.filters.http.router");
}

TEST(LegacyFaultInjection, CallersSendTheirTagsWhileTheMeshHasOne) {
  // web's outbound to backend carries x-kuma-tags (Kuma's IsXKumaTagsUsed) with a FaultInjection
  // in the mesh, and not without one.
  auto tagsHeader = [](const GeneratedResources& out) {
    const nlohmann::json l = testing::resourceJson(out, kListenerType, "outbound:127.0.0.1:10001");
    return l["filterChains"][0]["filters"].back()["typedConfig"]["routeConfig"].value(
        "requestHeadersToAdd", nlohmann::json::array());
  };
  EXPECT_EQ(tagsHeader(testing::legacy::generateWeb({kFiOther}, false)),
            nlohmann::json::parse(R"([{"header": {"key": "x-kuma-tags",
              "value": "&kuma.io/protocol=http&&kuma.io/service=web&"}}])"));
  EXPECT_EQ(tagsHeader(testing::legacy::generateWeb({}, false)), nlohmann::json::array());
}

}  // namespace
}  // namespace kuma::xds
