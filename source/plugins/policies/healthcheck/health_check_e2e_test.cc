// End to end with a real Envoy: a legacy HealthCheck takes effect as in Kuma 2.14 (on the legacy
// outbound path, i.e. with a TrafficRoute in the mesh). `backend` has two endpoints, one of them
// dead (nothing listens on its port). Without the HealthCheck Envoy keeps both endpoints healthy
// and sends connections to the dead one; with a TCP HealthCheck every 1 s Envoy marks the dead
// endpoint `/failed_active_hc` in its /clusters and every request through web's outbound reaches
// the live endpoint.

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

class LegacyHealthCheckTest : public XdsEnvoyTest {
 protected:
  LegacyHealthCheckTest() {
    extraEnv_ = {{"KUMA_DEFAULTS_SKIP_MESH_CREATION", "true"},
                 {"KUMA_XDS_SERVER_DATAPLANE_CONFIGURATION_REFRESH_INTERVAL", "1s"}};
  }

  // A backend Dataplane whose inbound (the endpoint web's cluster connects to, plaintext TCP) is
  // `port` itself.
  static json backendEndpoint(const std::string& name, uint16_t port) {
    json dp = dataplane(name, freePort(), port, freePort(), "backend");
    dp["networking"]["inbound"][0]["tags"]["kuma.io/protocol"] = "tcp";
    dp["networking"].erase("admin");
    return dp;
  }

  static int get(uint16_t port) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1s);
    client.set_read_timeout(2s);
    auto res = client.Get("/");
    return res ? res->status : 0;
  }
};

TEST_F(LegacyHealthCheckTest, DeadEndpointFailsTheActiveCheckAndGetsNoTraffic) {
  put("/meshes/default",
      {{"type", "Mesh"}, {"name", "default"}, {"skipCreatingInitialPolicies", {"*"}}});
  put("/meshes/default/traffic-routes/route-all", json::parse(R"({
    "type": "TrafficRoute", "mesh": "default", "name": "route-all",
    "sources": [{"match": {"kuma.io/service": "*"}}],
    "destinations": [{"match": {"kuma.io/service": "*"}}],
    "conf": {"destination": {"kuma.io/service": "*"}}})"));
  App live("backend");
  const uint16_t dead = freePort();
  put("/meshes/default/dataplanes/backend-live", backendEndpoint("backend-live", live.port()));
  put("/meshes/default/dataplanes/backend-dead", backendEndpoint("backend-dead", dead));

  App webApp("web");
  const uint16_t toBackend = freePort();
  Sidecar web = startSidecar(
      dataplane("web", freePort(), freePort(), webApp.port(), "web", toBackend), true, 743);
  ASSERT_TRUE(web.envoy);
  const std::string deadHost = "backend::127.0.0.1:" + std::to_string(dead) + "::health_flags::";
  const std::string liveHost =
      "backend::127.0.0.1:" + std::to_string(live.port()) + "::health_flags::";
  auto clusters = [&] { return httpGet(web.adminPort, "/clusters").value_or(""); };
  // Both endpoints are in, healthy (no active check yet).
  ASSERT_TRUE(
      eventually([&] { return clusters().find(deadHost + "healthy") != std::string::npos; }, 40s))
      << diagnostics({&web}) << clusters();

  put("/meshes/default/health-checks/backend", json::parse(R"({
    "type": "HealthCheck", "mesh": "default", "name": "backend",
    "sources": [{"match": {"kuma.io/service": "web"}}],
    "destinations": [{"match": {"kuma.io/service": "backend"}}],
    "conf": {"interval": "1s", "timeout": "1s", "unhealthyThreshold": 1, "healthyThreshold": 1,
             "tcp": {}}})"));
  // The dead endpoint fails the check, the live one passes it (both seen by Envoy's checker).
  ASSERT_TRUE(eventually(
      [&] {
        const std::string c = clusters();
        return c.find(deadHost + "/failed_active_hc") != std::string::npos &&
               c.find(liveHost + "healthy") != std::string::npos &&
               envoyStat(web.adminPort, "cluster.backend.health_check.failure") >= 1 &&
               envoyStat(web.adminPort, "cluster.backend.health_check.success") >= 1;
      },
      40s))
      << clusters();
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(get(toBackend), 200) << i;
  }
}

}  // namespace
}  // namespace kuma::test
