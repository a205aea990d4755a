// End to end, a legacy ExternalService (Kuma 2.14 without a ZoneEgress): kuma-cp, a real Envoy
// for `web-1`, and an application outside the mesh. web's outbound to `httpbin` goes to the
// ExternalService's own address (`localhost:<port>`: a STRICT_DNS cluster, no EDS), with the Host
// header rewritten to that name.

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

TEST_F(XdsEnvoyTest, LegacyExternalServiceIsReachedThroughTheSidecar) {
  // Outside the mesh: answers with the Host header it got.
  httplib::Server external;
  external.Get(".*", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("external saw host " + req.get_header_value("Host"), "text/plain");
  });
  const int externalPort = external.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { external.listen_after_bind(); });
  put("/meshes/default/external-services/httpbin",
      {{"type", "ExternalService"},
       {"mesh", "default"},
       {"name", "httpbin"},
       {"tags", {{"kuma.io/service", "httpbin"}, {"kuma.io/protocol", "http"}}},
       {"networking", {{"address", "localhost:" + std::to_string(externalPort)}}}});
  App webApp("web");
  const uint16_t outbound = freePort();
  json dp = dataplane("web-1", freePort(), freePort(), webApp.port(), "web");
  dp["networking"]["outbound"] = {{{"port", outbound}, {"tags", {{"kuma.io/service", "httpbin"}}}}};
  Sidecar web = startSidecar(dp, false, 95);
  ASSERT_TRUE(web.envoy);
  Answer answer;
  const bool reached = eventually(
      [&] {
        answer = getFresh(outbound);
        return answer.status == 200;
      },
      30s);
  external.stop();
  serving.join();
  ASSERT_TRUE(reached) << diagnostics({&web});
  // auto_host_rewrite: the upstream sees its own name, not the listener's address.
  EXPECT_EQ(answer.body, "external saw host localhost");
}

}  // namespace
}  // namespace kuma::test
