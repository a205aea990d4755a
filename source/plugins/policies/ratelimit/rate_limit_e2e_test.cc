// End to end with real Envoys: a legacy RateLimit takes effect as in Kuma 2.14. Two requests
// per minute for callers of `backend` on web's HTTP inbound: through backend's sidecar outbound
// (which sends x-kuma-tags, as Kuma's callers do while the mesh has a RateLimit) the third
// request gets Envoy's local rate limit answer, 429 with the policy's response header; requests
// to web's inbound from outside the mesh (no x-kuma-tags) take the default route and pass.

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

class LegacyRateLimitTest : public XdsEnvoyTest {};

TEST_F(LegacyRateLimitTest, CallersOfOneServiceAreLimited) {
  put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  put("/meshes/default/rate-limits/from-backend", json::parse(R"({
    "type": "RateLimit", "mesh": "default", "name": "from-backend",
    "sources": [{"match": {"kuma.io/service": "backend"}}],
    "destinations": [{"match": {"kuma.io/service": "web"}}],
    "conf": {"http": {"requests": 2, "interval": "1m",
                      "onRateLimit": {"headers": [{"key": "x-kuma-rate-limited",
                                                   "value": "true"}]}}}})"));

  App webApp("web");
  App backendApp("backend");
  const uint16_t webInbound = freePort();
  Sidecar web =
      startSidecar(dataplane("web", freePort(), webInbound, webApp.port(), "web"), true, 745);
  ASSERT_TRUE(web.envoy);
  const uint16_t toWeb = freePort();
  json caller = dataplane("backend", freePort(), freePort(), backendApp.port(), "backend");
  caller["networking"]["outbound"] = {{{"port", toWeb}, {"tags", {{"kuma.io/service", "web"}}}}};
  Sidecar backend = startSidecar(caller, true, 746);
  ASSERT_TRUE(backend.envoy);

  struct Answer {
    int status = 0;
    std::string limitedHeader;
  };
  auto get = [](uint16_t port) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1s);
    client.set_read_timeout(2s);
    auto res = client.Get("/");
    return res ? Answer{res->status, res->get_header_value("x-kuma-rate-limited")} : Answer{};
  };
  // Until the limited route is in place requests pass; then the bucket (2 a minute) runs dry.
  ASSERT_TRUE(eventually([&] { return get(toWeb).status == 429; }, 40s))
      << diagnostics({&web}) << "\nbackend envoy:\n"
      << backend.envoy->output();
  for (int i = 0; i < 10; ++i) {
    const Answer a = get(toWeb);
    EXPECT_EQ(a.status, 429) << i;
    EXPECT_EQ(a.limitedHeader, "true") << i;
  }
  // Outside the mesh: no x-kuma-tags, the default route, no limit.
  for (int i = 0; i < 10; ++i) {
    const Answer a = get(webInbound);
    EXPECT_EQ(a.status, 200) << i;
    EXPECT_EQ(a.limitedHeader, "") << i;
  }
  EXPECT_EQ(envoyStat(web.adminPort, "listener_manager.lds.update_rejected"), 0);
}

}  // namespace
}  // namespace kuma::test
