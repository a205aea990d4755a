// DNS for transparent proxies (spec §7.3, §7.3.1; Kuma's DNSGenerator and dynconf): the
// `kuma:dns` UDP listener, or with feature-embedded-dns the `_kuma:dynamicconfig` /dns route.

#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/udp/dns_filter/v3/dns_filter.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "source/xds/generator/dns_generator.h"
#include "source/xds/generator/generator.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::listener::v3::Listener;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using envoy::extensions::filters::udp::dns_filter::v3::DnsFilterConfig;

GeneratedResources generateWith(const std::string& dpYaml, ProxyOptions options) {
  auto ctx = MeshContext::build(testing::caseResources(dpYaml));
  EXPECT_TRUE(ctx.ok()) << ctx.status();
  auto out = generate(**ctx, *testing::dataplaneOf(**ctx, "web-1"), testing::withPlugins(options));
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? std::move(*out) : GeneratedResources{};
}

// web-1 without reachableServices: outbounds (and names) for api, redis and web.
std::string everyVipDataplane(const std::string& family) {
  std::string dp = testing::caseBDataplane();
  dp = dp.substr(0, dp.find("    reachableServices"));
  dp.replace(dp.find("    ipFamilyMode: DualStack\n"), 28, "    ipFamilyMode: " + family + "\n");
  return dp;
}

TEST(DnsGenerator, NamesOnlyForOutboundAddresses) {
  const std::vector<VipDomain> domains = {{"240.0.0.0", HostnameKind::kService, "api"},
                                          {"240.0.0.1", HostnameKind::kService, "my_db"},
                                          {"240.0.0.2", HostnameKind::kService, "trimmed"},
                                          {"240.0.0.3", HostnameKind::kHost, "httpbin.org"},
                                          {"240.0.0.4", HostnameKind::kFqdn, "api.v1.vo"}};
  auto records =
      dnsRecords(domains, {"240.0.0.0", "240.0.0.1", "240.0.0.3", "240.0.0.4"}, "mesh", true);
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[0].name, "api.mesh");
  EXPECT_THAT(records[0].ips, ::testing::ElementsAre("240.0.0.0", "::ffff:f000:0"));
  EXPECT_EQ(records[1].name, "api.v1.vo");  // a VirtualOutbound's name: no domain added
  EXPECT_THAT(records[1].ips, ::testing::ElementsAre("240.0.0.4", "::ffff:f000:4"));
  EXPECT_EQ(records[2].name, "httpbin.org");
  EXPECT_EQ(records[3].name, "my.db.mesh");
  EXPECT_EQ(records[4].name, "my_db.mesh");
  EXPECT_EQ(toV6("240.0.1.2"), "::ffff:f000:102");
  EXPECT_EQ(toV6("fd00::1"), "fd00::1");
  EXPECT_EQ(dynamicConfigSocketPath("/tmp/w"), "/tmp/w/kuma-mesh-metric-config.sock");
  EXPECT_EQ(dynamicConfigSocketPath(std::string(120, 'd')).size(), 98u + 5u);
}

TEST(DnsGenerator, DnsListenerOnTheReportedPort) {
  ProxyOptions options;
  options.dnsPort = 15054;
  options.reusePort = true;
  auto out = generateWith(everyVipDataplane("IPv4"), options);
  auto l = testing::decode<Listener>(out, kListenerType, "kuma:dns");
  EXPECT_EQ(l.address().socket_address().address(), "127.0.0.1");
  EXPECT_EQ(l.address().socket_address().port_value(), 15054u);
  EXPECT_EQ(l.address().socket_address().protocol(), envoy::config::core::v3::SocketAddress::UDP);
  EXPECT_EQ(l.traffic_direction(), envoy::config::core::v3::INBOUND);
  EXPECT_TRUE(l.enable_reuse_port().value());
  ASSERT_EQ(l.listener_filters_size(), 1);
  EXPECT_EQ(l.listener_filters(0).name(), "envoy.filters.udp.dns_filter");
  DnsFilterConfig config;
  ASSERT_TRUE(l.listener_filters(0).typed_config().UnpackTo(&config));
  EXPECT_EQ(config.stat_prefix(), "kuma_dns");
  const auto& domains = config.server_config().inline_dns_table().virtual_domains();
  ASSERT_EQ(domains.size(), 3);
  EXPECT_EQ(domains[0].name(), "api.mesh");
  EXPECT_THAT(domains[0].endpoint().address_list().address(), ::testing::ElementsAre("240.0.0.0"));
  EXPECT_EQ(domains[0].answer_ttl().seconds(), 30);
  EXPECT_EQ(domains[2].name(), "web.mesh");
}

TEST(DnsGenerator, NoDnsWithoutPortOrTransparencyOrWithBindOutbounds) {
  ProxyOptions options;
  auto none = generateWith(everyVipDataplane("IPv4"), options);
  EXPECT_EQ(none.find(kListenerType, "kuma:dns"), nullptr);
  options.dnsPort = 15054;
  options.bindOutbounds = true;
  auto bind = generateWith(everyVipDataplane("IPv4"), options);
  EXPECT_EQ(bind.find(kListenerType, "kuma:dns"), nullptr);
}

TEST(DnsGenerator, EmbeddedDnsGetsTheDynamicConfigRoute) {
  ProxyOptions options;
  options.dnsPort = 15054;
  options.embeddedDns = true;
  options.workDir = "/tmp/dp";
  auto out = generateWith(everyVipDataplane("DualStack"), options);
  EXPECT_EQ(out.find(kListenerType, "kuma:dns"), nullptr);
  auto l = testing::decode<Listener>(out, kListenerType, "_kuma:dynamicconfig");
  EXPECT_EQ(l.address().pipe().path(), "/tmp/dp/kuma-mesh-metric-config.sock");
  ASSERT_EQ(l.filter_chains_size(), 1);
  HttpConnectionManager hcm;
  ASSERT_TRUE(l.filter_chains(0).filters(0).typed_config().UnpackTo(&hcm));
  EXPECT_EQ(hcm.stat_prefix(), "_kuma_dynamicconfig");
  const auto& vh = hcm.route_config().virtual_hosts(0);
  ASSERT_EQ(vh.routes_size(), 2);
  const auto& ok = vh.routes(1);
  EXPECT_EQ(ok.name(), "_kuma:dynamicconfig:/dns");
  const std::string body = ok.direct_response().body().inline_string();
  const std::string etag = dynamicConfigEtag(body);
  EXPECT_EQ(etag.size(), 64u);
  EXPECT_EQ(vh.routes(0).match().headers(0).name(), "If-None-Match");
  EXPECT_EQ(vh.routes(0).match().headers(0).string_match().exact(), etag);
  EXPECT_EQ(vh.routes(0).direct_response().status(), 304u);
  EXPECT_EQ(ok.response_headers_to_add(0).header().key(), "Etag");
  EXPECT_EQ(ok.response_headers_to_add(0).header().value(), etag);
  EXPECT_EQ(hcm.route_config().max_direct_response_body_size_bytes().value(), body.size());
  // Kuma's JSON: records sorted by name (dual stack: the ::ffff: form too), ttl, extraLabels.
  EXPECT_TRUE(body.starts_with(
      R"({"records":[{"name":"api.mesh","ips":["240.0.0.0","::ffff:f000:0"]},{"name":"redis.mesh")"))
      << body;
  auto doc = nlohmann::json::parse(body);
  EXPECT_EQ(doc["ttl"], 30);
  EXPECT_EQ(doc["extraLabels"]["mesh"], "default");
  EXPECT_EQ(doc["records"].size(), 3u);
}

// dnsServer.CIDR: the allocator's range, first VIP its network address.
TEST(DnsGenerator, VipsComeFromTheConfiguredCidr) {
  MeshResources resources = testing::caseResources(everyVipDataplane("IPv4"));
  resources.vipCidr = "10.96.0.0/12";
  auto ctx = MeshContext::build(std::move(resources));
  ASSERT_TRUE(ctx.ok()) << ctx.status();
  EXPECT_EQ((*ctx)->vips().at("api"), "10.96.0.0");
  EXPECT_EQ((*ctx)->vips().at("web"), "10.96.0.2");
}

}  // namespace
}  // namespace kuma::xds
