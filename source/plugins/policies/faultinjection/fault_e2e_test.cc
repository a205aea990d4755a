// End to end with real Envoys: a legacy FaultInjection takes effect as in Kuma 2.14. An abort of
// 418 at 100 % for callers of `backend` on web's HTTP inbound: every request through backend's
// sidecar outbound (which sends x-kuma-tags, as Kuma's callers do while the mesh has a
// FaultInjection) gets Envoy's "fault filter abort" with 418; a request to web's inbound from
// outside the mesh (no x-kuma-tags) passes. Envoy counts the aborts.

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

class LegacyFaultInjectionTest : public XdsEnvoyTest {};

TEST_F(LegacyFaultInjectionTest, AbortForCallersOfOneServiceOnly) {
  put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  put("/meshes/default/fault-injections/from-backend", json::parse(R"({
    "type": "FaultInjection", "mesh": "default", "name": "from-backend",
    "sources": [{"match": {"kuma.io/service": "backend"}}],
    "destinations": [{"match": {"kuma.io/service": "web", "kuma.io/protocol": "http"}}],
    "conf": {"abort": {"httpStatus": 418, "percentage": 100}}})"));

  App webApp("web");
  App backendApp("backend");
  const uint16_t webInbound = freePort();
  Sidecar web =
      startSidecar(dataplane("web", freePort(), webInbound, webApp.port(), "web"), true, 741);
  ASSERT_TRUE(web.envoy);
  const uint16_t toWeb = freePort();
  json caller = dataplane("backend", freePort(), freePort(), backendApp.port(), "backend");
  caller["networking"]["outbound"] = {{{"port", toWeb}, {"tags", {{"kuma.io/service", "web"}}}}};
  Sidecar backend = startSidecar(caller, true, 742);
  ASSERT_TRUE(backend.envoy);

  auto get = [](uint16_t port) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1s);
    client.set_read_timeout(2s);
    auto res = client.Get("/");
    return res ? std::make_pair(res->status, res->body) : std::make_pair(0, std::string());
  };
  ASSERT_TRUE(eventually([&] { return get(toWeb).first == 418; }, 40s))
      << diagnostics({&web}) << "\nbackend envoy:\n"
      << backend.envoy->output();
  for (int i = 0; i < 20; ++i) {
    const auto [status, body] = get(toWeb);
    EXPECT_EQ(status, 418) << i;
    EXPECT_EQ(body, "fault filter abort") << i;
  }
  for (int i = 0; i < 20; ++i) {
    const auto [status, body] = get(webInbound);
    EXPECT_EQ(status, 200) << i;
    EXPECT_EQ(body, "hello from web") << i;
  }
  const std::string prefix = "http.localhost_" + std::to_string(webApp.port()) + ".fault.";
  EXPECT_GE(envoyStat(web.adminPort, prefix + "aborts_injected"), 21)
      << httpGet(web.adminPort, "/stats?filter=fault").value_or("");
  EXPECT_EQ(envoyStat(web.adminPort, "listener_manager.lds.update_rejected"), 0);
}

}  // namespace
}  // namespace kuma::test
