// MeshRateLimit's xDS plugin, through the generator with the registered plugin table: the
// inbound listeners of tools/conformance/cases/meshratelimit (an HTTP and a TCP inbound, a policy
// per service) as golden files checked against Kuma 2.14.3's config dump of that case: the HTTP
// local rate limit filter before the router, its per-route bucket with the 429 and the response
// headers, the connection rate limit first on each chain; policies applied per inbound; every
// mTLS chain configured; disabled confs and proxies without a policy left alone.

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/local_ratelimit/v3/local_rate_limit.pb.h"
#include "gtest/gtest.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
namespace http_rl = envoy::extensions::filters::http::local_ratelimit::v3;
namespace tcp_rl = envoy::extensions::filters::network::local_ratelimit::v3;

constexpr char kHttpInbound[] = "inbound:127.0.0.1:8080";
constexpr char kTcpInbound[] = "inbound:127.0.0.1:5432";

// The policies of the conformance case meshratelimit.
const char kWebPolicy[] = R"(type: MeshRateLimit
mesh: default
name: web-rate-limit
spec:
  targetRef: {kind: MeshService, name: web}
  from:
  - targetRef: {kind: Mesh}
    default:
      local:
        http:
          requestRate: {num: 100, interval: 1s}
          onRateLimit:
            status: 429
            headers:
              add: [{name: x-kuma-rate-limited, value: "true"}]
              set: [{name: x-rate-limit-reason, value: "local,inbound"}]
        tcp:
          connectionRate: {num: 10, interval: 1m}
)";
const char kDbPolicy[] = R"(type: MeshRateLimit
mesh: default
name: db-rate-limit
spec:
  targetRef: {kind: MeshService, name: web-db}
  rules:
  - default:
      local:
        tcp:
          connectionRate: {num: 5, interval: 10s}
)";

std::string webDataplane() {
  return testing::dataplaneYaml("web", "127.0.0.1", R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  - {port: 5432, servicePort: 15432, tags: {kuma.io/service: web-db, kuma.io/protocol: tcp}}
  outbound:
  - {port: 10001, tags: {kuma.io/service: backend}}
)");
}

GeneratedResources generateFor(const std::vector<std::string>& policies,
                               const std::string& meshYaml = testing::meshYaml()) {
  std::vector<std::string> yamls = {meshYaml, webDataplane(),
                                    testing::dataplaneYaml("backend-1", "127.0.0.2", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http}}
)")};
  yamls.insert(yamls.end(), policies.begin(), policies.end());
  ProxyOptions options;
  options.tls = testing::fakeTlsSecrets();
  return testing::generateFromYamls(yamls, "web", options);
}

// The listener `name` as JSON equals testdata/<golden>.golden.json (KUMA_UPDATE_GOLDEN=1 writes).
void expectGolden(const GeneratedResources& out, const std::string& name,
                  const std::string& golden) {
  testing::expectResourceGolden(out, kListenerType, name,
                                test::sourcePath("source/plugins/policies/meshratelimit/testdata") /
                                    (golden + ".golden.json"));
}

HttpConnectionManager hcmOf(const envoy::config::listener::v3::FilterChain& chain) {
  HttpConnectionManager hcm;
  for (const auto& f : chain.filters()) {
    if (f.name() == "envoy.filters.network.http_connection_manager") {
      EXPECT_TRUE(f.typed_config().UnpackTo(&hcm));
    }
  }
  return hcm;
}

std::vector<std::string> filterNames(const envoy::config::listener::v3::FilterChain& chain) {
  std::vector<std::string> out;
  for (const auto& f : chain.filters()) {
    out.push_back(f.name());
  }
  return out;
}

std::vector<std::string> httpFilterNames(const HttpConnectionManager& hcm) {
  std::vector<std::string> out;
  for (const auto& f : hcm.http_filters()) {
    out.push_back(f.name());
  }
  return out;
}

constexpr char kTcpFilter[] = "envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit";

TEST(MeshRateLimitXds, InboundListenersAsKumaRendersThem) {
  const GeneratedResources out = generateFor({kWebPolicy, kDbPolicy});
  expectGolden(out, kHttpInbound, "xds-http-inbound");
  expectGolden(out, kTcpInbound, "xds-tcp-inbound");

  const Listener http = testing::decode<Listener>(out, kListenerType, kHttpInbound);
  ASSERT_EQ(http.filter_chains_size(), 1);
  EXPECT_EQ(
      filterNames(http.filter_chains(0)),
      (std::vector<std::string>{kTcpFilter, "envoy.filters.network.http_connection_manager"}));
  const HttpConnectionManager hcm = hcmOf(http.filter_chains(0));
  EXPECT_EQ(httpFilterNames(hcm), (std::vector<std::string>{"envoy.filters.http.local_ratelimit",
                                                            "envoy.filters.http.router"}));
  http_rl::LocalRateLimit filterConfig;
  ASSERT_TRUE(hcm.http_filters(0).typed_config().UnpackTo(&filterConfig));
  EXPECT_EQ(filterConfig.stat_prefix(), "rate_limit");
  EXPECT_FALSE(filterConfig.has_token_bucket());
  http_rl::LocalRateLimit perRoute;
  const auto& route = hcm.route_config().virtual_hosts(0).routes(0);
  ASSERT_TRUE(
      route.typed_per_filter_config().at("envoy.filters.http.local_ratelimit").UnpackTo(&perRoute));
  EXPECT_EQ(perRoute.token_bucket().max_tokens(), 100u);
  EXPECT_EQ(perRoute.token_bucket().tokens_per_fill().value(), 100u);
  EXPECT_EQ(perRoute.token_bucket().fill_interval().seconds(), 1);
  EXPECT_EQ(perRoute.status().code(), envoy::type::v3::TooManyRequests);
  ASSERT_EQ(perRoute.response_headers_to_add_size(), 3);
  EXPECT_EQ(perRoute.response_headers_to_add(2).header().value(), "inbound");

  // The TCP inbound: only its own policy (web's selects the proxy, not this inbound).
  const Listener tcp = testing::decode<Listener>(out, kListenerType, kTcpInbound);
  EXPECT_EQ(filterNames(tcp.filter_chains(0)),
            (std::vector<std::string>{kTcpFilter, "envoy.filters.network.tcp_proxy"}));
  tcp_rl::LocalRateLimit tcpLimit;
  ASSERT_TRUE(tcp.filter_chains(0).filters(0).typed_config().UnpackTo(&tcpLimit));
  EXPECT_EQ(tcpLimit.stat_prefix(), "tcp_rate_limit");
  EXPECT_EQ(tcpLimit.token_bucket().max_tokens(), 5u);
  EXPECT_EQ(tcpLimit.token_bucket().fill_interval().seconds(), 10);
}

TEST(MeshRateLimitXds, NoPolicyDisabledOrNoRateLeaveTheListenersAlone) {
  const GeneratedResources plain = generateFor({});
  const std::vector<std::string> disabled = {R"(type: MeshRateLimit
mesh: default
name: off
spec:
  targetRef: {kind: Mesh}
  from:
  - targetRef: {kind: Mesh}
    default:
      local:
        http: {disabled: true, requestRate: {num: 1, interval: 1s}}
        tcp: {disabled: true, connectionRate: {num: 1, interval: 1s}}
)"};
  const GeneratedResources off = generateFor(disabled);
  for (const char* name : {kHttpInbound, kTcpInbound}) {
    EXPECT_EQ(plain.find(kListenerType, name)->serialized,
              off.find(kListenerType, name)->serialized)
        << name;
    const Listener l = testing::decode<Listener>(plain, kListenerType, name);
    EXPECT_EQ(filterNames(l.filter_chains(0)).size(), 1u) << name;
  }
  const Listener http = testing::decode<Listener>(plain, kListenerType, kHttpInbound);
  EXPECT_EQ(httpFilterNames(hcmOf(http.filter_chains(0))),
            (std::vector<std::string>{"envoy.filters.http.router"}));
}

// The conf of the policy applied last wins (of two MeshService policies, the one whose name sorts
// first, as in Kuma); a rule with `matches` is not a catch-all.
TEST(MeshRateLimitXds, MergedCatchAllConf) {
  const GeneratedResources out = generateFor({kWebPolicy, R"(type: MeshRateLimit
mesh: default
name: a-web-strict
spec:
  targetRef: {kind: MeshService, name: web}
  rules:
  - default:
      local:
        http:
          requestRate: {num: 7, interval: 2s}
  - matches: [{spiffeID: {type: Exact, value: "spiffe://default/backend"}}]
    default:
      local:
        http:
          requestRate: {num: 1, interval: 1s}
)"});
  const Listener http = testing::decode<Listener>(out, kListenerType, kHttpInbound);
  const HttpConnectionManager hcm = hcmOf(http.filter_chains(0));
  http_rl::LocalRateLimit perRoute;
  ASSERT_TRUE(hcm.route_config()
                  .virtual_hosts(0)
                  .routes(0)
                  .typed_per_filter_config()
                  .at("envoy.filters.http.local_ratelimit")
                  .UnpackTo(&perRoute));
  EXPECT_EQ(perRoute.token_bucket().max_tokens(), 7u);
  EXPECT_EQ(perRoute.token_bucket().fill_interval().seconds(), 2);
  EXPECT_EQ(perRoute.status().code(), envoy::type::v3::TooManyRequests);  // from web-rate-limit
}

TEST(MeshRateLimitXds, EveryChainOfAPermissiveMtlsInbound) {
  const GeneratedResources out =
      generateFor({kWebPolicy, kDbPolicy}, testing::mtlsMeshYaml("PERMISSIVE"));
  for (const char* name : {kHttpInbound, kTcpInbound}) {
    const Listener l = testing::decode<Listener>(out, kListenerType, name);
    ASSERT_EQ(l.filter_chains_size(), 3) << name;
    for (const auto& chain : l.filter_chains()) {
      // (MeshTrafficPermission, after this plugin, puts its RBAC first on the mTLS chain.)
      const std::vector<std::string> names = filterNames(chain);
      EXPECT_EQ(std::count(names.begin(), names.end(), kTcpFilter), 1) << name;
      if (std::string(name) == kHttpInbound) {
        const std::vector<std::string> http = httpFilterNames(hcmOf(chain));
        ASSERT_GE(http.size(), 2u);
        EXPECT_EQ(http[http.size() - 2], "envoy.filters.http.local_ratelimit");
      }
    }
  }
}

}  // namespace
}  // namespace kuma::xds
