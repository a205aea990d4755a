// Kuma's HDS checks and report handling (health_checks.h): Envoy's own check on its admin port
// or socket, one TCP check per probed inbound with the probe's settings or the defaults, the
// transparent proxy's bind address, and inbound states after reports, with Envoy's own health
// gating every inbound.

#include "source/hds/health_checks.h"

#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace kuma::hds {
namespace {

using mesh::v1alpha1::Dataplane;
using Inbound = mesh::v1alpha1::Dataplane_Networking_Inbound;
namespace health_v3 = envoy::service::health::v3;
namespace core_v3 = envoy::config::core::v3;

Dataplane parse(const std::string& json) {
  Dataplane dp;
  const auto status = google::protobuf::util::JsonStringToMessage(json, &dp);
  EXPECT_TRUE(status.ok()) << status.ToString() << json;
  return dp;
}

const char kProbed[] = R"({"networking": {"address": "10.0.0.1", "admin": {"port": 9902},
  "inbound": [
    {"port": 8080, "servicePort": 18080, "tags": {"kuma.io/service": "web"},
     "serviceProbe": {"interval": "3s", "timeout": "0.500s", "healthyThreshold": 2,
                      "unhealthyThreshold": 4, "tcp": {}}},
    {"port": 9090, "tags": {"kuma.io/service": "admin"}},
    {"port": 7070, "serviceAddress": "10.0.0.9", "tags": {"kuma.io/service": "db"},
     "serviceProbe": {"tcp": {}}}]}})";

TEST(HdsHealthChecks, EnvoyItselfAndEveryProbedInbound) {
  SpecifierOptions options;
  const auto spec = healthCheckSpecifier(parse(kProbed), {}, options);
  ASSERT_EQ(spec.cluster_health_checks_size(), 3);
  EXPECT_EQ(spec.interval().seconds(), 5);

  const auto& envoy = spec.cluster_health_checks(0);
  EXPECT_EQ(envoy.cluster_name(), "kuma:envoy:admin");
  const auto& admin = envoy.locality_endpoints(0).endpoints(0).address().socket_address();
  EXPECT_EQ(admin.address(), "127.0.0.1");
  EXPECT_EQ(admin.port_value(), 9902u);
  EXPECT_EQ(envoy.health_checks(0).http_health_check().path(), "/ready");
  EXPECT_EQ(envoy.health_checks(0).timeout().seconds(), 2);

  const auto& web = spec.cluster_health_checks(1);
  EXPECT_EQ(web.cluster_name(), "localhost:18080");
  const auto& webAddress = web.locality_endpoints(0).endpoints(0).address().socket_address();
  EXPECT_EQ(webAddress.address(), "10.0.0.1");
  EXPECT_EQ(webAddress.port_value(), 18080u);
  const auto& check = web.health_checks(0);
  EXPECT_TRUE(check.has_tcp_health_check());
  EXPECT_EQ(check.interval().seconds(), 3);
  EXPECT_EQ(check.timeout().nanos(), 500000000);
  EXPECT_EQ(check.healthy_threshold().value(), 2u);
  EXPECT_EQ(check.unhealthy_threshold().value(), 4u);
  EXPECT_EQ(check.no_traffic_interval().seconds(), 1);
  EXPECT_FALSE(web.has_upstream_bind_config());

  const auto& db = spec.cluster_health_checks(2);
  EXPECT_EQ(db.cluster_name(), "localhost:7070");
  EXPECT_EQ(db.locality_endpoints(0).endpoints(0).address().socket_address().address(), "10.0.0.9");
  EXPECT_EQ(db.health_checks(0).interval().seconds(), 1);  // the defaults
  EXPECT_EQ(db.health_checks(0).healthy_threshold().value(), 1u);
}

TEST(HdsHealthChecks, AdminSocketAndTransparentProxyBind) {
  Dataplane dp = parse(kProbed);
  dp.mutable_networking()->mutable_transparent_proxying()->set_redirect_port_inbound(15006);
  const auto spec = healthCheckSpecifier(dp, {.adminSocketPath = "/tmp/kuma-admin.sock"}, {});
  EXPECT_EQ(
      spec.cluster_health_checks(0).locality_endpoints(0).endpoints(0).address().pipe().path(),
      "/tmp/kuma-admin.sock");
  EXPECT_EQ(spec.cluster_health_checks(1).upstream_bind_config().source_address().address(),
            "127.0.0.6");
}

health_v3::EndpointHealthResponse report(
    const std::vector<std::pair<std::string, core_v3::HealthStatus>>& clusters) {
  health_v3::EndpointHealthResponse out;
  for (const auto& [name, status] : clusters) {
    auto* c = out.add_cluster_endpoints_health();
    c->set_cluster_name(name);
    c->add_locality_endpoints_health()->add_endpoints_health()->set_health_status(status);
  }
  return out;
}

TEST(HdsHealthChecks, ReportsSetInboundStates) {
  Dataplane dp = parse(kProbed);
  for (auto& inbound : *dp.mutable_networking()->mutable_inbound()) {
    inbound.set_state(Inbound::NotReady);
  }
  std::string error;
  // web's probe fails, db's passes, admin (no probe) follows Envoy.
  auto updated = dataplaneWithHealth(dp,
                                     report({{"kuma:envoy:admin", core_v3::HEALTHY},
                                             {"localhost:18080", core_v3::UNHEALTHY},
                                             {"localhost:7070", core_v3::HEALTHY}}),
                                     &error);
  ASSERT_TRUE(updated.has_value()) << error;
  EXPECT_EQ(updated->networking().inbound(0).state(), Inbound::NotReady);
  EXPECT_EQ(updated->networking().inbound(1).state(), Inbound::Ready);
  EXPECT_TRUE(updated->networking().inbound(1).health().ready());
  EXPECT_EQ(updated->networking().inbound(2).state(), Inbound::Ready);
  // The same report again changes nothing.
  EXPECT_FALSE(dataplaneWithHealth(*updated,
                                   report({{"kuma:envoy:admin", core_v3::HEALTHY},
                                           {"localhost:18080", core_v3::UNHEALTHY},
                                           {"localhost:7070", core_v3::HEALTHY}}),
                                   &error)
                   .has_value());
  // Envoy itself unhealthy (draining): every inbound NotReady.
  auto draining = dataplaneWithHealth(
      *updated,
      report({{"kuma:envoy:admin", core_v3::UNHEALTHY}, {"localhost:7070", core_v3::HEALTHY}}),
      &error);
  ASSERT_TRUE(draining.has_value());
  for (const auto& inbound : draining->networking().inbound()) {
    EXPECT_EQ(inbound.state(), Inbound::NotReady);
    EXPECT_FALSE(inbound.health().ready());
  }
  // A cluster name that is not Kuma's: Kuma's error, nothing changes.
  EXPECT_FALSE(dataplaneWithHealth(dp, report({{"other", core_v3::HEALTHY}}), &error).has_value());
  EXPECT_EQ(error, "failed to  parse local cluster name: other");
}

}  // namespace
}  // namespace kuma::hds
