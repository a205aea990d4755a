// MeshTimeout's xDS plugin: a merged conf → the Envoy fields it sets, with Kuma's built-in
// defaults under every conf.

#include <string>

#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/core/v3/protocol.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "source/plugins/policies/meshtimeout/xds_configurer.h"
#include "source/xds/envoy/envoy_util.h"
#include "test/plugins/policies/plugin_test_util.h"

namespace kuma::policies {
namespace {

using namespace testing;  // NOLINT: outTarget, inTarget, ms, common, clusterWithHttpOptions
using nlohmann::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
namespace cluster_v3 = envoy::config::cluster::v3;
namespace hcm_v3 = envoy::extensions::filters::network::http_connection_manager::v3;
namespace tcp_v3 = envoy::extensions::filters::network::tcp_proxy::v3;

const json kConf = json::parse(R"({
  "connectionTimeout": "2s", "idleTimeout": "20s",
  "http": {"requestTimeout": "1500ms", "streamIdleTimeout": "40s", "maxStreamDuration": "7s",
           "maxConnectionDuration": "8s", "requestHeadersTimeout": "300ms"}})");

TEST(MeshTimeoutXds, DefaultsUnderEveryConf) {
  const meshtimeout::Timeouts d = meshtimeout::timeoutsOf(json());
  EXPECT_EQ(d.connectionTimeout, seconds(5));
  EXPECT_EQ(d.idleTimeout, hours(1));
  EXPECT_EQ(d.streamIdleTimeout, minutes(30));
  EXPECT_EQ(d.requestTimeout, seconds(15));
  EXPECT_EQ(d.maxStreamDuration.count(), 0);
  EXPECT_EQ(d.maxConnectionDuration.count(), 0);
  EXPECT_EQ(d.requestHeadersTimeout.count(), 0);

  const meshtimeout::Timeouts partial =
      meshtimeout::timeoutsOf(json::parse(R"({"http": {"requestTimeout": "0s"}})"));
  EXPECT_EQ(partial.requestTimeout.count(), 0);
  EXPECT_EQ(partial.connectionTimeout, seconds(5));

  const meshtimeout::Timeouts all = meshtimeout::timeoutsOf(kConf);
  EXPECT_EQ(all.connectionTimeout, seconds(2));
  EXPECT_EQ(all.idleTimeout, seconds(20));
  EXPECT_EQ(all.requestTimeout, milliseconds(1500));
  EXPECT_EQ(all.streamIdleTimeout, seconds(40));
  EXPECT_EQ(all.maxStreamDuration, seconds(7));
  EXPECT_EQ(all.maxConnectionDuration, seconds(8));
  EXPECT_EQ(all.requestHeadersTimeout, milliseconds(300));
}

TEST(MeshTimeoutXds, MalformedValuesKeepTheDefaults) {
  const meshtimeout::Timeouts t = meshtimeout::timeoutsOf(
      json::parse(R"({"connectionTimeout": "soon", "idleTimeout": 12, "http": "fast"})"));
  EXPECT_EQ(t.connectionTimeout, seconds(5));
  EXPECT_EQ(t.idleTimeout, hours(1));
  EXPECT_EQ(t.requestTimeout, seconds(15));
  EXPECT_EQ(meshtimeout::timeoutsOf(json::array()).idleTimeout, hours(1));
}

TEST(MeshTimeoutXds, OutboundClusterOfHttpServiceGetsConnectAndCommonOptions) {
  meshtimeout::XdsConfigurer plugin;
  cluster_v3::Cluster c = clusterWithHttpOptions(true);
  ASSERT_TRUE(
      plugin.configureOutboundCluster(kConf, outTarget("api", xds::Protocol::Http), c).ok());
  EXPECT_EQ(ms(c.connect_timeout()), 2000);
  const auto expected = common(20000, 8000, 7000);
  // Byte-identical to composing the options with the common ones up front.
  EXPECT_EQ(c.typed_extension_protocol_options().at(xds::kHttpProtocolOptionsKey).value(),
            xds::httpProtocolOptionsAny(true, &expected).value());
}

TEST(MeshTimeoutXds, OutboundClusterOfTcpServiceGetsOnlyConnectTimeout) {
  meshtimeout::XdsConfigurer plugin;
  cluster_v3::Cluster c = clusterWithHttpOptions(true);
  const std::string before =
      c.typed_extension_protocol_options().at(xds::kHttpProtocolOptionsKey).value();
  ASSERT_TRUE(
      plugin.configureOutboundCluster(json(), outTarget("redis", xds::Protocol::Tcp), c).ok());
  EXPECT_EQ(ms(c.connect_timeout()), 5000);
  EXPECT_EQ(c.typed_extension_protocol_options().at(xds::kHttpProtocolOptionsKey).value(), before);
}

TEST(MeshTimeoutXds, InboundClusterCommonOptionsOnlyWhenHttp) {
  meshtimeout::XdsConfigurer plugin;
  cluster_v3::Cluster http1 = clusterWithHttpOptions(false);
  ASSERT_TRUE(
      plugin.configureInboundCluster(json(), inTarget(8080, xds::Protocol::Http), http1).ok());
  EXPECT_EQ(ms(http1.connect_timeout()), 5000);
  const auto defaults = common(3600 * 1000, 0, 0);
  EXPECT_EQ(http1.typed_extension_protocol_options().at(xds::kHttpProtocolOptionsKey).value(),
            xds::httpProtocolOptionsAny(false, &defaults).value());

  cluster_v3::Cluster tcp;  // the generator gives TCP inbounds no HTTP options
  ASSERT_TRUE(plugin.configureInboundCluster(kConf, inTarget(6379, xds::Protocol::Tcp), tcp).ok());
  EXPECT_EQ(ms(tcp.connect_timeout()), 2000);
  EXPECT_TRUE(tcp.typed_extension_protocol_options().empty());
}

TEST(MeshTimeoutXds, ForeignProtocolOptionsAreAnError) {
  meshtimeout::XdsConfigurer plugin;
  cluster_v3::Cluster c;
  auto& any = (*c.mutable_typed_extension_protocol_options())[xds::kHttpProtocolOptionsKey];
  any.set_type_url("type.googleapis.com/some.Other");
  EXPECT_EQ(plugin.configureOutboundCluster(kConf, outTarget("api", xds::Protocol::Http), c).code(),
            absl::StatusCode::kInvalidArgument);
  any.set_type_url(xds::kHttpProtocolOptionsType);
  any.set_value(std::string("\x0a\xff", 2));  // truncated length-delimited field
  EXPECT_EQ(plugin.configureOutboundCluster(kConf, outTarget("api", xds::Protocol::Http), c).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(MeshTimeoutXds, HcmTimeoutsDifferByDirection) {
  meshtimeout::XdsConfigurer plugin;
  hcm_v3::HttpConnectionManager inbound;
  ASSERT_TRUE(plugin.configureInboundHcm(kConf, inTarget(8080, xds::Protocol::Http), inbound).ok());
  EXPECT_EQ(ms(inbound.stream_idle_timeout()), 40000);
  EXPECT_EQ(ms(inbound.request_headers_timeout()), 300);

  hcm_v3::HttpConnectionManager outbound;
  ASSERT_TRUE(
      plugin.configureOutboundHcm(kConf, outTarget("api", xds::Protocol::Http), outbound).ok());
  EXPECT_FALSE(outbound.has_stream_idle_timeout());
  EXPECT_EQ(ms(outbound.request_headers_timeout()), 300);

  hcm_v3::HttpConnectionManager defaults;
  ASSERT_TRUE(
      plugin.configureInboundHcm(json(), inTarget(8080, xds::Protocol::Http), defaults).ok());
  EXPECT_EQ(ms(defaults.stream_idle_timeout()), 30 * 60 * 1000);
  EXPECT_TRUE(defaults.has_request_headers_timeout());
  EXPECT_EQ(ms(defaults.request_headers_timeout()), 0);
}

TEST(MeshTimeoutXds, RouteTimeouts) {
  meshtimeout::XdsConfigurer plugin;
  auto in = routeToCluster();
  ASSERT_TRUE(plugin.configureInboundRoute(json(), inTarget(8080, xds::Protocol::Http), in).ok());
  EXPECT_EQ(ms(in.route().timeout()), 15000);
  EXPECT_EQ(ms(in.route().idle_timeout()), 30 * 60 * 1000);

  auto out = routeToCluster();
  ASSERT_TRUE(
      plugin.configureOutboundRoute(kConf, outTarget("api", xds::Protocol::Grpc), out).ok());
  EXPECT_EQ(ms(out.route().timeout()), 1500);
  EXPECT_EQ(ms(out.route().idle_timeout()), 40000);

  envoy::config::route::v3::Route redirect;
  redirect.mutable_redirect()->set_path_redirect("/x");
  ASSERT_TRUE(
      plugin.configureOutboundRoute(kConf, outTarget("api", xds::Protocol::Http), redirect).ok());
  EXPECT_FALSE(redirect.has_route());
}

TEST(MeshTimeoutXds, TcpProxyIdleTimeout) {
  meshtimeout::XdsConfigurer plugin;
  tcp_v3::TcpProxy in;
  ASSERT_TRUE(plugin.configureInboundTcpProxy(json(), inTarget(6379, xds::Protocol::Tcp), in).ok());
  EXPECT_EQ(ms(in.idle_timeout()), 3600 * 1000);
  tcp_v3::TcpProxy out;
  ASSERT_TRUE(
      plugin.configureOutboundTcpProxy(kConf, outTarget("redis", xds::Protocol::Tcp), out).ok());
  EXPECT_EQ(ms(out.idle_timeout()), 20000);
}

}  // namespace
}  // namespace kuma::policies
