// The legacy RateLimit (source/plugins/policies/ratelimit/xds_configurer.h) on web's HTTP inbound
// and its legacy-path outbounds. Expected values are Kuma 2.14.3's, read from its Envoy config
// dump of the conformance case legacy-ratelimit (tools/conformance/cases/legacy-ratelimit/).

#include "gtest/gtest.h"
#include "source/plugins/policies/ratelimit/xds_configurer.h"
#include "test/test_common/golden.h"
#include "test/xds/generator/legacy_fixtures.h"

namespace kuma::xds {
namespace {

const std::string kListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener";

const char kRlAll[] = R"(type: RateLimit
mesh: default
name: rl-all
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: web}}]
conf:
  http:
    requests: 100
    interval: 1s
    onRateLimit:
      status: 423
      headers:
      - {key: x-rate-limited, value: "yes", append: true}
      - {key: x-limit, value: "100"}
)";

const char kRlFrontend[] = R"(type: RateLimit
mesh: default
name: rl-frontend
sources:
- match: {kuma.io/service: frontend, version: v2}
- match: {kuma.io/service: backend}
destinations: [{match: {kuma.io/service: web}}]
conf:
  http: {requests: 5, interval: 10s}
)";

const char kRlNoHttp[] = R"(type: RateLimit
mesh: default
name: rl-no-http
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: web}}]
conf: {}
)";

const char kRlOutbound[] = R"(type: RateLimit
mesh: default
name: rl-outbound
sources: [{match: {kuma.io/service: web}}]
destinations: [{match: {kuma.io/service: backend}}, {match: {kuma.io/service: db}}]
conf:
  http: {requests: 10, interval: 1s}
)";

const char kRlOther[] = R"(type: RateLimit
mesh: default
name: rl-other
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: other}}]
conf:
  http: {requests: 1, interval: 1s}
)";

nlohmann::json hcmOf(const GeneratedResources& out, const std::string& listener) {
  const nlohmann::json l = testing::resourceJson(out, kListenerType, listener);
  return l["filterChains"][0]["filters"].back()["typedConfig"];
}

std::vector<std::string> filterNames(const nlohmann::json& hcm) {
  std::vector<std::string> names;
  for (const auto& f : hcm["httpFilters"]) {
    names.push_back(f["name"]);
  }
  return names;
}

TEST(LegacyRateLimit, InboundRoutesPerPolicyMostSpecificSourceFirstAsKuma) {
  // No TrafficRoute: Kuma's inbound generator applies RateLimits on any mesh.
  const GeneratedResources out =
      testing::legacy::generateWeb({kRlAll, kRlFrontend, kRlNoHttp, kRlOutbound, kRlOther}, false);
  const nlohmann::json hcm = hcmOf(out, "inbound:127.0.0.1:8080");
  EXPECT_EQ(filterNames(hcm), (std::vector<std::string>{"envoy.filters.http.local_ratelimit",
                                                        "envoy.filters.http.router"}));
  EXPECT_EQ(hcm["httpFilters"][0]["typedConfig"], nlohmann::json::parse(R"({
    "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
    "statPrefix": "rate_limit"})"));
  const nlohmann::json routes = hcm["routeConfig"]["virtualHosts"][0]["routes"];
  ASSERT_EQ(routes.size(), 3u) << routes.dump(2);
  const nlohmann::json fallback = routes[2];
  EXPECT_FALSE(fallback.contains("typedPerFilterConfig"));
  EXPECT_FALSE(fallback["match"].contains("headers"));
  // rl-frontend (a two-tag first source) before rl-all; rl-no-http adds no route.
  EXPECT_EQ(routes[0]["match"]["headers"], nlohmann::json::parse(R"j([{"name": "x-kuma-tags",
    "safeRegexMatch": {"regex":
      "(.*&kuma.io/service=[^&]*frontend[,&].*&version=[^&]*v2[,&].*|.*&kuma.io/service=[^&]*backend[,&].*)"}}])j"));
  EXPECT_EQ(routes[0]["typedPerFilterConfig"], nlohmann::json::parse(R"({
    "envoy.filters.http.local_ratelimit": {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
      "statPrefix": "rate_limit",
      "tokenBucket": {"maxTokens": 5, "tokensPerFill": 5, "fillInterval": "10s"},
      "filterEnabled": {"defaultValue": {"numerator": 100}, "runtimeKey": "local_rate_limit_enabled"},
      "filterEnforced": {"defaultValue": {"numerator": 100},
                         "runtimeKey": "local_rate_limit_enforced"}}})"));
  EXPECT_EQ(routes[1]["match"]["headers"], nlohmann::json::parse(R"([{"name": "x-kuma-tags",
    "safeRegexMatch": {"regex": ".*&kuma.io/service=.*"}}])"));
  EXPECT_EQ(routes[1]["typedPerFilterConfig"], nlohmann::json::parse(R"({
    "envoy.filters.http.local_ratelimit": {
      "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
      "statPrefix": "rate_limit",
      "status": {"code": "Locked"},
      "tokenBucket": {"maxTokens": 100, "tokensPerFill": 100, "fillInterval": "1s"},
      "filterEnabled": {"defaultValue": {"numerator": 100}, "runtimeKey": "local_rate_limit_enabled"},
      "filterEnforced": {"defaultValue": {"numerator": 100},
                         "runtimeKey": "local_rate_limit_enforced"},
      "responseHeadersToAdd": [
        {"header": {"key": "x-rate-limited", "value": "yes"}},
        {"header": {"key": "x-limit", "value": "100"},
         "appendAction": "OVERWRITE_IF_EXISTS_OR_ADD"}]}})"));
  // The limited routes are the default route plus their match and limit.
  for (int i = 0; i < 2; ++i) {
    nlohmann::json route = routes[i];
    route.erase("typedPerFilterConfig");
    route["match"].erase("headers");
    EXPECT_EQ(route, fallback) << i;
  }
  testing::expectResourceGolden(
      out, kListenerType, "inbound:127.0.0.1:8080",
      test::sourcePath("source/plugins/policies/ratelimit/testdata") / "xds-inbound.golden.json");
}

TEST(LegacyRateLimit, NoMatchingPolicyNoFilter) {
  const GeneratedResources out = testing::legacy::generateWeb({kRlOther, kRlOutbound}, false);
  EXPECT_EQ(filterNames(hcmOf(out, "inbound:127.0.0.1:8080")),
            (std::vector<std::string>{"envoy.filters.http.router"}));
}

TEST(LegacyRateLimit, LegacyPathHttpOutboundGetsTheFilterWithoutLimit) {
  const GeneratedResources out = testing::legacy::generateWeb({kRlOutbound});
  const nlohmann::json hcm = hcmOf(out, "outbound:127.0.0.1:10001");
  EXPECT_EQ(filterNames(hcm), (std::vector<std::string>{"envoy.filters.http.local_ratelimit",
                                                        "envoy.filters.http.router"}));
  EXPECT_FALSE(hcm["routeConfig"]["virtualHosts"][0]["routes"][0].contains("typedPerFilterConfig"));
  // Callers send x-kuma-tags while the mesh has a RateLimit (Kuma's IsXKumaTagsUsed).
  EXPECT_EQ(hcm["routeConfig"]["requestHeadersToAdd"][0]["header"]["key"], "x-kuma-tags");
  // The TCP outbound (db) is untouched.
  const nlohmann::json db = hcmOf(out, "outbound:127.0.0.1:10002");
  EXPECT_EQ(db["@type"],
            "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy");
}

TEST(LegacyRateLimit, NoOutboundFilterOffTheLegacyPathOrWithZoneEgress) {
  EXPECT_EQ(filterNames(hcmOf(testing::legacy::generateWeb({kRlOutbound}, false),
                              "outbound:127.0.0.1:10001")),
            (std::vector<std::string>{"envoy.filters.http.router"}));
  const char kZoneEgressMesh[] = R"(type: Mesh
name: default
routing: {zoneEgress: true}
)";
  EXPECT_EQ(filterNames(hcmOf(testing::legacy::generateWeb({kZoneEgressMesh, kRlOutbound}),
                              "outbound:127.0.0.1:10001")),
            (std::vector<std::string>{"envoy.filters.http.router"}));
}

TEST(LegacyRateLimit, HttpConfigurationAsKumaReadsIt) {
  mesh::v1alpha1::RateLimit spec;
  EXPECT_EQ(policies::ratelimit::httpRateLimitOf(spec).requests, 0u);
  auto* http = spec.mutable_conf()->mutable_http();
  http->set_requests(7);
  http->mutable_interval()->set_nanos(500'000'000);
  auto* header = http->mutable_onratelimit()->add_headers();
  header->set_key("k");
  header->set_value("v");
  header->mutable_append()->set_value(false);
  const auto limit = policies::ratelimit::httpRateLimitOf(spec);
  EXPECT_EQ(limit.requests, 7u);
  EXPECT_EQ(limit.interval, std::chrono::milliseconds(500));
  EXPECT_EQ(limit.status, 0u);  // Envoy's 429
  ASSERT_EQ(limit.headers.size(), 1u);
  EXPECT_FALSE(limit.headers[0].append);
}

}  // namespace
}  // namespace kuma::xds
