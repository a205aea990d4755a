#include "source/xds/generator/generator.h"
#include <iostream>

#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/time_util.h"
#include "gtest/gtest.h"
#include "source/xds/envoy/destination.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::cluster::v3::Cluster;
using envoy::config::endpoint::v3::ClusterLoadAssignment;
using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
using google::protobuf::util::TimeUtil;
using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

struct Generated {
  std::shared_ptr<const MeshContext> context;
  GeneratedResources out;
};

Generated generateFor(MeshResources resources, const std::string& dp,
                      const ProxyOptions& options = {}) {
  auto ctx = MeshContext::build(std::move(resources));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  Generated g;
  g.context = *ctx;
  auto out = generate(**ctx, *testing::dataplaneOf(**ctx, dp), testing::withPlugins(options));
  EXPECT_TRUE(out.ok()) << out.status();
  if (out.ok()) {
    g.out = std::move(*out);
  }
  return g;
}

template <typename T>
T filterConfig(const Listener& l, size_t chain = 0, size_t filter = 0) {
  T config;
  EXPECT_GT(l.filter_chains_size(), static_cast<int>(chain));
  if (l.filter_chains_size() > static_cast<int>(chain) &&
      l.filter_chains(static_cast<int>(chain)).filters_size() > static_cast<int>(filter)) {
    EXPECT_TRUE(l.filter_chains(static_cast<int>(chain))
                    .filters(static_cast<int>(filter))
                    .typed_config()
                    .UnpackTo(&config));
  } else {
    ADD_FAILURE() << "no filter in " << l.name();
  }
  return config;
}

std::string filterName(const Listener& l) {
  return l.filter_chains_size() > 0 && l.filter_chains(0).filters_size() > 0
             ? l.filter_chains(0).filters(0).name()
             : "";
}

int64_t seconds(const google::protobuf::Duration& d) {
  return TimeUtil::DurationToSeconds(d);
}

TEST(XdsGenerator, CaseANamesFollowTheLegacyTable) {
  auto g = generateFor(testing::caseResources(testing::caseADataplane()), "web-1");
  EXPECT_THAT(testing::namesOf(g.out, kListenerType),
              UnorderedElementsAre("inbound:10.0.0.1:8080", "outbound:127.0.0.1:10001",
                                   "outbound:127.0.0.1:10002", "kuma:envoy:admin"));
  EXPECT_THAT(testing::namesOf(g.out, kClusterType),
              UnorderedElementsAre("localhost:18080", "redis", "api", "kuma:envoy:admin",
                                   "kuma:readiness"));
  EXPECT_THAT(testing::namesOf(g.out, kEndpointType), UnorderedElementsAre("redis", "api"));
  EXPECT_EQ(g.out.size(), 11u);
  for (const auto& [type, resources] : g.out.types) {
    for (const auto& [name, r] : resources) {
      EXPECT_EQ(r->name, name);
      EXPECT_EQ(r->hash, hashOf(r->serialized));
    }
  }
}

TEST(XdsGenerator, CaseAInboundHttpListenerAndStaticCluster) {
  auto g = generateFor(testing::caseResources(testing::caseADataplane()), "web-1");
  auto l = testing::decode<Listener>(g.out, kListenerType, "inbound:10.0.0.1:8080");
  EXPECT_EQ(l.address().socket_address().address(), "10.0.0.1");
  EXPECT_EQ(l.address().socket_address().port_value(), 8080u);
  EXPECT_EQ(l.traffic_direction(), envoy::config::core::v3::INBOUND);
  EXPECT_FALSE(l.has_bind_to_port());
  EXPECT_EQ(l.metadata()
                .filter_metadata()
                .at("io.kuma.tags")
                .fields()
                .at("kuma.io/service")
                .string_value(),
            "web");
  EXPECT_EQ(filterName(l), "envoy.filters.network.http_connection_manager");
  auto hcm = filterConfig<HttpConnectionManager>(l);
  EXPECT_EQ(hcm.stat_prefix(), "localhost_18080");
  EXPECT_EQ(seconds(hcm.stream_idle_timeout()), 3600);
  ASSERT_EQ(hcm.http_filters_size(), 1);
  EXPECT_EQ(hcm.http_filters(0).name(), "envoy.filters.http.router");
  EXPECT_EQ(hcm.route_config().name(), "inbound:web");
  EXPECT_THAT(hcm.route_config().request_headers_to_remove(), ElementsAre("x-kuma-tags"));
  ASSERT_EQ(hcm.route_config().virtual_hosts_size(), 1);
  const auto& vh = hcm.route_config().virtual_hosts(0);
  EXPECT_EQ(vh.name(), "web");
  ASSERT_EQ(vh.routes_size(), 1);
  EXPECT_EQ(vh.routes(0).route().cluster(), "localhost:18080");
  EXPECT_EQ(seconds(vh.routes(0).route().timeout()), 0);
  EXPECT_TRUE(vh.routes(0).route().has_timeout());
  EXPECT_GT(hcm.internal_address_config().cidr_ranges_size(), 0);

  auto c = testing::decode<Cluster>(g.out, kClusterType, "localhost:18080");
  EXPECT_EQ(c.type(), Cluster::STATIC);
  EXPECT_EQ(c.alt_stat_name(), "localhost_18080");
  EXPECT_EQ(seconds(c.connect_timeout()), 10);  // default MeshTimeout `from`
  const auto& ep = c.load_assignment().endpoints(0).lb_endpoints(0).endpoint().address();
  EXPECT_EQ(ep.socket_address().address(), "10.0.0.1");  // workload IP = listen IP
  EXPECT_EQ(ep.socket_address().port_value(), 18080u);
  EXPECT_EQ(c.typed_extension_protocol_options().count(kHttpProtocolOptionsKey), 1u);
  EXPECT_FALSE(c.has_upstream_bind_config());
}

TEST(XdsGenerator, CaseAOutboundsUseServiceProtocolAndDefaultPolicies) {
  auto g = generateFor(testing::caseResources(testing::caseADataplane()), "web-1");
  auto redis = testing::decode<Listener>(g.out, kListenerType, "outbound:127.0.0.1:10001");
  EXPECT_EQ(redis.address().socket_address().address(), "127.0.0.1");
  EXPECT_EQ(redis.traffic_direction(), envoy::config::core::v3::OUTBOUND);
  EXPECT_FALSE(redis.has_enable_reuse_port());
  EXPECT_EQ(filterName(redis), "envoy.filters.network.tcp_proxy");
  auto tcp = filterConfig<TcpProxy>(redis);
  EXPECT_EQ(tcp.stat_prefix(), "redis");
  EXPECT_EQ(tcp.cluster(), "redis");
  EXPECT_EQ(seconds(tcp.idle_timeout()), 3600);
  EXPECT_EQ(tcp.max_connect_attempts().value(), 5u);

  auto api = testing::decode<Listener>(g.out, kListenerType, "outbound:127.0.0.1:10002");
  auto hcm = filterConfig<HttpConnectionManager>(api);
  EXPECT_EQ(hcm.stat_prefix(), "api");
  EXPECT_TRUE(hcm.normalize_path().value());
  EXPECT_EQ(hcm.route_config().name(), "outbound:api");
  const auto& route = hcm.route_config().virtual_hosts(0).routes(0);
  EXPECT_EQ(route.name(), "9Zuf5Tg79OuZcQITwBbQykxAk2u4fRKrwYn3//AL4Yo=");
  EXPECT_EQ(route.route().cluster(), "api");
  EXPECT_EQ(seconds(route.route().timeout()), 15);
  EXPECT_EQ(seconds(route.route().idle_timeout()), 1800);
  EXPECT_EQ(route.route().retry_policy().retry_on(),
            "gateway-error,connect-failure,refused-stream");
  EXPECT_EQ(route.route().retry_policy().num_retries().value(), 5u);
  EXPECT_EQ(seconds(route.route().retry_policy().per_try_timeout()), 16);
  EXPECT_EQ(TimeUtil::DurationToMilliseconds(
                route.route().retry_policy().retry_back_off().base_interval()),
            25);

  auto cluster = testing::decode<Cluster>(g.out, kClusterType, "api");
  EXPECT_EQ(cluster.type(), Cluster::EDS);
  EXPECT_TRUE(cluster.eds_cluster_config().eds_config().has_ads());
  EXPECT_EQ(seconds(cluster.connect_timeout()), 5);
  ASSERT_EQ(cluster.circuit_breakers().thresholds_size(), 1);
  EXPECT_EQ(cluster.circuit_breakers().thresholds(0).max_connections().value(), 1024u);
  EXPECT_EQ(cluster.circuit_breakers().thresholds(0).max_retries().value(), 3u);
  // http: explicit HTTP/2 plus common options; tcp: explicit HTTP/2 only.
  const auto& apiOptions = cluster.typed_extension_protocol_options().at(kHttpProtocolOptionsKey);
  const Cluster redisCluster = testing::decode<Cluster>(g.out, kClusterType, "redis");
  const auto& redisOptions =
      redisCluster.typed_extension_protocol_options().at(kHttpProtocolOptionsKey);
  EXPECT_GT(apiOptions.value().size(), redisOptions.value().size());
}

TEST(XdsGenerator, LoadAssignmentsHoldOnlyHealthyEndpointsSorted) {
  auto g = generateFor(testing::caseResources(testing::caseADataplane()), "web-1");
  auto cla = testing::decode<ClusterLoadAssignment>(g.out, kEndpointType, "api");
  EXPECT_EQ(cla.cluster_name(), "api");
  ASSERT_EQ(cla.endpoints_size(), 1);
  EXPECT_EQ(cla.endpoints(0).locality().zone(), "default");
  ASSERT_EQ(cla.endpoints(0).lb_endpoints_size(), 2);  // 10.0.0.5 is NotReady
  EXPECT_EQ(cla.endpoints(0).lb_endpoints(0).endpoint().address().socket_address().address(),
            "10.0.0.3");
  EXPECT_EQ(cla.endpoints(0).lb_endpoints(1).endpoint().address().socket_address().address(),
            "10.0.0.4");
  EXPECT_EQ(cla.endpoints(0).lb_endpoints(0).load_balancing_weight().value(), 1u);
  const auto& lbMeta = cla.endpoints(0).lb_endpoints(0).metadata().filter_metadata().at("envoy.lb");
  EXPECT_EQ(lbMeta.fields().at("kuma.io/protocol").string_value(), "http");
  EXPECT_EQ(lbMeta.fields().count("kuma.io/service"), 0u);
}

TEST(XdsGenerator, TransparentProxyWithReachableServicesTrimsOutbounds) {
  auto g = generateFor(testing::caseResources(testing::caseBDataplane()), "web-1");
  EXPECT_THAT(testing::namesOf(g.out, kListenerType),
              UnorderedElementsAre("inbound:10.0.0.1:8080", "outbound:240.0.0.0:80",
                                   "outbound:passthrough:ipv4", "outbound:passthrough:ipv6",
                                   "inbound:passthrough:ipv4", "inbound:passthrough:ipv6",
                                   "kuma:envoy:admin"));
  EXPECT_THAT(testing::namesOf(g.out, kClusterType),
              UnorderedElementsAre("localhost:18080", "api", "outbound:passthrough:ipv4",
                                   "outbound:passthrough:ipv6", "inbound:passthrough:ipv4",
                                   "inbound:passthrough:ipv6",
                                   "self_transparentproxy_no_destination_inbound",
                                   "kuma:envoy:admin", "kuma:readiness"));
  EXPECT_THAT(testing::namesOf(g.out, kEndpointType), ElementsAre("api"));

  auto vip = testing::decode<Listener>(g.out, kListenerType, "outbound:240.0.0.0:80");
  EXPECT_FALSE(vip.bind_to_port().value());
  EXPECT_TRUE(vip.has_bind_to_port());
  EXPECT_EQ(filterName(vip), "envoy.filters.network.http_connection_manager");
  auto inbound = testing::decode<Listener>(g.out, kListenerType, "inbound:10.0.0.1:8080");
  EXPECT_TRUE(inbound.has_bind_to_port());
  EXPECT_FALSE(inbound.bind_to_port().value());
  auto local = testing::decode<Cluster>(g.out, kClusterType, "localhost:18080");
  EXPECT_EQ(local.upstream_bind_config().source_address().address(), "127.0.0.6");

  auto passthrough = testing::decode<Listener>(g.out, kListenerType, "outbound:passthrough:ipv4");
  EXPECT_EQ(passthrough.address().socket_address().address(), "0.0.0.0");
  EXPECT_EQ(passthrough.address().socket_address().port_value(), 15001u);
  EXPECT_TRUE(passthrough.use_original_dst().value());
  EXPECT_EQ(filterConfig<TcpProxy>(passthrough).cluster(), "outbound:passthrough:ipv4");
  auto pc = testing::decode<Cluster>(g.out, kClusterType, "outbound:passthrough:ipv4");
  EXPECT_EQ(pc.type(), Cluster::ORIGINAL_DST);
  EXPECT_EQ(pc.lb_policy(), Cluster::CLUSTER_PROVIDED);
  auto in6 = testing::decode<Cluster>(g.out, kClusterType, "inbound:passthrough:ipv6");
  EXPECT_EQ(in6.upstream_bind_config().source_address().address(), "::6");
  auto inListener = testing::decode<Listener>(g.out, kListenerType, "inbound:passthrough:ipv6");
  EXPECT_EQ(inListener.address().socket_address().address(), "::");
  EXPECT_EQ(inListener.address().socket_address().port_value(), 15006u);
}

TEST(XdsGenerator, TransparentProxyWithoutReachableServicesGetsEveryVip) {
  std::string dp = testing::caseBDataplane();
  dp = dp.substr(0, dp.find("    reachableServices"));
  dp += "    ipFamilyMode: IPv4\n";
  dp.replace(dp.find("    ipFamilyMode: DualStack\n"), 28, "");
  auto g = generateFor(testing::caseResources(dp), "web-1");
  // api=240.0.0.0, redis=240.0.0.1, web=240.0.0.2 (its own service included).
  EXPECT_NE(g.out.find(kListenerType, "outbound:240.0.0.0:80"), nullptr);
  EXPECT_NE(g.out.find(kListenerType, "outbound:240.0.0.1:80"), nullptr);
  EXPECT_NE(g.out.find(kListenerType, "outbound:240.0.0.2:80"), nullptr);
  EXPECT_THAT(testing::namesOf(g.out, kEndpointType), ElementsAre("api", "redis", "web"));
  EXPECT_EQ(g.out.find(kListenerType, "outbound:passthrough:ipv6"), nullptr);  // IPv4 only
  EXPECT_NE(g.out.find(kListenerType, "outbound:passthrough:ipv4"), nullptr);
  auto web = testing::decode<ClusterLoadAssignment>(g.out, kEndpointType, "web");
  ASSERT_EQ(web.endpoints_size(), 1);
  EXPECT_EQ(web.endpoints(0).lb_endpoints(0).endpoint().address().socket_address().port_value(),
            8080u);
}

TEST(XdsGenerator, MeshPassthroughDisabledDropsTheOutboundPassthroughCluster) {
  auto resources = testing::caseResources(testing::caseBDataplane());
  resources.mesh =
      testing::parse("type: Mesh\nname: default\nnetworking: {outbound: {passthrough: false}}\n");
  auto g = generateFor(std::move(resources), "web-1");
  EXPECT_NE(g.out.find(kListenerType, "outbound:passthrough:ipv4"), nullptr);
  EXPECT_EQ(g.out.find(kClusterType, "outbound:passthrough:ipv4"), nullptr);
  EXPECT_NE(g.out.find(kClusterType, "inbound:passthrough:ipv4"), nullptr);
}

TEST(XdsGenerator, SharedOutboundResourcesAreTheSameObjectForTwoProxies) {
  std::vector<std::string> yamls = testing::caseAOthers();
  yamls.push_back(testing::caseADataplane());
  yamls.push_back(testing::dataplaneYaml("web-2", "10.0.0.8", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  outbound:
  - {port: 20002, tags: {kuma.io/service: api}}
)"));
  for (const auto& p : testing::defaultPolicyYamls()) {
    yamls.push_back(p);
  }
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  ASSERT_TRUE(ctx.ok());
  auto a =
      generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(ProxyOptions{}));
  auto b =
      generate(**ctx, *testing::dataplaneOf(**ctx, "web-2"), testing::withPlugins(ProxyOptions{}));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->find(kClusterType, "api").get(), b->find(kClusterType, "api").get());
  EXPECT_EQ(a->find(kEndpointType, "api").get(), b->find(kEndpointType, "api").get());
  EXPECT_NE(a->find(kListenerType, "kuma:envoy:admin").get(),
            b->find(kListenerType, "kuma:envoy:admin").get());
  // Regenerating the same proxy reuses the shared objects and yields identical bytes.
  auto again =
      generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(ProxyOptions{}));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->find(kClusterType, "api").get(), a->find(kClusterType, "api").get());
  EXPECT_EQ(again->find(kListenerType, "inbound:10.0.0.1:8080")->serialized,
            a->find(kListenerType, "inbound:10.0.0.1:8080")->serialized);
}

TEST(XdsGenerator, ProxySpecificPolicyGetsItsOwnClusterObject) {
  std::vector<std::string> yamls = testing::caseAOthers();
  yamls.push_back(testing::caseADataplane());
  yamls.push_back(testing::dataplaneYaml("web-2", "10.0.0.8", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: web-b}}
  outbound:
  - {port: 20002, tags: {kuma.io/service: api}}
)"));
  yamls.push_back(R"(type: MeshTimeout
mesh: default
name: web-b-timeout
spec:
  targetRef: {kind: MeshService, name: web-b}
  to:
  - targetRef: {kind: MeshService, name: api}
    default: {connectionTimeout: 2s}
)");
  auto ctx = MeshContext::build(testing::meshResources(yamls));
  ASSERT_TRUE(ctx.ok());
  auto a =
      generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(ProxyOptions{}));
  auto b =
      generate(**ctx, *testing::dataplaneOf(**ctx, "web-2"), testing::withPlugins(ProxyOptions{}));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->find(kClusterType, "api").get(), b->find(kClusterType, "api").get());
  EXPECT_EQ(seconds(testing::decode<Cluster>(*a, kClusterType, "api").connect_timeout()), 5);
  EXPECT_EQ(seconds(testing::decode<Cluster>(*b, kClusterType, "api").connect_timeout()), 2);
  // Nothing is shared across a policy boundary, not even the endpoints (a policy may change
  // them); here they are the same bytes.
  EXPECT_NE(a->find(kEndpointType, "api").get(), b->find(kEndpointType, "api").get());
  EXPECT_EQ(a->find(kEndpointType, "api")->serialized, b->find(kEndpointType, "api")->serialized);
}

TEST(XdsGenerator, ProtocolDependentFilters) {
  auto resources = testing::meshResources({
      testing::dataplaneYaml("dp", "10.0.0.1", R"(  inbound:
  - {port: 7000, tags: {kuma.io/service: t}}
  - {port: 7001, tags: {kuma.io/service: g, kuma.io/protocol: grpc}}
  - {port: 7002, protocol: http, tags: {kuma.io/service: h}}
  - {port: 7003, tags: {kuma.io/service: i}, state: Ignored}
  - {port: 7004, tags: {kuma.io/service: k, kuma.io/protocol: kafka}}
  outbound:
  - {port: 9000, tags: {kuma.io/service: g}}
  - {port: 9001, tags: {kuma.io/service: nobody}}
  - {port: 9002, address: 127.0.0.2, tags: {kuma.io/service: g, version: v1}}
)"),
  });
  auto g = generateFor(std::move(resources), "dp", ProxyOptions{.adminPort = 0});
  auto name = [&](const std::string& l) {
    return filterName(testing::decode<Listener>(g.out, kListenerType, l));
  };
  EXPECT_EQ(name("inbound:10.0.0.1:7000"), "envoy.filters.network.tcp_proxy");
  EXPECT_EQ(name("inbound:10.0.0.1:7001"), "envoy.filters.network.http_connection_manager");
  EXPECT_EQ(name("inbound:10.0.0.1:7002"), "envoy.filters.network.http_connection_manager");
  EXPECT_EQ(name("inbound:10.0.0.1:7004"), "envoy.filters.network.tcp_proxy");
  EXPECT_EQ(g.out.find(kListenerType, "inbound:10.0.0.1:7003"), nullptr);
  EXPECT_EQ(name("outbound:127.0.0.1:9000"), "envoy.filters.network.http_connection_manager");
  EXPECT_EQ(name("outbound:127.0.0.1:9001"), "envoy.filters.network.tcp_proxy");
  // No admin port: no admin resources, and no default policies: no retry, no connection limits
  // (Kuma's MeshCircuitBreaker plugin still sets track_remaining on every cluster).
  EXPECT_EQ(g.out.find(kListenerType, "kuma:envoy:admin"), nullptr);
  EXPECT_EQ(g.out.find(kClusterType, "kuma:readiness"), nullptr);
  auto tcp = filterConfig<TcpProxy>(
      testing::decode<Listener>(g.out, kListenerType, "outbound:127.0.0.1:9001"));
  EXPECT_FALSE(tcp.has_max_connect_attempts());
  EXPECT_EQ(seconds(tcp.idle_timeout()), 3600);  // MeshTimeout's built-in defaults
  const Cluster nobody = testing::decode<Cluster>(g.out, kClusterType, "nobody");
  ASSERT_EQ(nobody.circuit_breakers().thresholds_size(), 1);
  EXPECT_TRUE(nobody.circuit_breakers().thresholds(0).track_remaining());
  EXPECT_FALSE(nobody.circuit_breakers().thresholds(0).has_max_connections());
  auto empty = testing::decode<ClusterLoadAssignment>(g.out, kEndpointType, "nobody");
  EXPECT_EQ(empty.endpoints_size(), 0);
  // An outbound with extra tags gets its own hashed cluster with only matching endpoints.
  auto subset = filterConfig<HttpConnectionManager>(
      testing::decode<Listener>(g.out, kListenerType, "outbound:127.0.0.2:9002"));
  const std::string subsetCluster =
      subset.route_config().virtual_hosts(0).routes(0).route().cluster();
  EXPECT_THAT(subsetCluster, ::testing::MatchesRegex("g-[0-9a-f]{16}"));
  auto subsetCla = testing::decode<ClusterLoadAssignment>(g.out, kEndpointType, subsetCluster);
  EXPECT_EQ(subsetCla.endpoints_size(), 0);  // the grpc inbound has no version tag
  // grpc inbound cluster: explicit HTTP/2 upstream.
  auto grpcCluster = testing::decode<Cluster>(g.out, kClusterType, "localhost:7001");
  auto json = resourceToJson(kClusterType, g.out.find(kClusterType, "localhost:7001")->serialized);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_NE(json->find("http2ProtocolOptions"), std::string::npos);
  auto httpJson =
      resourceToJson(kClusterType, g.out.find(kClusterType, "localhost:7002")->serialized);
  ASSERT_TRUE(httpJson.ok());
  EXPECT_NE(httpJson->find("\"httpProtocolOptions\""), std::string::npos);
  EXPECT_EQ(testing::decode<Cluster>(g.out, kClusterType, "localhost:7000")
                .typed_extension_protocol_options_size(),
            0);
}

TEST(XdsGenerator, AdminListenerFollowsOptions) {
  auto g = generateFor(testing::caseResources(testing::caseADataplane()), "web-1",
                       ProxyOptions{.adminPort = 9911, .adminAddress = "0.0.0.0"});
  auto admin = testing::decode<Cluster>(g.out, kClusterType, "kuma:envoy:admin");
  const auto& sa = admin.load_assignment().endpoints(0).lb_endpoints(0).endpoint().address();
  EXPECT_EQ(sa.socket_address().address(), "127.0.0.1");
  EXPECT_EQ(sa.socket_address().port_value(), 9911u);
  auto l = testing::decode<Listener>(g.out, kListenerType, "kuma:envoy:admin");
  EXPECT_EQ(l.address().socket_address().address(), "10.0.0.1");
  EXPECT_EQ(l.address().socket_address().port_value(), 9911u);
  auto hcm = filterConfig<HttpConnectionManager>(l);
  EXPECT_EQ(hcm.stat_prefix(), "kuma_envoy_admin");
  const auto& route = hcm.route_config().virtual_hosts(0).routes(0);
  EXPECT_EQ(route.match().prefix(), "/ready");
  EXPECT_EQ(route.route().cluster(), "kuma:readiness");

  // The admin listener is skipped when the DP address is the admin bind address.
  auto local =
      generateFor(testing::meshResources({testing::dataplaneYaml("dp", "127.0.0.1", R"(  inbound:
  - {port: 80, servicePort: 81, tags: {kuma.io/service: s}}
)")}),
                  "dp");
  EXPECT_EQ(local.out.find(kListenerType, "kuma:envoy:admin"), nullptr);
  EXPECT_NE(local.out.find(kClusterType, "kuma:envoy:admin"), nullptr);
}

TEST(XdsGenerator, IPv6AddressesAreBracketedInNames) {
  auto g = generateFor(testing::meshResources({testing::dataplaneYaml("dp", "fd00::1", R"(  inbound:
  - {port: 80, tags: {kuma.io/service: s}}
  outbound:
  - {port: 81, address: "::1", tags: {kuma.io/service: s}}
)")}),
                       "dp");
  EXPECT_NE(g.out.find(kListenerType, "inbound:[fd00::1]:80"), nullptr);
  EXPECT_NE(g.out.find(kListenerType, "outbound:[::1]:81"), nullptr);
}

TEST(XdsGenerator, RejectsForeignOrUnsupportedDataplanes) {
  auto ctx = MeshContext::build(testing::caseResources(testing::caseADataplane()));
  ASSERT_TRUE(ctx.ok());
  auto other = testing::parse(testing::dataplaneYaml("x", "10.0.0.1", "", "other"));
  EXPECT_EQ(generate(**ctx, *other, testing::withPlugins(ProxyOptions{})).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto mesh = testing::parse(testing::meshYaml());
  EXPECT_EQ(generate(**ctx, *mesh, testing::withPlugins(ProxyOptions{})).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto gateway = testing::parse(testing::dataplaneYaml(
      "gw", "10.0.0.1", "  gateway: {type: BUILTIN, tags: {kuma.io/service: edge}}\n"));
  EXPECT_EQ(generate(**ctx, *gateway, testing::withPlugins(ProxyOptions{})).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST(XdsGenerator, ResourceToJsonRejectsUnknownTypesAndBadBytes) {
  EXPECT_FALSE(resourceToJson("type.googleapis.com/nope.Nope", "").ok());
  EXPECT_FALSE(resourceToJson(kClusterType, std::string("\x0a\x10"
                                                        "ab",
                                                        4))
                   .ok());
  EXPECT_EQ(hashOf("abc"), hashOf(std::string("abc")));
  EXPECT_NE(hashOf("abc"), hashOf("abd"));
  EXPECT_EQ(hashHex(0x1f), "000000000000001f");
  EXPECT_EQ(destinationClusterName({{"kuma.io/service", "api"}}), "api");
  // Kuma 2.14.3's name of a VirtualOutbound's subset (conformance case virtualoutbound).
  EXPECT_EQ(destinationClusterName({{"kuma.io/service", "backend"}, {"kuma.io/instance", "i-1"}}),
            "backend-4976ecec8d1d713e");
}

}  // namespace
}  // namespace kuma::xds

namespace kuma::xds {
namespace {

// The seed's performance knob: reachableServices trims what a proxy gets. 50 services, a
// transparent proxy with and without `reachableServices` of 3: compare resources and bytes.
TEST(XdsGenerator, ReachableServicesTrimCountsAndBytes) {
  std::vector<std::string> yamls;
  for (int i = 0; i < 50; ++i) {
    const std::string svc = "svc-" + std::to_string(i);
    yamls.push_back(testing::dataplaneYaml(svc + "-1", "10.1.0." + std::to_string(i + 1),
                                           "  inbound:\n  - {port: 8080, tags: {kuma.io/service: " +
                                               svc + ", kuma.io/protocol: http}}\n"));
  }
  const std::string tp =
      "  inbound:\n  - {port: 8080, tags: {kuma.io/service: client}}\n"
      "  transparentProxying:\n    redirectPortInbound: 15006\n"
      "    redirectPortOutbound: 15001\n    ipFamilyMode: IPv4\n";
  auto full = yamls;
  full.push_back(testing::dataplaneYaml("client-1", "10.2.0.1", tp));
  auto trimmed = yamls;
  trimmed.push_back(testing::dataplaneYaml("client-1", "10.2.0.1",
                                           tp + "    reachableServices: [svc-1, svc-2, svc-3]\n"));

  auto measure = [](const GeneratedResources& out) {
    size_t count = 0;
    size_t bytes = 0;
    for (const auto& [type, resources] : out.types) {
      for (const auto& [name, r] : resources) {
        ++count;
        bytes += r->serialized.size();
      }
    }
    return std::make_pair(count, bytes);
  };
  auto fullOut = generateFor(testing::meshResources(full), "client-1");
  auto trimmedOut = generateFor(testing::meshResources(trimmed), "client-1");
  const auto [fullCount, fullBytes] = measure(fullOut.out);
  const auto [trimmedCount, trimmedBytes] = measure(trimmedOut.out);
  ::testing::Test::RecordProperty("full_resources", static_cast<int>(fullCount));
  ::testing::Test::RecordProperty("full_bytes", static_cast<int>(fullBytes));
  ::testing::Test::RecordProperty("trimmed_resources", static_cast<int>(trimmedCount));
  ::testing::Test::RecordProperty("trimmed_bytes", static_cast<int>(trimmedBytes));
  std::cout << "reachableServices: full " << fullCount << " resources / " << fullBytes
            << " bytes, trimmed " << trimmedCount << " resources / " << trimmedBytes << " bytes"
            << std::endl;
  // 50 (+ the client's own) VIP outbounds, each a listener + cluster + endpoints, versus 3.
  EXPECT_EQ(fullOut.out.types.at(kEndpointType).size(), 51u);
  EXPECT_EQ(trimmedOut.out.types.at(kEndpointType).size(), 3u);
  EXPECT_EQ(fullCount - trimmedCount, 3u * (51u - 3u));
  EXPECT_LT(trimmedBytes * 5, fullBytes);
}

}  // namespace
}  // namespace kuma::xds
