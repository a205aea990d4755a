// End to end, the MeshService family through real Envoys: kuma-cp, a sidecar for `backend-1`
// whose inbound is named `main`, and one for `web-1` whose outbounds name a MeshService and a
// MeshMultiZoneService by `backendRef`. The MeshService reaches its Dataplanes through a named
// `targetPort`; the MeshMultiZoneService reaches them through the MeshServices its status lists,
// which kuma-cp's status updater fills in.

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

TEST_F(XdsEnvoyTest, MeshServiceAndMeshMultiZoneServiceCarryTrafficByBackendRef) {
  App backendApp("backend");
  json backend = dataplane("backend-1", freePort(), freePort(), backendApp.port(), "backend");
  backend["networking"]["inbound"][0]["name"] = "main";
  put("/meshes/default/meshservices/backend",
      {{"type", "MeshService"},
       {"mesh", "default"},
       {"name", "backend"},
       {"labels", {{"app", "backend"}}},
       {"spec",
        {{"selector", {{"dataplaneTags", {{"kuma.io/service", "backend"}}}}},
         {"ports", {{{"port", 80}, {"targetPort", "main"}, {"appProtocol", "http"}}}}}}});
  put("/meshes/default/meshmultizoneservices/backend-mz",
      {{"type", "MeshMultiZoneService"},
       {"mesh", "default"},
       {"name", "backend-mz"},
       {"spec",
        {{"selector", {{"meshService", {{"matchLabels", {{"app", "backend"}}}}}}},
         {"ports", {{{"port", 80}, {"appProtocol", "http"}}}}}}});
  Sidecar backendSidecar = startSidecar(backend, false, 96);
  ASSERT_TRUE(backendSidecar.envoy);

  App webApp("web");
  const uint16_t toService = freePort();
  const uint16_t toMultiZone = freePort();
  json web = dataplane("web-1", freePort(), freePort(), webApp.port(), "web");
  web["networking"]["outbound"] = {
      {{"port", toService},
       {"backendRef", {{"kind", "MeshService"}, {"name", "backend"}, {"port", 80}}}},
      {{"port", toMultiZone},
       {"backendRef", {{"kind", "MeshMultiZoneService"}, {"name", "backend-mz"}, {"port", 80}}}}};
  Sidecar webSidecar = startSidecar(web, false, 97);
  ASSERT_TRUE(webSidecar.envoy);

  for (const uint16_t port : {toService, toMultiZone}) {
    Answer answer;
    const bool reached = eventually(
        [&] {
          answer = getFresh(port);
          return answer.status == 200;
        },
        30s);
    ASSERT_TRUE(reached) << "outbound " << port << "\n"
                         << diagnostics({&backendSidecar, &webSidecar});
    EXPECT_EQ(answer.body, "hello from backend");
  }
  // Kuma's legacy names of the two destinations, as Envoy reports its clusters.
  const auto clusters = httpGet(webSidecar.adminPort, "/clusters");
  ASSERT_TRUE(clusters.has_value());
  EXPECT_THAT(*clusters, ::testing::ContainsRegex("default_backend__[a-z-]*_msvc_80::"));
  // Created on the global control plane in Kuma: no zone label, so an empty zone in the name.
  EXPECT_THAT(*clusters, ::testing::HasSubstr("default_backend-mz___mzsvc_80::"));
}

}  // namespace
}  // namespace kuma::test
