// End to end with real Envoys: kuma-cp serves /bootstrap on the DP server port (HTTPS/1.1, as
// kuma-dp does) and ADS on the same port (gRPC/HTTP2, SotW and delta); two Envoys configured by
// it carry HTTP traffic web → backend through the outbound and inbound listeners it generated.
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

// Insights flushed every 200ms instead of 10s, so that counters show up quickly.
class XdsEnvoyInsightTest : public XdsEnvoyTest {
 protected:
  XdsEnvoyInsightTest() {
    extraEnv_ = {{"KUMA_XDS_SERVER_DATAPLANE_STATUS_FLUSH_INTERVAL", "200ms"}};
  }
};

// A uint64 counter of the REST JSON: a string, absent when zero (proto3 JSON).
std::optional<uint64_t> counter(const json& stats, const std::string& field) {
  if (!stats.is_object() || !stats.contains(field)) {
    return 0;
  }
  if (!stats[field].is_string()) {
    return std::nullopt;
  }
  return std::stoull(stats[field].get<std::string>());
}

TEST_F(XdsEnvoyInsightTest, TrafficFlowsThroughTwoEnvoysOverSotwAndDelta) {
  App backendApp("backend");
  App webApp("web");
  const uint16_t backendInbound = freePort();
  const uint16_t webInbound = freePort();
  const uint16_t webOutbound = freePort();
  Sidecar backend = startSidecar(
      dataplane("backend-1", freePort(), backendInbound, backendApp.port(), "backend"), false, 91);
  Sidecar web = startSidecar(
      dataplane("web-1", freePort(), webInbound, webApp.port(), "web", webOutbound), true, 92);
  ASSERT_TRUE(backend.envoy && web.envoy);

  // web's outbound listener → EDS cluster "backend" → backend's inbound listener → backend app.
  std::optional<std::string> body;
  const bool reached = eventually(
      [&] {
        body = httpGet(webOutbound, "/");
        return body.has_value() && *body == "hello from backend";
      },
      30s);
  ASSERT_TRUE(reached) << "kuma-cp:\n"
                       << cp_->output() << "\nweb envoy:\n"
                       << web.envoy->output() << "\nbackend envoy:\n"
                       << backend.envoy->output();
  EXPECT_EQ(httpGet(backendInbound, "/"), "hello from backend");
  EXPECT_EQ(httpGet(webInbound, "/"), "hello from web");

  // Both registered themselves through node metadata and show up in the REST API.
  httplib::Client api("127.0.0.1", cp_->apiPort());
  EXPECT_EQ(api.Get("/meshes/default/dataplanes/web-1")->status, 200);
  EXPECT_EQ(api.Get("/meshes/default/dataplanes/backend-1")->status, 200);

  // The DataplaneInsight of web-1 shows its live subscription with ACKed responses (spec §4.4).
  json overview;
  const bool insightShown = eventually(
      [&] {
        auto res = api.Get("/meshes/default/dataplanes/web-1/_overview");
        if (!res || res->status != 200) {
          return false;
        }
        overview = json::parse(res->body, nullptr, false);
        const json& subs = overview["dataplaneInsight"]["subscriptions"];
        if (!subs.is_array() || subs.empty()) {
          return false;
        }
        // LDS comes after CDS: a flush between the two ACKs shows totals without LDS yet.
        const auto acked = counter(subs.back()["status"]["lds"], "responsesAcknowledged");
        return acked.has_value() && *acked > 0;
      },
      15s);
  ASSERT_TRUE(insightShown) << overview.dump(2);
  {
    const json& sub = overview["dataplaneInsight"]["subscriptions"].back();
    EXPECT_TRUE(sub["id"].is_string() && !sub["id"].get<std::string>().empty()) << sub.dump();
    EXPECT_TRUE(sub["controlPlaneInstanceId"].is_string()) << sub.dump();
    EXPECT_TRUE(sub["connectTime"].is_string()) << sub.dump();
    EXPECT_FALSE(sub.contains("disconnectTime")) << sub.dump();
    const json& total = sub["status"]["total"];
    EXPECT_TRUE(total["responsesAcknowledged"].is_string()) << sub.dump();
    EXPECT_TRUE(total["responsesSent"].is_string()) << sub.dump();
    EXPECT_EQ(counter(total, "responsesRejected"), 0u) << sub.dump();
    EXPECT_GE(counter(total, "responsesSent").value_or(0),
              counter(total, "responsesAcknowledged").value_or(0))
        << sub.dump();
    EXPECT_GT(counter(sub["status"]["lds"], "responsesAcknowledged").value_or(0), 0u) << sub.dump();
    EXPECT_EQ(sub["version"]["kumaDp"]["version"], "2.14.3") << sub.dump();
  }

  // Envoy rejected nothing it was sent.
  for (const Sidecar* s : {&backend, &web}) {
    EXPECT_EQ(envoyStat(s->adminPort, "listener_manager.lds.update_rejected"), 0) << s->name;
    EXPECT_EQ(envoyStat(s->adminPort, "cluster_manager.cds.update_rejected"), 0) << s->name;
    EXPECT_GE(envoyStat(s->adminPort, "listener_manager.lds.update_success"), 1) << s->name;
  }
  auto dump = httpGet(web.adminPort, "/config_dump");
  ASSERT_TRUE(dump.has_value());
  EXPECT_THAT(*dump, ::testing::HasSubstr("outbound:127.0.0.1:" + std::to_string(webOutbound)));
  EXPECT_THAT(*dump, ::testing::HasSubstr("inbound:127.0.0.1:" + std::to_string(webInbound)));

  // A config change reaches the running Envoy without a restart: a second backend instance.
  const long before = envoyStat(web.adminPort, "cluster.backend.membership_total");
  EXPECT_EQ(before, 1);
  App backendApp2("backend-2");
  const uint16_t backend2Inbound = freePort();
  Sidecar backend2 = startSidecar(
      dataplane("backend-2", freePort(), backend2Inbound, backendApp2.port(), "backend"), false,
      93);
  EXPECT_TRUE(eventually(
      [&] { return envoyStat(web.adminPort, "cluster.backend.membership_total") == 2; }, 20s))
      << cp_->output();

  // Stopping a self-registered proxy deregisters it after the (1s) delay.
  EXPECT_EQ(backend2.envoy->stop(SIGTERM, 10s), 0);
  EXPECT_TRUE(eventually(
      [&] { return api.Get("/meshes/default/dataplanes/backend-2")->status == 404; }, 15s));
  EXPECT_TRUE(eventually(
      [&] { return envoyStat(web.adminPort, "cluster.backend.membership_total") == 1; }, 20s));
  EXPECT_EQ(httpGet(webOutbound, "/"), "hello from backend");
}

TEST_F(XdsEnvoyTest, SecondStreamForTheSameProxyIsRejected) {
  App app("solo");
  const json dp = dataplane("solo-1", freePort(), freePort(), app.port(), "solo");
  Sidecar first = startSidecar(dp, false, 94);
  httplib::Client api("127.0.0.1", cp_->apiPort());
  ASSERT_TRUE(eventually(
      [&] { return envoyStat(first.adminPort, "listener_manager.lds.update_success") >= 1; }, 30s));
  // A second Envoy claiming the same identity (different admin port) is refused...
  json clone = dp;
  clone["networking"]["admin"]["port"] = freePort();
  Sidecar second = startSidecar(clone, false, 95);
  EXPECT_TRUE(eventually(
      [&] { return second.envoy->output().find("already an active stream") != std::string::npos; },
      20s))
      << second.envoy->output();
  EXPECT_LT(envoyStat(second.adminPort, "listener_manager.lds.update_success"), 1);
  // ...while the first keeps working.
  EXPECT_TRUE(first.envoy->running());
  EXPECT_GE(envoyStat(first.adminPort, "listener_manager.lds.update_success"), 1);
}

}  // namespace
}  // namespace kuma::test
