// Unit tests of kuma-xds-load's pure parts: options, the emulated proxy's identity, the xDS
// client state machine (SotW and delta) and the report.

#include "absl/strings/str_cat.h"
#include "bench/xds_load/ads_state.h"
#include "bench/xds_load/options.h"
#include "bench/xds_load/proxy_spec.h"
#include "bench/xds_load/report.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/config/endpoint/v3/endpoint.pb.h"
#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/config/route/v3/route.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kuma::bench::load {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
namespace discovery = envoy::service::discovery::v3;

LoadOptions parsed(std::vector<std::string> args) {
  args.push_back("--insecure-skip-verify");
  auto o = parseOptions(args);
  EXPECT_TRUE(o.ok()) << o.status();
  return o.ok() ? *o : LoadOptions{};
}

std::string parseError(std::vector<std::string> args) {
  auto o = parseOptions(args);
  EXPECT_FALSE(o.ok());
  return o.ok() ? "" : std::string(o.status().message());
}

TEST(XdsLoadOptions, ParsesEveryFlag) {
  LoadOptions o = parsed({"--cp-address",
                          "cp:5678",
                          "--dataplanes",
                          "20",
                          "--services",
                          "5",
                          "--inbounds",
                          "2",
                          "--reachable-services",
                          "3",
                          "--ramp-up",
                          "2s",
                          "--protocol",
                          "delta",
                          "--duration",
                          "1m",
                          "--mesh",
                          "m1",
                          "--name-prefix",
                          "dp",
                          "--output-json",
                          "/tmp/x.json",
                          "--summary",
                          "--expect-complete",
                          "--timeout",
                          "30s",
                          "--server-name",
                          "kuma",
                          "--proxies-per-connection",
                          "4"});
  EXPECT_EQ(o.cpAddress, "cp:5678");
  EXPECT_EQ(o.dataplanes, 20u);
  EXPECT_EQ(o.services, 5u);
  EXPECT_EQ(o.inbounds, 2u);
  EXPECT_EQ(o.reachableServices, 3u);
  EXPECT_EQ(o.rampUp, std::chrono::seconds(2));
  EXPECT_EQ(o.protocol, Protocol::Delta);
  EXPECT_EQ(o.duration, std::chrono::minutes(1));
  EXPECT_TRUE(o.durationSet);
  EXPECT_EQ(o.mesh, "m1");
  EXPECT_EQ(o.namePrefix, "dp");
  EXPECT_TRUE(o.summary);
  EXPECT_TRUE(o.expectComplete);
  EXPECT_EQ(o.timeout, std::chrono::seconds(30));
  EXPECT_EQ(o.serverName, "kuma");
  EXPECT_EQ(o.proxiesPerConnection, 4u);
  EXPECT_FALSE(parsed({}).durationSet);
}

TEST(XdsLoadOptions, RejectsBadInput) {
  EXPECT_THAT(parseError({"--insecure-skip-verify", "--protocol", "grpc"}),
              HasSubstr("--protocol"));
  EXPECT_THAT(parseError({"--insecure-skip-verify", "--ramp-up", "10"}), HasSubstr("--ramp-up"));
  EXPECT_THAT(parseError({"--insecure-skip-verify", "--timeout", "-1s"}), HasSubstr("negative"));
  EXPECT_THAT(parseError({"--insecure-skip-verify", "--cp-address", "nohost"}),
              HasSubstr("--cp-address"));
  EXPECT_THAT(parseError({"--insecure-skip-verify", "--cp-address", "h:99999"}),
              HasSubstr("--cp-address"));
  EXPECT_THAT(parseError({"--insecure-skip-verify", "--dataplanes", "0"}),
              HasSubstr("--dataplanes"));
  EXPECT_THAT(
      parseError({"--insecure-skip-verify", "--services", "3", "--reachable-services", "3"}),
      HasSubstr("below --services"));
  EXPECT_THAT(
      parseError({"--insecure-skip-verify", "--reachable-services", "2", "--transparent-proxy"}),
      HasSubstr("exclusive"));
  EXPECT_THAT(parseError({"--insecure-skip-verify", "--outbounds", "2", "--transparent-proxy"}),
              HasSubstr("--outbounds"));
  EXPECT_THAT(parseError({"--insecure-skip-verify", "--mesh", "a.b"}), HasSubstr("--mesh"));
  EXPECT_THAT(parseError({"--dataplanes", "3"}), HasSubstr("--ca-cert-file"));
  EXPECT_THAT(parseError({"--insecure-skip-verify", "--no-such-flag"}), HasSubstr("no-such-flag"));
  EXPECT_THAT(parseError({"--insecure-skip-verify", "--dataplanes", "many"}),
              HasSubstr("dataplanes"));
}

TEST(XdsLoadOptions, Help) {
  auto o = parseOptions({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->helpRequested);
  EXPECT_THAT(o->helpText, HasSubstr("--reachable-services"));
}

TEST(XdsLoadProxySpec, AssignsServicesRoundRobin) {
  LoadOptions o = parsed({"--services", "3", "--outbounds", "2", "--mesh", "m"});
  ProxySpec p4 = makeProxySpec(o, 4);
  EXPECT_EQ(p4.name, "load-4");
  EXPECT_EQ(p4.nodeId, "m.load-4");
  EXPECT_THAT(p4.inboundServices, ElementsAre("svc-0001"));
  EXPECT_THAT(p4.destinations, ElementsAre("svc-0002", "svc-0000"));
  const auto& net = p4.dataplane["networking"];
  EXPECT_EQ(p4.dataplane["mesh"], "m");
  EXPECT_EQ(net["address"], "10.0.0.5");
  ASSERT_EQ(net["outbound"].size(), 2u);
  EXPECT_EQ(net["outbound"][1]["tags"]["kuma.io/service"], "svc-0000");
  EXPECT_FALSE(net.contains("transparentProxying"));

  LoadOptions multi = parsed({"--services", "5", "--inbounds", "2"});
  EXPECT_THAT(makeProxySpec(multi, 3).inboundServices, ElementsAre("svc-0001", "svc-0002"));
  EXPECT_EQ(serviceName(7, 20000), "svc-00007");
}

TEST(XdsLoadProxySpec, TransparentProxyModes) {
  LoadOptions reach = parsed({"--services", "10", "--reachable-services", "3"});
  ProxySpec p = makeProxySpec(reach, 9);
  const auto& tp = p.dataplane["networking"]["transparentProxying"];
  EXPECT_EQ(tp["reachableServices"], nlohmann::json({"svc-0000", "svc-0001", "svc-0002"}));
  EXPECT_FALSE(p.dataplane["networking"].contains("outbound"));

  LoadOptions all = parsed({"--transparent-proxy"});
  ProxySpec q = makeProxySpec(all, 0);
  EXPECT_TRUE(q.dataplane["networking"]["transparentProxying"].is_object());
  EXPECT_FALSE(q.dataplane["networking"]["transparentProxying"].contains("reachableServices"));
  EXPECT_THAT(q.destinations, IsEmpty());
}

TEST(XdsLoadProxySpec, NodeAsKumaDpBootstraps) {
  LoadOptions o = parsed({"--protocol", "delta"});
  ProxySpec p = makeProxySpec(o, 2);
  auto node = makeNode(o, p);
  EXPECT_EQ(node.id(), "default.load-2");
  EXPECT_EQ(node.cluster(), "svc-0002");
  const auto& md = node.metadata().fields();
  ASSERT_TRUE(md.contains("dataplane.resource"));
  EXPECT_EQ(nlohmann::json::parse(md.at("dataplane.resource").string_value()), p.dataplane);
  EXPECT_EQ(md.at("dataplane.admin.port").string_value(), "9901");
  EXPECT_EQ(md.at("dataplane.proxyType").string_value(), "dataplane");
  bool delta = false;
  for (const auto& f : md.at("features").list_value().values()) {
    delta = delta || f.string_value() == "feature-delta-grpc";
  }
  EXPECT_TRUE(delta);
  EXPECT_TRUE(md.at("version").struct_value().fields().contains("envoy"));
  EXPECT_EQ(node.user_agent_name(), "envoy");
}

// --- AdsState ----------------------------------------------------------------------------------

google::protobuf::Any edsCluster(const std::string& name) {
  envoy::config::cluster::v3::Cluster c;
  c.set_name(name);
  c.set_type(envoy::config::cluster::v3::Cluster::EDS);
  c.mutable_eds_cluster_config()->mutable_eds_config()->mutable_ads();
  google::protobuf::Any any;
  any.PackFrom(c);
  return any;
}

google::protobuf::Any staticCluster(const std::string& name) {
  envoy::config::cluster::v3::Cluster c;
  c.set_name(name);
  c.set_type(envoy::config::cluster::v3::Cluster::STATIC);
  google::protobuf::Any any;
  any.PackFrom(c);
  return any;
}

google::protobuf::Any cla(const std::string& name) {
  envoy::config::endpoint::v3::ClusterLoadAssignment c;
  c.set_cluster_name(name);
  google::protobuf::Any any;
  any.PackFrom(c);
  return any;
}

google::protobuf::Any listener(const std::string& name, const std::string& rds = "") {
  envoy::config::listener::v3::Listener l;
  l.set_name(name);
  if (!rds.empty()) {
    envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager hcm;
    hcm.mutable_rds()->set_route_config_name(rds);
    auto* f = l.add_filter_chains()->add_filters();
    f->set_name("envoy.filters.network.http_connection_manager");
    f->mutable_typed_config()->PackFrom(hcm);
  }
  google::protobuf::Any any;
  any.PackFrom(l);
  return any;
}

google::protobuf::Any route(const std::string& name) {
  envoy::config::route::v3::RouteConfiguration r;
  r.set_name(name);
  google::protobuf::Any any;
  any.PackFrom(r);
  return any;
}

discovery::DiscoveryResponse sotw(XdsType type, const std::string& version,
                                  const std::string& nonce,
                                  std::vector<google::protobuf::Any> resources) {
  discovery::DiscoveryResponse r;
  r.set_type_url(xdsTypeUrl(type));
  r.set_version_info(version);
  r.set_nonce(nonce);
  for (auto& a : resources) {
    *r.add_resources() = std::move(a);
  }
  return r;
}

std::vector<std::string> names(const discovery::DiscoveryRequest& r) {
  return {r.resource_names().begin(), r.resource_names().end()};
}

AdsState newState(Protocol protocol) {
  envoy::config::core::v3::Node node;
  node.set_id("default.dp-1");
  return AdsState(protocol, node);
}

TEST(XdsLoadAdsState, SotwSubscribesLikeEnvoyAndCompletes) {
  AdsState s = newState(Protocol::Sotw);
  const auto t0 = std::chrono::steady_clock::now();
  auto start = s.startSotw(t0);
  ASSERT_EQ(start.size(), 2u);
  EXPECT_EQ(start[0].type_url(), xdsTypeUrl(XdsType::Cds));
  EXPECT_EQ(start[0].node().id(), "default.dp-1");
  EXPECT_EQ(start[1].type_url(), xdsTypeUrl(XdsType::Lds));
  EXPECT_FALSE(start[1].has_node());
  EXPECT_TRUE(start[0].resource_names().empty());

  auto out = s.onSotwResponse(
      sotw(XdsType::Cds, "c1", "n1", {edsCluster("b"), edsCluster("a"), staticCluster("local")}),
      t0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type_url(), xdsTypeUrl(XdsType::Eds));
  EXPECT_THAT(names(out[0]), ElementsAre("a", "b"));
  EXPECT_EQ(out[1].type_url(), xdsTypeUrl(XdsType::Cds));
  EXPECT_EQ(out[1].version_info(), "c1");
  EXPECT_EQ(out[1].response_nonce(), "n1");
  EXPECT_FALSE(s.complete());

  out = s.onSotwResponse(sotw(XdsType::Lds, "l1", "n2", {listener("in")}), t0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(s.complete());
  // A partial EDS answer does not complete the config.
  s.onSotwResponse(sotw(XdsType::Eds, "e1", "n3", {cla("a")}), t0);
  EXPECT_FALSE(s.complete());
  EXPECT_THAT(s.missing(), ElementsAre("EDS:b"));
  out = s.onSotwResponse(sotw(XdsType::Eds, "e2", "n4", {cla("a"), cla("b")}), t0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].version_info(), "e2");
  EXPECT_THAT(names(out[0]), ElementsAre("a", "b"));
  EXPECT_TRUE(s.complete());
  s.markCompleteAcked(t0 + std::chrono::milliseconds(5));
  ASSERT_TRUE(s.firstComplete().has_value());
  EXPECT_EQ(*s.firstComplete(), t0 + std::chrono::milliseconds(5));
  EXPECT_EQ(s.held(XdsType::Cds), 3u);
  EXPECT_EQ(s.held(XdsType::Eds), 2u);
  EXPECT_EQ(s.totalResponses(), 4u);
  EXPECT_EQ(s.totalResourcesReceived(), 7u);
  EXPECT_GT(s.totalBytes(), 0u);

  // Timeline: open, CDS c1, LDS l1, EDS e1, EDS e2, complete; the same version is no change.
  s.onSotwResponse(sotw(XdsType::Lds, "l1", "n5", {listener("in")}), t0);
  std::vector<std::string> kinds;
  for (const auto& e : s.timeline()) {
    kinds.push_back(absl::StrCat(e.kind, ":", e.detail));
  }
  EXPECT_THAT(kinds, ElementsAre("open:", "CDS:c1", "LDS:l1", "EDS:e1", "EDS:e2", "complete:"));

  // Reconnect: every subscription again with the accepted versions, no nonces; incomplete until
  // the new stream answered.
  s.markClosed(t0, "14 unavailable");
  auto again = s.startSotw(t0);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].version_info(), "c1");
  EXPECT_TRUE(again[0].response_nonce().empty());
  EXPECT_TRUE(again[0].has_node());
  EXPECT_EQ(again[2].type_url(), xdsTypeUrl(XdsType::Eds));
  EXPECT_THAT(names(again[2]), ElementsAre("a", "b"));
  EXPECT_FALSE(s.complete());
  EXPECT_EQ(s.streams(), 2u);
}

TEST(XdsLoadAdsState, SotwFollowsRdsAndClusterChanges) {
  AdsState s = newState(Protocol::Sotw);
  const auto t0 = std::chrono::steady_clock::now();
  s.startSotw(t0);
  s.onSotwResponse(sotw(XdsType::Cds, "c1", "n1", {staticCluster("x")}), t0);
  auto out = s.onSotwResponse(sotw(XdsType::Lds, "l1", "n2", {listener("l", "r1")}), t0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type_url(), xdsTypeUrl(XdsType::Rds));
  EXPECT_THAT(names(out[0]), ElementsAre("r1"));
  EXPECT_FALSE(s.complete());
  s.onSotwResponse(sotw(XdsType::Rds, "r", "n3", {route("r1")}), t0);
  EXPECT_TRUE(s.complete());
  // A new EDS cluster: subscription with the last EDS nonce (none yet), incomplete until held.
  out = s.onSotwResponse(sotw(XdsType::Cds, "c2", "n4", {edsCluster("new")}), t0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_THAT(names(out[0]), ElementsAre("new"));
  EXPECT_FALSE(s.complete());
  // Unknown types are ACKed.
  discovery::DiscoveryResponse other;
  other.set_type_url("type.googleapis.com/some.Other");
  other.set_nonce("n9");
  out = s.onSotwResponse(other, t0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].response_nonce(), "n9");
  // Garbage inside an Any is counted, not fatal.
  google::protobuf::Any bad;
  bad.set_type_url(xdsTypeUrl(XdsType::Eds));
  bad.set_value("\xff\xff\xff");
  s.onSotwResponse(sotw(XdsType::Eds, "e", "n10", {bad}), t0);
  EXPECT_EQ(s.decodeErrors(), 1u);
}

discovery::DeltaDiscoveryResponse delta(
    XdsType type, const std::string& nonce,
    std::vector<std::pair<std::string, google::protobuf::Any>> resources,
    std::vector<std::string> removed = {}) {
  discovery::DeltaDiscoveryResponse r;
  r.set_type_url(xdsTypeUrl(type));
  r.set_nonce(nonce);
  r.set_system_version_info("sys-" + nonce);
  for (auto& [name, any] : resources) {
    auto* res = r.add_resources();
    res->set_name(name);
    res->set_version("v-" + nonce);
    *res->mutable_resource() = any;
  }
  for (auto& n : removed) {
    r.add_removed_resources(n);
  }
  return r;
}

TEST(XdsLoadAdsState, DeltaSubscribesAndUnsubscribes) {
  AdsState s = newState(Protocol::Delta);
  const auto t0 = std::chrono::steady_clock::now();
  auto start = s.startDelta(t0);
  ASSERT_EQ(start.size(), 2u);
  EXPECT_TRUE(start[0].has_node());
  EXPECT_TRUE(start[0].resource_names_subscribe().empty());
  auto out = s.onDeltaResponse(
      delta(XdsType::Cds, "1", {{"a", edsCluster("a")}, {"b", edsCluster("b")}}), t0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].type_url(), xdsTypeUrl(XdsType::Eds));
  EXPECT_THAT(std::vector<std::string>(out[0].resource_names_subscribe().begin(),
                                       out[0].resource_names_subscribe().end()),
              ElementsAre("a", "b"));
  EXPECT_EQ(out[1].response_nonce(), "1");
  s.onDeltaResponse(delta(XdsType::Lds, "2", {{"l", listener("l")}}), t0);
  s.onDeltaResponse(delta(XdsType::Eds, "3", {{"a", cla("a")}, {"b", cla("b")}}), t0);
  EXPECT_TRUE(s.complete());

  // Cluster b removed, c added: one EDS request with both changes, only a new name pending.
  out = s.onDeltaResponse(delta(XdsType::Cds, "4", {{"c", edsCluster("c")}}, {"b"}), t0);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_THAT(std::vector<std::string>(out[0].resource_names_subscribe().begin(),
                                       out[0].resource_names_subscribe().end()),
              ElementsAre("c"));
  EXPECT_THAT(std::vector<std::string>(out[0].resource_names_unsubscribe().begin(),
                                       out[0].resource_names_unsubscribe().end()),
              ElementsAre("b"));
  EXPECT_FALSE(s.complete());
  EXPECT_EQ(s.held(XdsType::Cds), 2u);
  s.onDeltaResponse(delta(XdsType::Eds, "5", {{"c", cla("c")}}), t0);
  EXPECT_TRUE(s.complete());

  // Reconnect: initial_resource_versions carry what is held.
  auto again = s.startDelta(t0);
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].initial_resource_versions().at("a"), "v-1");
  EXPECT_EQ(again[2].initial_resource_versions().at("c"), "v-5");
  EXPECT_EQ(again[2].resource_names_subscribe_size(), 2);
}

// --- report ------------------------------------------------------------------------------------

TEST(XdsLoadReport, Percentiles) {
  EXPECT_EQ(percentile({}, 50), 0);
  EXPECT_EQ(percentile({3, 1, 2}, 50), 2);
  EXPECT_EQ(percentile({3, 1, 2}, 100), 3);
  std::vector<double> hundred;
  for (int i = 100; i >= 1; --i) {
    hundred.push_back(i);
  }
  EXPECT_EQ(percentile(hundred, 99), 99);
  EXPECT_EQ(percentile(hundred, 0), 1);
}

TEST(XdsLoadReport, SummaryCountsCompleteProxies) {
  LoadOptions o = parsed({"--dataplanes", "2", "--timeout", "1s"});
  EpochClock clock;
  const auto t0 = clock.steadyStart();
  AdsState done = newState(Protocol::Sotw);
  done.startSotw(t0);
  done.onSotwResponse(sotw(XdsType::Cds, "c", "1", {staticCluster("x")}), t0);
  done.onSotwResponse(sotw(XdsType::Lds, "l", "2", {listener("l")}), t0);
  done.markCompleteAcked(t0 + std::chrono::milliseconds(40));
  AdsState late = newState(Protocol::Sotw);
  late.startSotw(t0);
  late.onSotwResponse(sotw(XdsType::Cds, "c", "1", {staticCluster("x")}), t0);
  late.onSotwResponse(sotw(XdsType::Lds, "l", "2", {listener("l")}), t0);
  late.markCompleteAcked(t0 + std::chrono::seconds(2));  // after the 1s timeout
  AdsState never = newState(Protocol::Sotw);
  never.startSotw(t0);

  std::vector<nlohmann::json> proxies = {proxyJson(makeProxySpec(o, 0), done, clock),
                                         proxyJson(makeProxySpec(o, 1), late, clock),
                                         proxyJson(makeProxySpec(o, 2), never, clock)};
  EXPECT_DOUBLE_EQ(proxies[0]["ttfc_ms"].get<double>(), 40.0);
  EXPECT_TRUE(proxies[2]["ttfc_ms"].is_null());
  EXPECT_EQ(proxies[2]["missing"], nlohmann::json({"CDS", "LDS"}));
  EXPECT_EQ(proxies[0]["timeline"][0][1], "open");
  auto report = reportJson(o, clock, t0, proxies);
  const auto& s = report["summary"];
  EXPECT_EQ(s["proxies"], 3);
  EXPECT_EQ(s["complete"], 2);
  EXPECT_EQ(s["complete_in_time"], 1);
  EXPECT_EQ(s["ttfc_ms"]["max"], 2000.0);
  EXPECT_FALSE(report["proxies"][1]["complete_in_time"].get<bool>());
  EXPECT_THAT(summaryTable(report), HasSubstr("sotw"));
}

}  // namespace
}  // namespace kuma::bench::load
