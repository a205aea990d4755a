// End to end with real Envoys: MeshProxyPatch (issue 14, section 8). Two sidecars, `web` and
// `other`, both with an outbound to `backend` (whose cluster kuma-cpp builds once and shares
// between proxies with the same policies). A policy for `web` only adds a response header to its
// inbound virtual host (a JSON patch), puts an HTTP fault filter that answers 418 before the
// router of its outbound listener, and merges a connect timeout into the shared `backend`
// cluster. Real requests through web's inbound carry the header, through its outbound get the
// 418; Envoy's config dump of web shows the patched cluster, the one of `other` the untouched
// shared one and no header. An invalid policy gets Kuma's 400; a patch that fails at generation
// time leaves web's last config in place and kuma-cp running.

#include "absl/strings/match.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

class XdsProxyPatchTest : public XdsEnvoyTest {
 protected:
  // The `backend` cluster of `sidecar`'s config dump, or null.
  static json backendCluster(const Sidecar& sidecar) {
    const std::map<std::string, json> all = dynamicClusters(sidecar.adminPort);
    auto it = all.find("backend");
    return it == all.end() ? json(nullptr) : it->second;
  }

  int putStatus(const std::string& path, const json& body) {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    auto res = api.Put(path, body.dump(), "application/json");
    return res ? res->status : 0;
  }

  Sidecar web_;
  Sidecar other_;
};

const char kPatch[] = R"({
  "type": "MeshProxyPatch", "mesh": "default", "name": "patch-web",
  "spec": {"targetRef": {"kind": "MeshService", "name": "web"}, "default": {"appendModifications": [
    {"virtualHost": {"operation": "Patch", "match": {"name": "web", "origin": "inbound"},
      "jsonPatches": [{"op": "add", "path": "/responseHeadersToAdd",
        "value": [{"header": {"key": "x-patched-by", "value": "mesh-proxy-patch"}}]}]}},
    {"httpFilter": {"operation": "AddBefore",
      "match": {"name": "envoy.filters.http.router", "origin": "outbound"},
      "value": "name: envoy.filters.http.fault\ntypedConfig:\n  '@type': type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault\n  abort:\n    httpStatus: 418\n    percentage:\n      numerator: 100\n"}},
    {"cluster": {"operation": "Patch", "match": {"name": "backend"},
      "value": "connectTimeout: 7s"}}]}}})";

TEST_F(XdsProxyPatchTest, PatchTakesEffectAndTheSharedClusterOfAnotherProxyIsUntouched) {
  put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  // Kuma's 400 for an invalid patch (a JSON patch without its value).
  EXPECT_EQ(putStatus("/meshes/default/meshproxypatches/bad", json::parse(R"({
    "type": "MeshProxyPatch", "mesh": "default", "name": "bad",
    "spec": {"default": {"appendModifications": [
      {"cluster": {"operation": "Patch", "jsonPatches": [{"op": "add", "path": "/a"}]}}]}}})")),
            400);
  put("/meshes/default/meshproxypatches/patch-web", json::parse(kPatch));

  App webApp("web");
  App otherApp("other");
  // backend's Dataplane gives the outbound its endpoint; no sidecar needs to run for it.
  put("/meshes/default/dataplanes/backend",
      dataplane("backend", freePort(), freePort(), freePort(), "backend"));
  const uint16_t webInbound = freePort();
  const uint16_t webOutbound = freePort();
  web_ = startSidecar(dataplane("web", freePort(), webInbound, webApp.port(), "web", webOutbound),
                      true, 531);
  const uint16_t otherInbound = freePort();
  other_ = startSidecar(
      dataplane("other", freePort(), otherInbound, otherApp.port(), "other", freePort()), true,
      532);
  ASSERT_TRUE(web_.envoy && other_.envoy);

  ASSERT_TRUE(eventually(
      [&] {
        const json web = backendCluster(web_);
        const json other = backendCluster(other_);
        return web.is_object() && other.is_object() &&
               envoyStat(web_.adminPort, "listener_manager.total_listeners_active") >= 2 &&
               envoyStat(other_.adminPort, "listener_manager.total_listeners_active") >= 2;
      },
      40s))
      << diagnostics({&web_, &other_});

  // The cluster patch: web's copy has 7s, other's shared one keeps Kuma's 5s.
  EXPECT_EQ(backendCluster(web_).value("connect_timeout", ""), "7s");
  EXPECT_EQ(backendCluster(other_).value("connect_timeout", ""), "5s");

  // The virtual host patch: a real request through web's inbound carries the header; other's
  // does not.
  ASSERT_TRUE(eventually(
      [&] {
        httplib::Client client("127.0.0.1", webInbound);
        client.set_connection_timeout(1s);
        client.set_read_timeout(2s);
        auto res = client.Get("/");
        return res && res->status == 200 && res->body == "hello from web" &&
               res->get_header_value("x-patched-by") == "mesh-proxy-patch";
      },
      20s))
      << diagnostics({&web_});
  {
    httplib::Client client("127.0.0.1", otherInbound);
    client.set_connection_timeout(1s);
    client.set_read_timeout(2s);
    auto res = client.Get("/");
    ASSERT_TRUE(res) << diagnostics({&other_});
    EXPECT_EQ(res->body, "hello from other");
    EXPECT_FALSE(res->has_header("x-patched-by"));
  }
  // The HTTP filter added before the router of web's outbound listener answers 418.
  EXPECT_EQ(getFresh(webOutbound).status, 418) << diagnostics({&web_});

  // A patch that cannot apply at generation time (replace a path that does not exist): kuma-cp
  // logs it and keeps running; web keeps its last config.
  put("/meshes/default/meshproxypatches/broken", json::parse(R"({
    "type": "MeshProxyPatch", "mesh": "default", "name": "broken",
    "spec": {"targetRef": {"kind": "MeshService", "name": "web"}, "default": {"appendModifications": [
      {"cluster": {"operation": "Patch", "match": {"name": "backend"},
        "jsonPatches": [{"op": "replace", "path": "/no/such/field", "value": 1}]}}]}}})"));
  ASSERT_TRUE(eventually(
      [&] {
        const std::string out = cp_->output();
        return absl::StrContains(out, "could not apply ") &&
               absl::StrContains(out, "/no/such/field does not exist");
      },
      20s))
      << diagnostics({});
  EXPECT_TRUE(httpGet(cp_->apiPort(), "/meshes/default/meshproxypatches/broken").has_value());
  EXPECT_EQ(backendCluster(web_).value("connect_timeout", ""), "7s");
  EXPECT_EQ(envoyStat(web_.adminPort, "listener_manager.lds.update_rejected"), 0);
  EXPECT_EQ(envoyStat(other_.adminPort, "listener_manager.lds.update_rejected"), 0);
}

}  // namespace
}  // namespace kuma::test
