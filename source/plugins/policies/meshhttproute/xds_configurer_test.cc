// Tests of the MeshHTTPRoute xDS plugin (order 100) through the real generator and plugin table:
// the Envoy routes, split clusters and their ClusterLoadAssignments must be what Kuma 2.14.3
// generates (expected values transcribed from Kuma's config dumps of the conformance cases
// meshhttproute-split, meshhttproute-matches and meshhttproute-mtls), plus Kuma's naming and rule
// merge on their own.

#include <string>
#include <vector>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "source/plugins/policies/meshhttproute/xds_configurer.h"
#include "source/plugins/policies/meshtcproute/xds_configurer.h"
#include "test/xds/generator/backend_versions_case.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::policies {
namespace {

using namespace xds::testing::versions;  // NOLINT: the shared case of the routing tests

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;
using xds::kClusterType;
using xds::kEndpointType;
using xds::kListenerType;
namespace cluster_v3 = envoy::config::cluster::v3;
namespace endpoint_v3 = envoy::config::endpoint::v3;
namespace listener_v3 = envoy::config::listener::v3;
namespace route_v3 = envoy::config::route::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;
namespace tls_v3 = envoy::extensions::transport_sockets::tls::v3;

const std::string kSplitRoute = R"(type: MeshHTTPRoute
mesh: default
name: backend-split
spec:
  targetRef: {kind: Mesh}
  to:
  - targetRef: {kind: MeshService, name: backend}
    rules:
    - matches: [{path: {type: PathPrefix, value: /}}]
      default:
        backendRefs:
        - {kind: MeshServiceSubset, name: backend, tags: {version: v1}, weight: 80}
        - {kind: MeshServiceSubset, name: backend, tags: {version: v2}, weight: 20}
)";

// ---- naming and merging on their own ----

TEST(MeshRouteNaming, SplitClusterNamesAreKumas) {
  EXPECT_EQ(meshhttproute::splitClusterName("backend", {{"version", "v1"}}), kV1);
  EXPECT_EQ(meshhttproute::splitClusterName("backend", {{"version", "v2"}}), kV2);
  EXPECT_EQ(meshhttproute::splitClusterName("backend", {}), "backend");
}

TEST(MeshRouteNaming, RouteNamesAreKumasHashOfTheMatches) {
  using nlohmann::json;
  EXPECT_EQ(
      meshhttproute::hashMatches(json::parse(R"([{"path":{"type":"PathPrefix","value":"/"}}])")),
      "9Zuf5Tg79OuZcQITwBbQykxAk2u4fRKrwYn3//AL4Yo=");
  EXPECT_EQ(
      meshhttproute::hashMatches(json::parse(R"([{"path":{"type":"Exact","value":"/exact"}}])")),
      "wRHYYU649EqPNIKty2feNRatjP/hj0+XY3iM+zaoQk4=");
  EXPECT_EQ(meshhttproute::hashMatches(
                json::parse(R"([{"method":"GET","path":{"type":"PathPrefix","value":"/api"}}])")),
            "wlxieXX6oJvAkwLmn3Oe4C+MluntazxoB0rbgGCMtA0=");
  EXPECT_EQ(meshhttproute::hashMatches(
                json::parse(R"([{"headers":[{"name":"x-version","type":"Exact","value":"v2"}]}])")),
            "fjrKI6eBrhwWa8ROXKUvDENcTo4Bgks/dcDxp1k/dSc=");
  EXPECT_EQ(meshhttproute::hashMatches(json::parse(
                R"([{"queryParams":[{"name":"version","type":"Exact","value":"v2"}]}])")),
            "+vlQ9QZx2Bpqccb9a5YSw5hi9qLRFDA7munYd3JWrkE=");
}

TEST(MeshRouteMerge, RulesOfEqualMatchesMergeAndTheHigherPrecedenceRuleComesFirst) {
  using nlohmann::json;
  const json a = json::parse(R"({"to":[{"targetRef":{"kind":"Mesh"},"rules":[
    {"matches":[{"path":{"type":"PathPrefix","value":"/a"}}],
     "default":{"filters":[{"type":"RequestHeaderModifier"}],"backendRefs":[{"kind":"MeshService","name":"x"}]}},
    {"matches":[{"path":{"type":"PathPrefix","value":"/b"}}],"default":{}}]}]})");
  const json b =
      json::parse(R"({"to":[{"targetRef":{"kind":"MeshService","name":"backend"},"rules":[
    {"matches":[{"path":{"type":"PathPrefix","value":"/c"}}],"default":{}},
    {"matches":[{"path":{"type":"PathPrefix","value":"/a"}}],
     "default":{"backendRefs":[{"kind":"MeshService","name":"y"}]}}]}]})");
  const json other = json::parse(R"({"to":[{"targetRef":{"kind":"MeshService","name":"other"},
    "rules":[{"matches":[{"path":{"type":"PathPrefix","value":"/z"}}],"default":{}}]}]})");
  const json conf = meshhttproute::combineRules({&a, &b, &other}, "backend");
  ASSERT_TRUE(conf.contains("rules")) << conf.dump();
  std::vector<std::string> order;
  for (const auto& r : conf["rules"]) {
    order.push_back(r["matches"][0]["path"]["value"]);
  }
  // b's rules first (b applies last: higher precedence), its /a merged over a's /a.
  EXPECT_THAT(order, ElementsAre("/c", "/a", "/b"));
  EXPECT_EQ(conf["rules"][1]["default"]["backendRefs"][0]["name"], "y");
  EXPECT_EQ(conf["rules"][1]["default"]["filters"][0]["type"], "RequestHeaderModifier");
  EXPECT_TRUE(meshhttproute::combineRules({&other}, "backend").is_null());
}

// ---- MeshHTTPRoute through the generator ----

TEST(MeshHttpRouteXds, WeightedSplitByVersionAsKuma) {
  Generated g = generateWeb(caseResources("http", {kSplitRoute}));
  // Kuma: only the two split clusters; no plain `backend` (no route sends to it).
  EXPECT_THAT(outboundClusters(g.out, kClusterType), UnorderedElementsAre(kV1, kV2));
  EXPECT_THAT(outboundClusters(g.out, kEndpointType), UnorderedElementsAre(kV1, kV2));
  EXPECT_THAT(endpointsOf(g.out, kV1), ElementsAre("10.0.0.1:7000"));
  EXPECT_THAT(endpointsOf(g.out, kV2), ElementsAre("10.0.0.2:7000"));
  // The split cluster carries every plugin's cluster settings (as Kuma's: timeouts, breakers).
  const auto c = xds::testing::decode<cluster_v3::Cluster>(g.out, kClusterType, kV1);
  EXPECT_EQ(c.type(), cluster_v3::Cluster::EDS);
  EXPECT_EQ(c.connect_timeout().seconds(), 5);
  ASSERT_EQ(c.circuit_breakers().thresholds_size(), 1);
  EXPECT_EQ(c.circuit_breakers().thresholds(0).max_connections().value(), 1024u);

  const auto routes = outboundRoutes(g.out);
  ASSERT_EQ(routes.size(), 1u);
  expectProtoEq(routes[0], text<route_v3::Route>(std::string(R"(
    name: "9Zuf5Tg79OuZcQITwBbQykxAk2u4fRKrwYn3//AL4Yo="
    match { prefix: "/" }
    route {
      weighted_clusters {
        clusters { name: "backend-154693772bc47249" weight { value: 80 } }
        clusters { name: "backend-5b73b3f4adf20020" weight { value: 20 } }
      })") + kDefaultActionPolicies + "}"));
}

TEST(MeshHttpRouteXds, SplitClustersGetKumasSniAndSanOnAnMtlsMesh) {
  Generated g =
      generateWeb(caseResources("http", {kSplitRoute}, xds::testing::mtlsMeshYaml("STRICT")));
  for (const auto& [name, sni] : std::vector<std::pair<std::string, std::string>>{
           {kV1, "backend{mesh=default,version=v1}"}, {kV2, "backend{mesh=default,version=v2}"}}) {
    const auto c = xds::testing::decode<cluster_v3::Cluster>(g.out, kClusterType, name);
    tls_v3::UpstreamTlsContext tls;
    ASSERT_TRUE(c.transport_socket().typed_config().UnpackTo(&tls)) << c.DebugString();
    EXPECT_EQ(tls.sni(), sni);
    const auto& sans =
        tls.common_tls_context().combined_validation_context().default_validation_context();
    ASSERT_EQ(sans.match_typed_subject_alt_names_size(), 1);
    EXPECT_EQ(sans.match_typed_subject_alt_names(0).matcher().exact(), "spiffe://default/backend");
    EXPECT_THAT(tls.common_tls_context().alpn_protocols(), ElementsAre("kuma"));
  }
}

TEST(MeshHttpRouteXds, MatchesAndFiltersAsKuma) {
  const std::string route = R"(type: MeshHTTPRoute
mesh: default
name: backend-matches
spec:
  targetRef: {kind: Mesh}
  to:
  - targetRef: {kind: MeshService, name: backend}
    rules:
    - matches: [{path: {type: PathPrefix, value: /api}, method: GET}]
      default:
        filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: x-set, value: "1"}]
            add: [{name: x-add, value: a}]
            remove: [x-remove]
        - type: ResponseHeaderModifier
          responseHeaderModifier:
            set: [{name: x-resp, value: r}]
            remove: [server]
        backendRefs: [{kind: MeshServiceSubset, name: backend, tags: {version: v1}, weight: 1}]
    - matches: [{path: {type: Exact, value: /exact}}]
      default:
        backendRefs: [{kind: MeshServiceSubset, name: backend, tags: {version: v2}, weight: 1}]
    - matches: [{headers: [{type: Exact, name: x-version, value: v2}]}]
      default:
        backendRefs: [{kind: MeshServiceSubset, name: backend, tags: {version: v2}, weight: 1}]
    - matches: [{queryParams: [{type: Exact, name: version, value: v2}]}]
      default:
        backendRefs: [{kind: MeshServiceSubset, name: backend, tags: {version: v2}, weight: 1}]
    - matches: [{path: {type: PathPrefix, value: /old}}]
      default:
        filters:
        - type: RequestRedirect
          requestRedirect:
            scheme: https
            hostname: example.com
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}
            statusCode: 301
    - matches: [{path: {type: PathPrefix, value: /rewrite}}]
      default:
        filters:
        - type: URLRewrite
          urlRewrite:
            hostname: rewritten.example.com
            path: {type: ReplacePrefixMatch, replacePrefixMatch: /}
        backendRefs: [{kind: MeshServiceSubset, name: backend, tags: {version: v1}, weight: 1}]
    - matches: [{path: {type: PathPrefix, value: /mirror}}]
      default:
        filters:
        - type: RequestMirror
          requestMirror:
            percentage: "50"
            backendRef: {kind: MeshServiceSubset, name: backend, tags: {version: v2}}
        backendRefs: [{kind: MeshServiceSubset, name: backend, tags: {version: v1}, weight: 1}]
)";
  Generated g = generateWeb(caseResources("http", {route}));
  // The catch-all default route still sends to `backend`: Kuma keeps that cluster.
  EXPECT_THAT(outboundClusters(g.out, kClusterType), UnorderedElementsAre("backend", kV1, kV2));
  EXPECT_THAT(outboundClusters(g.out, kEndpointType), UnorderedElementsAre("backend", kV1, kV2));
  EXPECT_THAT(endpointsOf(g.out, "backend"), ElementsAre("10.0.0.1:7000", "10.0.0.2:7000"));

  const std::string p = kDefaultActionPolicies;
  const std::vector<std::string> expected = {
      R"(name: "wRHYYU649EqPNIKty2feNRatjP/hj0+XY3iM+zaoQk4=" match { path: "/exact" }
         route { cluster: "backend-5b73b3f4adf20020" )" +
          p + "}",
      R"(name: "NYgjL4KySvPecBA0cNJfCppRu2UZN7KdBxzxsxY451A=" match { path: "/rewrite" }
         route { cluster: "backend-154693772bc47249" host_rewrite_literal: "rewritten.example.com"
                 regex_rewrite { pattern { regex: ".*" } substitution: "/" } )" +
          p + "}",
      R"(name: "NYgjL4KySvPecBA0cNJfCppRu2UZN7KdBxzxsxY451A=" match { prefix: "/rewrite/" }
         route { cluster: "backend-154693772bc47249" host_rewrite_literal: "rewritten.example.com"
                 prefix_rewrite: "/" )" +
          p + "}",
      R"(name: "WC1aLH6Dk3L0VokcPL////mrDM4HX1aoGawBt/9P+v0=" match { path: "/mirror" }
         route { cluster: "backend-154693772bc47249"
                 request_mirror_policies { cluster: "backend-5b73b3f4adf20020"
                   runtime_fraction { default_value { numerator: 50 } } } )" +
          p + "}",
      R"(name: "WC1aLH6Dk3L0VokcPL////mrDM4HX1aoGawBt/9P+v0=" match { prefix: "/mirror/" }
         route { cluster: "backend-154693772bc47249"
                 request_mirror_policies { cluster: "backend-5b73b3f4adf20020"
                   runtime_fraction { default_value { numerator: 50 } } } )" +
          p + "}",
      R"(name: "wlxieXX6oJvAkwLmn3Oe4C+MluntazxoB0rbgGCMtA0="
         match { path: "/api" headers { name: ":method" string_match { exact: "GET" } } }
         request_headers_to_add { append_action: OVERWRITE_IF_EXISTS_OR_ADD header { key: "x-set" value: "1" } }
         request_headers_to_add { header { key: "x-add" value: "a" } }
         request_headers_to_remove: "x-remove"
         response_headers_to_add { append_action: OVERWRITE_IF_EXISTS_OR_ADD header { key: "x-resp" value: "r" } }
         response_headers_to_remove: "server"
         route { cluster: "backend-154693772bc47249" )" +
          p + "}",
      R"(name: "wlxieXX6oJvAkwLmn3Oe4C+MluntazxoB0rbgGCMtA0="
         match { prefix: "/api/" headers { name: ":method" string_match { exact: "GET" } } }
         request_headers_to_add { append_action: OVERWRITE_IF_EXISTS_OR_ADD header { key: "x-set" value: "1" } }
         request_headers_to_add { header { key: "x-add" value: "a" } }
         request_headers_to_remove: "x-remove"
         response_headers_to_add { append_action: OVERWRITE_IF_EXISTS_OR_ADD header { key: "x-resp" value: "r" } }
         response_headers_to_remove: "server"
         route { cluster: "backend-154693772bc47249" )" +
          p + "}",
      R"(name: "3LnJNerkamwo9W/K/HclRwV1QR/iumgmPn5DRFphWAc=" match { path: "/old" }
         redirect { host_redirect: "example.com" scheme_redirect: "https"
                    regex_rewrite { pattern { regex: ".*" } substitution: "/new" } })",
      R"(name: "3LnJNerkamwo9W/K/HclRwV1QR/iumgmPn5DRFphWAc=" match { prefix: "/old/" }
         redirect { host_redirect: "example.com" scheme_redirect: "https" prefix_rewrite: "/new" })",
      R"(name: "fjrKI6eBrhwWa8ROXKUvDENcTo4Bgks/dcDxp1k/dSc="
         match { prefix: "/" headers { name: "x-version" string_match { exact: "v2" } } }
         route { cluster: "backend-5b73b3f4adf20020" )" +
          p + "}",
      R"(name: "+vlQ9QZx2Bpqccb9a5YSw5hi9qLRFDA7munYd3JWrkE="
         match { prefix: "/" query_parameters { name: "version" string_match { exact: "v2" } } }
         route { cluster: "backend-5b73b3f4adf20020" )" +
          p + "}",
      R"(name: "9Zuf5Tg79OuZcQITwBbQykxAk2u4fRKrwYn3//AL4Yo=" match { prefix: "/" }
         route { cluster: "backend" )" +
          p + "}",
  };
  const auto routes = outboundRoutes(g.out);
  ASSERT_EQ(routes.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(i);
    expectProtoEq(routes[i], text<route_v3::Route>(expected[i]));
  }
}

TEST(MeshHttpRouteXds, ABackendOfAnotherServiceGetsThatServicesClusterAndEndpoints) {
  const std::string other = xds::testing::dataplaneYaml(
      "other-1", "10.0.0.9",
      "  inbound:\n  - {port: 7000, tags: {kuma.io/service: other, kuma.io/protocol: http}}\n");
  const std::string route = R"(type: MeshHTTPRoute
mesh: default
name: backend-to-other
spec:
  targetRef: {kind: Mesh}
  to:
  - targetRef: {kind: MeshService, name: backend}
    rules:
    - matches: [{path: {type: PathPrefix, value: /}}]
      default:
        backendRefs: [{kind: MeshService, name: other}]
)";
  Generated g =
      generateWeb(caseResources("http", {other, route}, xds::testing::mtlsMeshYaml("STRICT")));
  EXPECT_THAT(outboundClusters(g.out, kClusterType), ::testing::IsEmpty());
  EXPECT_THAT(endpointsOf(g.out, "other"), ElementsAre("10.0.0.9:7000"));
  const auto c = xds::testing::decode<cluster_v3::Cluster>(g.out, kClusterType, "other");
  tls_v3::UpstreamTlsContext tls;
  ASSERT_TRUE(c.transport_socket().typed_config().UnpackTo(&tls));
  EXPECT_EQ(tls.sni(), "other{mesh=default}");
  EXPECT_EQ(tls.common_tls_context()
                .combined_validation_context()
                .default_validation_context()
                .match_typed_subject_alt_names(0)
                .matcher()
                .exact(),
            "spiffe://default/other");
  const auto routes = outboundRoutes(g.out);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].route().cluster(), "other");
  // The proxy carries other's endpoints: it depends on other (the reconciler regenerates it when
  // other's endpoints change), also when its resources come from the context's shared group.
  EXPECT_THAT(g.out.dependencies.services, ElementsAre("backend", "other"));
  auto again = xds::generate(*g.context, *xds::testing::dataplaneOf(*g.context, "web"),
                             xds::testing::withPlugins(xds::ProxyOptions{}));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_THAT(again->dependencies.services, ElementsAre("backend", "other"));
}

TEST(MeshHttpRouteXds, WithoutARouteTheDestinationKeepsItsDefaultRouteAndCluster) {
  Generated g = generateWeb(caseResources("http", {}));
  EXPECT_THAT(outboundClusters(g.out, kClusterType), ElementsAre("backend"));
  const auto routes = outboundRoutes(g.out);
  ASSERT_EQ(routes.size(), 1u);
  EXPECT_EQ(routes[0].route().cluster(), "backend");
  EXPECT_EQ(routes[0].name(), "9Zuf5Tg79OuZcQITwBbQykxAk2u4fRKrwYn3//AL4Yo=");
}

TEST(MeshRouteXds, NoListenerWhereKumaGeneratesNone) {
  // Every backend of the only (catch-all) rule has weight 0: no route, no listener, no cluster.
  const std::string http = R"(type: MeshHTTPRoute
mesh: default
name: backend-nowhere
spec:
  targetRef: {kind: Mesh}
  to:
  - targetRef: {kind: MeshService, name: backend}
    rules:
    - matches: [{path: {type: PathPrefix, value: /}}]
      default:
        backendRefs: [{kind: MeshServiceSubset, name: backend, tags: {version: v1}, weight: 0}]
)";
  Generated g = generateWeb(caseResources("http", {http}));
  EXPECT_EQ(g.out.find(kListenerType, kOutbound), nullptr);
  EXPECT_THAT(outboundClusters(g.out, kClusterType), ::testing::IsEmpty());
  EXPECT_THAT(outboundClusters(g.out, kEndpointType), ::testing::IsEmpty());

  // A MeshTCPRoute whose only backend is a MeshExternalService (resolved by Kuma, but no cluster
  // is generated for it here): a listener without filters, no cluster (Kuma 2.14.3, case
  // meshroute-no-backend).
  const std::string tcp = R"(type: MeshTCPRoute
mesh: default
name: backend-external
spec:
  targetRef: {kind: Mesh}
  to:
  - targetRef: {kind: MeshService, name: backend}
    rules:
    - default:
        backendRefs: [{kind: MeshExternalService, name: somewhere}]
)";
  Generated t = generateWeb(caseResources("tcp", {tcp}));
  const auto l = xds::testing::decode<listener_v3::Listener>(t.out, kListenerType, kOutbound);
  ASSERT_EQ(l.filter_chains_size(), 1);
  EXPECT_EQ(l.filter_chains(0).filters_size(), 0);
  EXPECT_THAT(outboundClusters(t.out, kClusterType), ::testing::IsEmpty());

  // On an HTTP destination the same: the MeshTCPRoute applies (no MeshHTTPRoute), a listener
  // without filters; the plain cluster of MeshHTTPRoute's default stays.
  Generated h = generateWeb(caseResources("http", {tcp}));
  const auto hl = xds::testing::decode<listener_v3::Listener>(h.out, kListenerType, kOutbound);
  ASSERT_EQ(hl.filter_chains_size(), 1);
  EXPECT_EQ(hl.filter_chains(0).filters_size(), 0);
  EXPECT_THAT(outboundClusters(h.out, kClusterType), ElementsAre("backend"));
}

TEST(MeshRoutePlugins, RegisteredWithKumasOrders) {
  meshhttproute::XdsConfigurer http;
  meshtcproute::XdsConfigurer tcp;
  EXPECT_EQ(http.order(), 100);
  EXPECT_EQ(http.policyType(), "MeshHTTPRoute");
  EXPECT_EQ(tcp.order(), 200);
  EXPECT_EQ(tcp.policyType(), "MeshTCPRoute");
  std::vector<std::string> types;
  for (const auto& p : *xds::testing::policyPlugins()) {
    types.emplace_back(p->policyType());
  }
  EXPECT_THAT(types, ::testing::IsSupersetOf({"MeshHTTPRoute", "MeshTCPRoute"}));
}

}  // namespace
}  // namespace kuma::policies
