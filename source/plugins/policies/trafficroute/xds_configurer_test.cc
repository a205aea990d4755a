// The legacy TrafficRoute path (source/plugins/policies/trafficroute/xds_configurer.h): route
// selection precedence, Kuma's subset cluster names, endpoints, LB config and the legacy
// timeouts. Expected values are Kuma 2.14.3's, read from its Envoy config dumps of the
// conformance cases trafficroute-legacy, trafficroute-http and trafficroute-defaults
// (tools/conformance/cases/).

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/plugins/policies/trafficroute/xds_configurer.h"
#include "source/xds/envoy/destination.h"
#include "test/xds/generator/generator_test_util.h"
#include "test/xds/generator/legacy_fixtures.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;
using envoy::config::route::v3::Route;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;
namespace tls_v3 = envoy::extensions::transport_sockets::tls::v3;
namespace tr = policies::trafficroute;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kV1[] = "backend-154693772bc47249";  // Kuma's name for {backend, version: v1}
constexpr char kV2[] = "backend-5b73b3f4adf20020";  // … {backend, version: v2}

const char kMtlsNoDefaultsMesh[] = R"(type: Mesh
name: default
skipCreatingInitialPolicies: ["*"]
mtls:
  enabledBackend: ca-1
  backends:
  - {name: ca-1, type: builtin}
)";

// The peers and the proxy of the trafficroute-* conformance cases.
std::vector<std::string> peers() {
  return {
      testing::dataplaneYaml("backend-v1", "127.0.0.2", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http, kuma.io/zone: default, version: v1}}
)"),
      testing::dataplaneYaml("backend-v2", "127.0.0.3", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http, kuma.io/zone: default, version: v2}}
)"),
      testing::dataplaneYaml("db", "127.0.0.4", R"(  inbound:
  - {port: 5432, tags: {kuma.io/service: db, kuma.io/protocol: tcp, kuma.io/zone: default}}
)"),
      testing::dataplaneYaml("web", "127.0.0.1", R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http, kuma.io/zone: default}}
  outbound:
  - {port: 10001, tags: {kuma.io/service: backend}}
  - {port: 10002, tags: {kuma.io/service: db}}
)"),
  };
}

using testing::legacy::kRouteAll;

const char kBackendSplit[] = R"(type: TrafficRoute
mesh: default
name: backend-split
sources: [{match: {kuma.io/service: web}}]
destinations: [{match: {kuma.io/service: backend}}]
conf:
  loadBalancer: {leastRequest: {choiceCount: 2}}
  split:
  - {weight: 80, destination: {kuma.io/service: backend, version: v1}}
  - {weight: 20, destination: {kuma.io/service: backend, version: v2}}
)";

struct Generated {
  MeshContextConstSharedPtr context;
  GeneratedResources out;
};

Generated generateWeb(std::vector<std::string> yamls) {
  for (auto& p : peers()) {
    yamls.push_back(p);
  }
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  if (!ctx.ok()) {
    return {};
  }
  ProxyOptions options;
  options.tls = testing::fakeTlsSecrets();
  return {*ctx, testing::generateProxy(**ctx, "web", options)};
}

hcm_v3::HttpConnectionManager hcmOf(const Listener& l) {
  hcm_v3::HttpConnectionManager hcm;
  EXPECT_GE(l.filter_chains_size(), 1);
  if (l.filter_chains_size() > 0 && l.filter_chains(0).filters_size() > 0) {
    EXPECT_TRUE(l.filter_chains(0)
                    .filters(l.filter_chains(0).filters_size() - 1)
                    .typed_config()
                    .UnpackTo(&hcm));
  }
  return hcm;
}

tcp_v3::TcpProxy tcpOf(const Listener& l) {
  tcp_v3::TcpProxy proxy;
  EXPECT_GE(l.filter_chains_size(), 1);
  if (l.filter_chains_size() > 0 && l.filter_chains(0).filters_size() > 0) {
    EXPECT_TRUE(l.filter_chains(0).filters(0).typed_config().UnpackTo(&proxy));
  }
  return proxy;
}

std::vector<std::string> names(const GeneratedResources& out, const std::string& type) {
  std::vector<std::string> n;
  if (auto it = out.types.find(type); it != out.types.end()) {
    for (const auto& [name, r] : it->second) {
      n.push_back(name);
    }
  }
  return n;
}

std::vector<std::pair<std::string, uint32_t>> weightsOf(const Route& route) {
  std::vector<std::pair<std::string, uint32_t>> out;
  for (const auto& c : route.route().weighted_clusters().clusters()) {
    out.emplace_back(c.name(), c.weight().value());
  }
  return out;
}

std::vector<uint32_t> portsOf(const ClusterLoadAssignment& cla) {
  std::vector<uint32_t> out;
  for (const auto& locality : cla.endpoints()) {
    for (const auto& lb : locality.lb_endpoints()) {
      out.push_back(lb.endpoint().address().socket_address().port_value());
    }
  }
  return out;
}

std::string sniOf(const Cluster& c) {
  tls_v3::UpstreamTlsContext context;
  EXPECT_TRUE(c.transport_socket().typed_config().UnpackTo(&context));
  return context.sni();
}

// ---- selection, names, LB: the pure functions ----

model::ResourceConstSharedPtr withCreation(const std::string& yaml, int64_t seconds) {
  auto r = testing::parse(yaml);
  auto copy = std::make_shared<model::Resource>(*r);
  copy->meta.creationTime = absl::FromUnixSeconds(seconds);
  return copy;
}

std::string routeYaml(const std::string& name, const std::string& source,
                      const std::string& destination) {
  return "type: TrafficRoute\nmesh: default\nname: " + name + "\nsources: [{match: " + source +
         "}]\ndestinations: [{match: " + destination +
         "}]\nconf: {destination: {kuma.io/service: \"*\"}}\n";
}

const std::vector<tr::Tags> kWebInbound = {
    {{"kuma.io/service", "web"}, {"kuma.io/protocol", "http"}, {"version", "v3"}}};

std::string selected(const std::vector<model::ResourceConstSharedPtr>& routes,
                     const std::string& service) {
  const model::Resource* r = tr::selectTrafficRoute(routes, kWebInbound, service);
  return r == nullptr ? "<none>" : r->meta.name;
}

TEST(TrafficRouteSelection, TheMostSpecificSourcePlusDestinationWins) {
  const std::vector<model::ResourceConstSharedPtr> routes = {
      withCreation(routeYaml("all", "{kuma.io/service: '*'}", "{kuma.io/service: '*'}"), 1),
      withCreation(routeYaml("web-backend", "{kuma.io/service: web}", "{kuma.io/service: backend}"),
                   1),
      // Three tags (two of them wildcards) beat two exact ones: Kuma counts tags first.
      withCreation(
          routeYaml("wide", "{kuma.io/service: '*', version: '*'}", "{kuma.io/service: '*'}"), 1),
      withCreation(routeYaml("other-source", "{kuma.io/service: api}", "{kuma.io/service: db}"), 1),
  };
  EXPECT_EQ(selected(routes, "backend"), "wide");
  EXPECT_EQ(selected(routes, "db"), "wide");  // other-source's source does not match web
  const std::vector<model::ResourceConstSharedPtr> noWide = {routes[0], routes[1], routes[3]};
  EXPECT_EQ(selected(noWide, "backend"), "web-backend");
  EXPECT_EQ(selected(noWide, "db"), "all");
  EXPECT_EQ(selected({routes[3]}, "db"), "<none>");
  // Of several matching source selectors of one route, its most specific one counts.
  const auto multi = withCreation(
      "type: TrafficRoute\nmesh: default\nname: multi\nsources: [{match: {kuma.io/service: '*'}}, "
      "{match: {kuma.io/service: web, version: v3}}]\ndestinations: [{match: {kuma.io/service: "
      "'*'}}]\nconf: {destination: {kuma.io/service: '*'}}\n",
      1);
  EXPECT_EQ(selected({routes[1], multi}, "backend"), "multi");  // (2 exact + 1 wildcard) > 2
}

TEST(TrafficRouteSelection, TiesGoToTheLaterCreatedThenToTheNameSortingFirst) {
  const auto a =
      withCreation(routeYaml("a", "{kuma.io/service: web}", "{kuma.io/service: '*'}"), 5);
  const auto b =
      withCreation(routeYaml("b", "{kuma.io/service: web}", "{kuma.io/service: '*'}"), 9);
  const auto c =
      withCreation(routeYaml("c", "{kuma.io/service: web}", "{kuma.io/service: '*'}"), 9);
  EXPECT_EQ(selected({a, b}, "backend"), "b");
  EXPECT_EQ(selected({b, a}, "backend"), "b");
  EXPECT_EQ(selected({c, b, a}, "backend"), "b");  // b and c created together: b sorts first
}

TEST(TrafficRouteNames, KumaDestinationClusterNamesAndTagsHeader) {
  EXPECT_EQ(xds::destinationClusterName({{"kuma.io/service", "backend"}, {"version", "v1"}}), kV1);
  EXPECT_EQ(xds::destinationClusterName({{"kuma.io/service", "backend"}, {"version", "v2"}}), kV2);
  EXPECT_EQ(xds::destinationClusterName({{"kuma.io/service", "db"}}), "db");
  EXPECT_EQ(tr::tagsHeader({{{"kuma.io/service", "web"},
                             {"kuma.io/protocol", "http"},
                             {"kuma.io/zone", "default"}}}),
            "&kuma.io/protocol=http&&kuma.io/service=web&&kuma.io/zone=default&");
  // Several inbounds: every key once, its values sorted and comma-joined.
  EXPECT_EQ(tr::tagsHeader({{{"kuma.io/service", "web"}, {"version", "v2"}},
                            {{"kuma.io/service", "admin"}, {"version", "v1"}}}),
            "&kuma.io/service=admin,web&&version=v1,v2&");
  EXPECT_EQ(tr::tagsHeader({}), "");
}

TEST(TrafficRouteLb, EveryLoadBalancerOfTheLegacyApi) {
  using LB = mesh::v1alpha1::TrafficRoute::LoadBalancer;
  Cluster c;
  LB lb;
  ASSERT_TRUE(tr::setLoadBalancer(lb, c).ok());
  EXPECT_EQ(c.lb_policy(), Cluster::ROUND_ROBIN);
  lb.mutable_least_request();
  ASSERT_TRUE(tr::setLoadBalancer(lb, c).ok());
  EXPECT_EQ(c.lb_policy(), Cluster::LEAST_REQUEST);
  EXPECT_EQ(c.least_request_lb_config().choice_count().value(), 2u);  // Kuma's default
  lb.mutable_least_request()->set_choice_count(5);
  ASSERT_TRUE(tr::setLoadBalancer(lb, c).ok());
  EXPECT_EQ(c.least_request_lb_config().choice_count().value(), 5u);
  lb.mutable_ring_hash()->set_hash_function("MURMUR_HASH_2");
  lb.mutable_ring_hash()->set_min_ring_size(64);
  lb.mutable_ring_hash()->set_max_ring_size(1024);
  Cluster ring;
  ASSERT_TRUE(tr::setLoadBalancer(lb, ring).ok());
  EXPECT_EQ(ring.lb_policy(), Cluster::RING_HASH);
  EXPECT_EQ(ring.ring_hash_lb_config().hash_function(), Cluster::RingHashLbConfig::MURMUR_HASH_2);
  EXPECT_EQ(ring.ring_hash_lb_config().minimum_ring_size().value(), 64u);
  EXPECT_EQ(ring.ring_hash_lb_config().maximum_ring_size().value(), 1024u);
  lb.mutable_ring_hash()->set_hash_function("SHA1");
  EXPECT_EQ(tr::setLoadBalancer(lb, ring).code(), absl::StatusCode::kInvalidArgument);
  lb.mutable_random();
  ASSERT_TRUE(tr::setLoadBalancer(lb, c).ok());
  EXPECT_EQ(c.lb_policy(), Cluster::RANDOM);
  lb.mutable_maglev();
  ASSERT_TRUE(tr::setLoadBalancer(lb, c).ok());
  EXPECT_EQ(c.lb_policy(), Cluster::MAGLEV);
}

// ---- whole proxies ----

// trafficroute-legacy: no default policies, route-all + 80/20 split with least request.
TEST(TrafficRouteGenerate, SplitSubsetsEndpointsLbAndTheLegacyTimeouts) {
  Generated g = generateWeb({kMtlsNoDefaultsMesh, kRouteAll, kBackendSplit});
  EXPECT_TRUE(g.context->usesLegacyRouting(*testing::dataplaneOf(*g.context, "web")));

  // Clusters: the two subsets and db; the plain `backend` is gone.
  EXPECT_THAT(names(g.out, kClusterType),
              ElementsAre(kV1, kV2, "db", "kuma:envoy:admin", "kuma:readiness", "localhost:18080"));
  EXPECT_THAT(names(g.out, kEndpointType), ElementsAre(kV1, kV2, "db"));
  for (const char* name : {kV1, kV2}) {
    const Cluster c = testing::decode<Cluster>(g.out, kClusterType, name);
    EXPECT_EQ(c.type(), Cluster::EDS);
    EXPECT_EQ(c.lb_policy(), Cluster::LEAST_REQUEST);
    EXPECT_EQ(c.least_request_lb_config().choice_count().value(), 2u);
    EXPECT_EQ(c.connect_timeout().seconds(), 5);  // MeshTimeout's default wins on clusters
  }
  EXPECT_EQ(sniOf(testing::decode<Cluster>(g.out, kClusterType, kV1)),
            "backend{mesh=default,version=v1}");
  EXPECT_EQ(sniOf(testing::decode<Cluster>(g.out, kClusterType, kV2)),
            "backend{mesh=default,version=v2}");
  const Cluster db = testing::decode<Cluster>(g.out, kClusterType, "db");
  EXPECT_EQ(db.lb_policy(), Cluster::ROUND_ROBIN);
  EXPECT_FALSE(db.has_least_request_lb_config());
  EXPECT_EQ(sniOf(db), "db{mesh=default}");
  EXPECT_THAT(portsOf(testing::decode<ClusterLoadAssignment>(g.out, kEndpointType, kV1)),
              ElementsAre(8080u));
  EXPECT_EQ(testing::decode<ClusterLoadAssignment>(g.out, kEndpointType, kV1)
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .address(),
            "127.0.0.2");
  EXPECT_EQ(testing::decode<ClusterLoadAssignment>(g.out, kEndpointType, kV2)
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .address(),
            "127.0.0.3");

  // The outbound HTTP listener: Kuma's legacy HCM and route.
  const hcm_v3::HttpConnectionManager hcm =
      hcmOf(testing::decode<Listener>(g.out, kListenerType, "outbound:127.0.0.1:10001"));
  EXPECT_FALSE(hcm.has_normalize_path());
  EXPECT_EQ(hcm.stream_idle_timeout().seconds(), 0);
  EXPECT_TRUE(hcm.has_stream_idle_timeout());
  EXPECT_EQ(hcm.common_http_protocol_options().idle_timeout().seconds(), 0);
  EXPECT_FALSE(hcm.has_request_headers_timeout());
  const auto& rc = hcm.route_config();
  EXPECT_EQ(rc.name(), "outbound:backend");
  ASSERT_EQ(rc.request_headers_to_add_size(), 1);
  EXPECT_EQ(rc.request_headers_to_add(0).header().key(), "x-kuma-tags");
  EXPECT_EQ(rc.request_headers_to_add(0).header().value(),
            "&kuma.io/protocol=http&&kuma.io/service=web&&kuma.io/zone=default&");
  ASSERT_EQ(rc.virtual_hosts_size(), 1);
  ASSERT_EQ(rc.virtual_hosts(0).routes_size(), 1);
  const Route& route = rc.virtual_hosts(0).routes(0);
  EXPECT_EQ(route.name(), "");
  EXPECT_EQ(route.match().prefix(), "/");
  EXPECT_TRUE(route.route().has_timeout());  // 0s: disabled, not Envoy's 15 s default
  EXPECT_EQ(route.route().timeout().seconds(), 0);
  EXPECT_FALSE(route.route().has_idle_timeout());
  EXPECT_THAT(weightsOf(route), ElementsAre(std::pair<std::string, uint32_t>(kV1, 80),
                                            std::pair<std::string, uint32_t>(kV2, 20)));

  // The TCP outbound on the route-all: cluster db, idle timeout disabled.
  const tcp_v3::TcpProxy tcp =
      tcpOf(testing::decode<Listener>(g.out, kListenerType, "outbound:127.0.0.1:10002"));
  EXPECT_EQ(tcp.cluster(), "db");
  EXPECT_TRUE(tcp.has_idle_timeout());
  EXPECT_EQ(tcp.idle_timeout().seconds(), 0);

  // Inbound: Kuma's DefaultInboundTimeout stream idle (1h), MeshTimeout's route defaults.
  const hcm_v3::HttpConnectionManager in =
      hcmOf(testing::decode<Listener>(g.out, kListenerType, "inbound:127.0.0.1:8080"));
  EXPECT_EQ(in.stream_idle_timeout().seconds(), 3600);
  const Route& inRoute = in.route_config().virtual_hosts(0).routes(0);
  EXPECT_EQ(inRoute.route().timeout().seconds(), 15);
  EXPECT_EQ(inRoute.route().idle_timeout().seconds(), 1800);
}

// trafficroute-http: http[] matches in order, modifications, maglev/random and a legacy Timeout.
TEST(TrafficRouteGenerate, HttpMatchesModificationsAndALegacyTimeoutPolicy) {
  Generated g = generateWeb({R"(type: Mesh
name: default
skipCreatingInitialPolicies: ["*"]
)",
                             R"(type: TrafficRoute
mesh: default
name: route-all-default
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: "*"}}]
conf:
  loadBalancer: {random: {}}
  destination: {kuma.io/service: "*"}
)",
                             R"(type: TrafficRoute
mesh: default
name: backend-http
sources: [{match: {kuma.io/service: web, kuma.io/protocol: http}}]
destinations: [{match: {kuma.io/service: backend}}]
conf:
  loadBalancer: {maglev: {}}
  http:
  - match:
      path: {prefix: /v2}
      headers: {x-user: {prefix: adm}, x-canary: {exact: "true"}}
    destination: {kuma.io/service: backend, version: v2}
  - match: {path: {prefix: /old}}
    modify:
      path: {rewritePrefix: /rewritten}
      host: {value: backend.example}
      requestHeaders:
        add: [{name: x-added, value: "yes", append: true}]
        remove: [{name: x-removed}]
      responseHeaders:
        add: [{name: x-resp, value: "1"}]
    split:
    - {weight: 90, destination: {kuma.io/service: backend, version: v1}}
    - {weight: 10, destination: {kuma.io/service: backend, version: v2}}
  - match: {method: {exact: POST}, path: {regex: "^/items/[0-9]+$"}}
    destination: {kuma.io/service: backend, version: v1}
  - match: {path: {exact: /exact}}
    destination: {kuma.io/service: backend}
  split:
  - {weight: 50, destination: {kuma.io/service: backend, version: v1}}
  - {weight: 50, destination: {kuma.io/service: backend, version: v2}}
)",
                             R"(type: Timeout
mesh: default
name: timeout-all
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: "*"}}]
conf:
  connectTimeout: 2s
  tcp: {idleTimeout: 40s}
  http: {requestTimeout: 1s, idleTimeout: 30s, streamIdleTimeout: 20s, maxStreamDuration: 50s}
)"});
  EXPECT_THAT(names(g.out, kClusterType), ElementsAre("backend", kV1, kV2, "db", "kuma:envoy:admin",
                                                      "kuma:readiness", "localhost:18080"));
  for (const char* name : {"backend", kV1, kV2}) {
    const Cluster c = testing::decode<Cluster>(g.out, kClusterType, name);
    EXPECT_EQ(c.lb_policy(), Cluster::MAGLEV) << name;
    EXPECT_EQ(c.connect_timeout().seconds(), 5) << name;  // MeshTimeout overrides the legacy 2s
  }
  EXPECT_EQ(testing::decode<Cluster>(g.out, kClusterType, "db").lb_policy(), Cluster::RANDOM);
  EXPECT_THAT(portsOf(testing::decode<ClusterLoadAssignment>(g.out, kEndpointType, "backend")),
              ElementsAre(8080u, 8080u));

  const hcm_v3::HttpConnectionManager hcm =
      hcmOf(testing::decode<Listener>(g.out, kListenerType, "outbound:127.0.0.1:10001"));
  EXPECT_EQ(hcm.stream_idle_timeout().seconds(), 20);
  EXPECT_EQ(hcm.common_http_protocol_options().idle_timeout().seconds(), 0);  // MeshTimeout
  EXPECT_FALSE(hcm.has_request_headers_timeout());
  const auto& routes = hcm.route_config().virtual_hosts(0).routes();
  ASSERT_EQ(routes.size(), 5);
  for (const Route& r : routes) {
    EXPECT_EQ(r.name(), "");
    EXPECT_EQ(r.route().timeout().seconds(), 1);
    EXPECT_FALSE(r.route().has_idle_timeout());
  }
  // 0: prefix + headers, sorted by name; one destination → a plain cluster.
  EXPECT_EQ(routes[0].match().prefix(), "/v2");
  ASSERT_EQ(routes[0].match().headers_size(), 2);
  EXPECT_EQ(routes[0].match().headers(0).name(), "x-canary");
  EXPECT_EQ(routes[0].match().headers(0).string_match().exact(), "true");
  EXPECT_EQ(routes[0].match().headers(1).name(), "x-user");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  EXPECT_EQ(routes[0].match().headers(1).prefix_match(), "adm");
#pragma GCC diagnostic pop
  EXPECT_EQ(routes[0].route().cluster(), kV2);
  // 1: modifications and a 90/10 split.
  EXPECT_EQ(routes[1].match().prefix(), "/old");
  EXPECT_EQ(routes[1].route().prefix_rewrite(), "/rewritten");
  EXPECT_EQ(routes[1].route().host_rewrite_literal(), "backend.example");
  ASSERT_EQ(routes[1].request_headers_to_add_size(), 1);
  EXPECT_EQ(routes[1].request_headers_to_add(0).header().key(), "x-added");
  EXPECT_EQ(routes[1].request_headers_to_add(0).append_action(),
            envoy::config::core::v3::HeaderValueOption::APPEND_IF_EXISTS_OR_ADD);
  EXPECT_THAT(routes[1].request_headers_to_remove(), ElementsAre("x-removed"));
  ASSERT_EQ(routes[1].response_headers_to_add_size(), 1);
  EXPECT_EQ(routes[1].response_headers_to_add(0).append_action(),
            envoy::config::core::v3::HeaderValueOption::OVERWRITE_IF_EXISTS_OR_ADD);
  EXPECT_THAT(weightsOf(routes[1]), ElementsAre(std::pair<std::string, uint32_t>(kV1, 90),
                                                std::pair<std::string, uint32_t>(kV2, 10)));
  // 2: regex path, the method last among the header matchers.
  EXPECT_EQ(routes[2].match().safe_regex().regex(), "^/items/[0-9]+$");
  ASSERT_EQ(routes[2].match().headers_size(), 1);
  EXPECT_EQ(routes[2].match().headers(0).name(), ":method");
  EXPECT_EQ(routes[2].match().headers(0).string_match().exact(), "POST");
  EXPECT_EQ(routes[2].route().cluster(), kV1);
  // 3: exact path to the whole service; 4: the default 50/50 split.
  EXPECT_EQ(routes[3].match().path(), "/exact");
  EXPECT_EQ(routes[3].route().cluster(), "backend");
  EXPECT_EQ(routes[4].match().prefix(), "/");
  EXPECT_THAT(routes[4].request_headers_to_add(), IsEmpty());
  EXPECT_THAT(weightsOf(routes[4]), ElementsAre(std::pair<std::string, uint32_t>(kV1, 50),
                                                std::pair<std::string, uint32_t>(kV2, 50)));

  const tcp_v3::TcpProxy tcp =
      tcpOf(testing::decode<Listener>(g.out, kListenerType, "outbound:127.0.0.1:10002"));
  EXPECT_EQ(tcp.cluster(), "db");
  EXPECT_EQ(tcp.idle_timeout().seconds(), 40);
}

// trafficroute-defaults: a mesh with Kuma's default policies still takes the legacy path; then
// MeshTimeout's `to` conf shapes the outbound listeners (DeprecatedListenerConfigurer).
TEST(TrafficRouteGenerate, DefaultPoliciesPlusTrafficRoutes) {
  std::vector<std::string> yamls = testing::defaultPolicyYamls();
  yamls.push_back(kRouteAll);
  yamls.push_back(kBackendSplit);
  Generated g = generateWeb(yamls);
  const hcm_v3::HttpConnectionManager hcm =
      hcmOf(testing::decode<Listener>(g.out, kListenerType, "outbound:127.0.0.1:10001"));
  EXPECT_EQ(hcm.stream_idle_timeout().seconds(), 0);
  EXPECT_TRUE(hcm.has_request_headers_timeout());
  EXPECT_EQ(hcm.request_headers_timeout().seconds(), 0);
  const Route& route = hcm.route_config().virtual_hosts(0).routes(0);
  EXPECT_EQ(route.route().timeout().seconds(), 15);
  EXPECT_EQ(route.route().idle_timeout().seconds(), 1800);
  EXPECT_EQ(route.route().retry_policy().num_retries().value(), 5u);  // MeshRetry's default
  EXPECT_EQ(weightsOf(route).size(), 2u);
  const tcp_v3::TcpProxy tcp =
      tcpOf(testing::decode<Listener>(g.out, kListenerType, "outbound:127.0.0.1:10002"));
  EXPECT_EQ(tcp.idle_timeout().seconds(), 3600);
  for (const char* name : {kV1, kV2, "db"}) {
    const Cluster c = testing::decode<Cluster>(g.out, kClusterType, name);
    ASSERT_EQ(c.circuit_breakers().thresholds_size(), 1) << name;
    EXPECT_EQ(c.circuit_breakers().thresholds(0).max_connections().value(), 1024u) << name;
  }
}

// An outbound no TrafficRoute matches routes nothing, as in Kuma (a chain without filters).
TEST(TrafficRouteGenerate, AnOutboundWithoutARouteRoutesNothing) {
  Generated g = generateWeb({kMtlsNoDefaultsMesh, kBackendSplit});
  const Listener db = testing::decode<Listener>(g.out, kListenerType, "outbound:127.0.0.1:10002");
  ASSERT_EQ(db.filter_chains_size(), 1);
  EXPECT_EQ(db.filter_chains(0).filters_size(), 0);
  EXPECT_THAT(names(g.out, kEndpointType), ElementsAre(kV1, kV2));
}

// Without TrafficRoutes, or with a MeshHTTPRoute selecting the proxy, the plain path stays.
TEST(TrafficRouteGenerate, ThePlainPathWithoutTrafficRoutesOrWithMeshRoutes) {
  Generated plain = generateWeb({kMtlsNoDefaultsMesh});
  EXPECT_FALSE(plain.context->usesLegacyRouting(*testing::dataplaneOf(*plain.context, "web")));
  EXPECT_THAT(names(plain.out, kEndpointType), ElementsAre("backend", "db"));
  const hcm_v3::HttpConnectionManager hcm =
      hcmOf(testing::decode<Listener>(plain.out, kListenerType, "outbound:127.0.0.1:10001"));
  EXPECT_TRUE(hcm.normalize_path().value());
  EXPECT_EQ(hcm.route_config().virtual_hosts(0).routes(0).route().cluster(), "backend");

  Generated routed =
      generateWeb({kMtlsNoDefaultsMesh, kRouteAll, kBackendSplit, R"(type: MeshHTTPRoute
mesh: default
name: web-routes
spec:
  targetRef: {kind: MeshService, name: web}
  to:
  - targetRef: {kind: MeshService, name: backend}
    rules:
    - matches: [{path: {type: PathPrefix, value: /}}]
      default:
        backendRefs: [{kind: MeshService, name: backend}]
)"});
  EXPECT_FALSE(routed.context->usesLegacyRouting(*testing::dataplaneOf(*routed.context, "web")));
  EXPECT_THAT(names(routed.out, kEndpointType), ::testing::Contains("backend"));
}

// TrafficRoutes and Timeouts are inputs of the mesh context's hashes.
TEST(TrafficRouteContext, RoutesAndTimeoutsChangeTheHashes) {
  auto build = [](std::vector<std::string> yamls) {
    for (auto& p : peers()) {
      yamls.push_back(p);
    }
    auto ctx = MeshContext::build(testing::meshResources(yamls));
    EXPECT_TRUE(ctx.ok());
    return *ctx;
  };
  const auto none = build({kMtlsNoDefaultsMesh});
  const auto routeAll = build({kMtlsNoDefaultsMesh, kRouteAll});
  const auto split = build({kMtlsNoDefaultsMesh, kRouteAll, kBackendSplit});
  const auto timeout = build({kMtlsNoDefaultsMesh, kRouteAll, kBackendSplit, R"(type: Timeout
mesh: default
name: t
sources: [{match: {kuma.io/service: "*"}}]
destinations: [{match: {kuma.io/service: "*"}}]
conf: {connectTimeout: 2s}
)"});
  EXPECT_EQ(routeAll->trafficRoutes().size(), 1u);
  EXPECT_EQ(timeout->timeouts().size(), 1u);
  EXPECT_NE(none->baseHash(), routeAll->baseHash());
  EXPECT_NE(routeAll->baseHash(), split->baseHash());
  EXPECT_NE(split->baseHash(), timeout->baseHash());
  EXPECT_EQ(split->baseHash(), build({kMtlsNoDefaultsMesh, kBackendSplit, kRouteAll})->baseHash());
}

}  // namespace
}  // namespace kuma::xds
