// MeshFaultInjection's xDS plugin, through the generator with the registered plugin table: the
// HTTP inbound listener of tools/conformance/cases/meshfaultinjection (`from`, Kuma's legacy
// path), meshfaultinjection-from-subsets (legacy subsets of callers with x-kuma-tags matchers)
// and meshfaultinjection-rules (`rules` with SPIFFE ID/SNI matches) as golden files checked
// against Kuma 2.14.3's config dumps of those cases; Kuma's percentage conversion; TCP inbounds and
// inbounds of other services left alone; faults before MeshRateLimit's filter.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/filters/http/fault/v3/fault.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "gtest/gtest.h"
#include "source/plugins/policies/meshfaultinjection/xds_configurer.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using envoy::type::v3::FractionalPercent;

constexpr char kWebInbound[] = "inbound:127.0.0.1:8080";
constexpr char kOtherInbound[] = "inbound:127.0.0.1:8081";
constexpr char kTcpInbound[] = "inbound:127.0.0.1:5432";

// The policies of the conformance cases meshfaultinjection and meshfaultinjection-rules.
const char kFromPolicy[] = R"(type: MeshFaultInjection
mesh: default
name: web-faults
spec:
  targetRef: {kind: MeshService, name: web}
  from:
  - targetRef: {kind: Mesh}
    default:
      http:
      - abort: {httpStatus: 503, percentage: 10}
      - delay: {value: 2s, percentage: 5}
      - responseBandwidth: {limit: 2Mbps, percentage: "12.5"}
        delay: {value: 100ms, percentage: "0.125"}
)";
const char kRulesPolicy[] = R"(type: MeshFaultInjection
mesh: default
name: web-faults
labels: {kuma.io/zone: default}
spec:
  targetRef: {kind: Mesh}
  rules:
  - default:
      http:
      - abort: {httpStatus: 503, percentage: 10}
      - delay: {value: 2s, percentage: 5}
  - matches: [{spiffeID: {type: Prefix, value: "spiffe://default/back"}}]
    default:
      http:
      - abort: {httpStatus: 500, percentage: "2.5"}
)";
const char kRulesExactPolicy[] = R"(type: MeshFaultInjection
mesh: default
name: web-faults-exact
labels: {kuma.io/zone: default}
spec:
  targetRef: {kind: MeshService, name: web}
  rules:
  - matches:
    - spiffeID: {type: Exact, value: "spiffe://default/backend"}
      sni: {type: Exact, value: web.default.svc}
    default:
      http:
      - responseBandwidth: {limit: 50kbps, percentage: 100}
)";

std::string webDataplane() {
  return testing::dataplaneYaml("web", "127.0.0.1", R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  - {port: 8081, servicePort: 18081, tags: {kuma.io/service: web-admin, kuma.io/protocol: http}}
  - {port: 5432, servicePort: 15432, tags: {kuma.io/service: web-db, kuma.io/protocol: tcp}}
  outbound:
  - {port: 10001, tags: {kuma.io/service: backend}}
)");
}

GeneratedResources generateFor(const std::vector<std::string>& policies) {
  std::vector<std::string> yamls = {webDataplane(),
                                    testing::dataplaneYaml("backend-1", "127.0.0.2", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http}}
)")};
  yamls.insert(yamls.end(), policies.begin(), policies.end());
  return testing::generateFromYamls(yamls, "web");
}

// The listener `name` as JSON equals testdata/<golden>.golden.json (KUMA_UPDATE_GOLDEN=1 writes).
void expectGolden(const GeneratedResources& out, const std::string& name,
                  const std::string& golden) {
  testing::expectResourceGolden(
      out, kListenerType, name,
      test::sourcePath("source/plugins/policies/meshfaultinjection/testdata") /
          (golden + ".golden.json"));
}

HttpConnectionManager hcmOf(const GeneratedResources& out, const std::string& name) {
  const Listener l = testing::decode<Listener>(out, kListenerType, name);
  HttpConnectionManager hcm;
  EXPECT_TRUE(l.filter_chains(0).filters(0).typed_config().UnpackTo(&hcm));
  return hcm;
}

std::vector<std::string> httpFilterNames(const HttpConnectionManager& hcm) {
  std::vector<std::string> out;
  for (const auto& f : hcm.http_filters()) {
    out.push_back(f.name());
  }
  return out;
}

TEST(MeshFaultInjectionXds, FromAsKumaRendersIt) {
  const GeneratedResources out = generateFor({kFromPolicy});
  expectGolden(out, kWebInbound, "xds-from-inbound");
  const HttpConnectionManager hcm = hcmOf(out, kWebInbound);
  EXPECT_EQ(httpFilterNames(hcm),
            (std::vector<std::string>{"envoy.filters.http.fault", "envoy.filters.http.fault",
                                      "envoy.filters.http.fault", "envoy.filters.http.router"}));
  envoy::extensions::filters::http::fault::v3::HTTPFault abort;
  ASSERT_TRUE(hcm.http_filters(0).typed_config().UnpackTo(&abort));
  EXPECT_EQ(abort.abort().http_status(), 503u);
  EXPECT_EQ(abort.abort().percentage().numerator(), 10u);
  EXPECT_EQ(abort.abort().percentage().denominator(), FractionalPercent::HUNDRED);
  EXPECT_FALSE(abort.has_delay());
  envoy::extensions::filters::http::fault::v3::HTTPFault delay;
  ASSERT_TRUE(hcm.http_filters(1).typed_config().UnpackTo(&delay));
  EXPECT_EQ(delay.delay().fixed_delay().seconds(), 2);
  EXPECT_EQ(delay.delay().percentage().numerator(), 5u);

  // Only the inbound of the targeted service; never a TCP inbound.
  EXPECT_EQ(httpFilterNames(hcmOf(out, kOtherInbound)),
            (std::vector<std::string>{"envoy.filters.http.router"}));
  const Listener tcp = testing::decode<Listener>(out, kListenerType, kTcpInbound);
  EXPECT_EQ(tcp.filter_chains(0).filters(0).name(), "envoy.filters.network.tcp_proxy");
}

TEST(MeshFaultInjectionXds, RulesAsKumaRenderThem) {
  const GeneratedResources out = generateFor({kRulesPolicy, kRulesExactPolicy});
  expectGolden(out, kWebInbound, "xds-rules-inbound");
  // Most specific match first, then the catch-all rule's two faults; named by the policy KRI
  // (Kuma's control plane labels every policy with its zone, `default` here).
  EXPECT_EQ(httpFilterNames(hcmOf(out, kWebInbound)),
            (std::vector<std::string>{
                "kri_mfi_default_default__web-faults-exact_",
                "kri_mfi_default_default__web-faults_", "kri_mfi_default_default__web-faults_",
                "kri_mfi_default_default__web-faults_", "envoy.filters.http.router"}));
  // The Mesh-wide policy reaches the other HTTP inbound, the MeshService one does not.
  EXPECT_EQ(httpFilterNames(hcmOf(out, kOtherInbound)).size(), 4u);
}

TEST(MeshFaultInjectionXds, KumaPercentageConversion) {
  auto expect = [](double p, uint32_t numerator, FractionalPercent::DenominatorType d) {
    const FractionalPercent f = policies::meshfaultinjection::fractionalPercentOf(p);
    EXPECT_EQ(f.numerator(), numerator) << p;
    EXPECT_EQ(f.denominator(), d) << p;
  };
  expect(10, 10, FractionalPercent::HUNDRED);
  expect(100, 100, FractionalPercent::HUNDRED);
  expect(0, 0, FractionalPercent::HUNDRED);
  expect(12.5, 1250, FractionalPercent::TEN_THOUSAND);
  expect(2.5, 250, FractionalPercent::TEN_THOUSAND);
  expect(0.125, 1250, FractionalPercent::MILLION);
  expect(33.3333, 333333, FractionalPercent::MILLION);
}

// Kuma's legacy subsets (tools/conformance/cases/meshfaultinjection-from-subsets): `from` items
// for every caller, callers of `backend`, callers tagged `version: v2` and callers of `api.v1`
// become eight rules over two cliques ({Mesh, backend, v2}, {Mesh, v2, api.v1}), most positive
// tags first, each fault with x-kuma-tags header matchers (negated tags inverted).
TEST(MeshFaultInjectionXds, FromSubsetsAsKumaRendersThem) {
  const GeneratedResources out = generateFor({R"(type: MeshFaultInjection
mesh: default
name: web-faults
spec:
  targetRef: {kind: MeshService, name: web}
  from:
  - targetRef: {kind: Mesh}
    default:
      http:
      - abort: {httpStatus: 503, percentage: 10}
  - targetRef: {kind: MeshService, name: backend}
    default:
      http:
      - delay: {value: 2s, percentage: 5}
  - targetRef: {kind: MeshSubset, tags: {version: v2}}
    default:
      http:
      - abort: {httpStatus: 500, percentage: "2.5"}
  - targetRef: {kind: MeshService, name: api.v1}
    default:
      http:
      - responseBandwidth: {limit: 1Gbps, percentage: 50}
)"});
  expectGolden(out, kWebInbound, "xds-from-subsets-inbound");
  const HttpConnectionManager hcm = hcmOf(out, kWebInbound);
  ASSERT_EQ(hcm.http_filters_size(), 9);
  struct Expected {
    std::string kind;                                   // abort503, abort500, delay, bandwidth
    std::vector<std::pair<std::string, bool>> headers;  // regex, inverted
  };
  const std::string api = ".*&kuma.io/service=[^&]*api\\.v1[,&].*";
  const std::string backend = ".*&kuma.io/service=[^&]*backend[,&].*";
  const std::string v2 = ".*&version=[^&]*v2[,&].*";
  const std::string apiV2 = ".*&kuma.io/service=[^&]*api\\.v1[,&].*&version=[^&]*v2[,&].*";
  const std::string backendV2 = ".*&kuma.io/service=[^&]*backend[,&].*&version=[^&]*v2[,&].*";
  const std::vector<Expected> expected = {
      {"bandwidth", {{apiV2, false}}},
      {"abort500", {{backendV2, false}}},
      {"abort500", {{v2, false}, {api, true}}},
      {"bandwidth", {{api, false}, {v2, true}}},
      {"abort500", {{v2, false}, {backend, true}}},
      {"delay", {{backend, false}, {v2, true}}},
      {"abort503", {{apiV2, true}}},
      {"abort503", {{backendV2, true}}},
  };
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(hcm.http_filters(i).name(), "envoy.filters.http.fault");
    envoy::extensions::filters::http::fault::v3::HTTPFault fault;
    ASSERT_TRUE(hcm.http_filters(i).typed_config().UnpackTo(&fault));
    const std::string kind = fault.has_delay()                    ? "delay"
                             : fault.has_response_rate_limit()    ? "bandwidth"
                             : fault.abort().http_status() == 503 ? "abort503"
                                                                  : "abort500";
    EXPECT_EQ(kind, expected[i].kind);
    ASSERT_EQ(fault.headers_size(), static_cast<int>(expected[i].headers.size()));
    for (int h = 0; h < fault.headers_size(); ++h) {
      EXPECT_EQ(fault.headers(h).name(), "x-kuma-tags");
      EXPECT_EQ(fault.headers(h).string_match().safe_regex().regex(), expected[i].headers[h].first);
      EXPECT_EQ(fault.headers(h).invert_match(), expected[i].headers[h].second);
    }
  }
  EXPECT_EQ(hcm.http_filters(8).name(), "envoy.filters.http.router");
}

// Callers of one service only: the rule of the negated subset has no item and no filter.
TEST(MeshFaultInjectionXds, FromOneServiceOnly) {
  const GeneratedResources out = generateFor({R"(type: MeshFaultInjection
mesh: default
name: from-backend
spec:
  targetRef: {kind: Mesh}
  from:
  - targetRef: {kind: MeshService, name: backend}
    default:
      http:
      - abort: {httpStatus: 500, percentage: 50}
)"});
  const HttpConnectionManager hcm = hcmOf(out, kWebInbound);
  ASSERT_EQ(hcm.http_filters_size(), 2);
  envoy::extensions::filters::http::fault::v3::HTTPFault fault;
  ASSERT_TRUE(hcm.http_filters(0).typed_config().UnpackTo(&fault));
  ASSERT_EQ(fault.headers_size(), 1);
  EXPECT_EQ(fault.headers(0).string_match().safe_regex().regex(),
            ".*&kuma.io/service=[^&]*backend[,&].*");
  EXPECT_FALSE(fault.headers(0).invert_match());
}

// Hostile input: 40 `from` items with a tag key each all intersect, one clique of 2^40 tag
// combinations in Kuma's algorithm; the bounds (16 items, 1024 combinations) keep generation
// quick and leave the Mesh-wide policy's other inbound config alone.
TEST(MeshFaultInjectionXds, LegacySubsetsAreBounded) {
  std::string policy = R"(type: MeshFaultInjection
mesh: default
name: many
spec:
  targetRef: {kind: MeshService, name: web}
  from:
)";
  for (int i = 0; i < 40; ++i) {
    policy += "  - targetRef: {kind: MeshSubset, tags: {k" + std::to_string(i) +
              ": v}}\n    default: {http: [{abort: {httpStatus: 500, percentage: 1}}]}\n";
  }
  const auto start = std::chrono::steady_clock::now();
  const GeneratedResources out = generateFor({policy});
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(httpFilterNames(hcmOf(out, kWebInbound)),
            (std::vector<std::string>{"envoy.filters.http.router"}));
}

// The callers' side: with a MeshFaultInjection anywhere in the mesh, HTTP outbounds send the
// proxy's tags in x-kuma-tags (Kuma's IsXKumaTagsUsed); without one they do not.
TEST(MeshFaultInjectionXds, OutboundsSendTheTagsHeaderWhileTheMeshHasFaults) {
  auto routeConfigOf = [](const GeneratedResources& out) {
    return hcmOf(out, "outbound:127.0.0.1:10001").route_config();
  };
  EXPECT_EQ(routeConfigOf(generateFor({})).request_headers_to_add_size(), 0);
  // A policy that selects another proxy only still turns the header on.
  const GeneratedResources out = generateFor({R"(type: MeshFaultInjection
mesh: default
name: elsewhere
spec:
  targetRef: {kind: MeshService, name: backend}
  from:
  - targetRef: {kind: Mesh}
    default: {http: [{abort: {httpStatus: 500, percentage: 1}}]}
)"});
  const auto rc = routeConfigOf(out);
  ASSERT_EQ(rc.request_headers_to_add_size(), 1);
  EXPECT_EQ(rc.request_headers_to_add(0).header().key(), "x-kuma-tags");
  EXPECT_EQ(rc.request_headers_to_add(0).header().value(),
            "&kuma.io/protocol=http,tcp&&kuma.io/service=web,web-admin,web-db&");
  // The proxy's own inbound has no fault (the policy targets backend).
  EXPECT_EQ(httpFilterNames(hcmOf(out, kWebInbound)),
            (std::vector<std::string>{"envoy.filters.http.router"}));
}

TEST(MeshFaultInjectionXds, FaultsBeforeTheRateLimit) {
  const GeneratedResources out = generateFor({kFromPolicy, R"(type: MeshRateLimit
mesh: default
name: rl
spec:
  targetRef: {kind: Mesh}
  from:
  - targetRef: {kind: Mesh}
    default:
      local:
        http: {requestRate: {num: 100, interval: 1s}}
)"});
  EXPECT_EQ(httpFilterNames(hcmOf(out, kWebInbound)),
            (std::vector<std::string>{
                "envoy.filters.http.fault", "envoy.filters.http.fault", "envoy.filters.http.fault",
                "envoy.filters.http.local_ratelimit", "envoy.filters.http.router"}));
}

}  // namespace
}  // namespace kuma::xds
