// End to end with real Envoys: the legacy ProxyTemplate (issue 14). Two sidecars, `web` and
// `other`, both with an outbound to `backend`. A ProxyTemplate for `web` imports the
// `default-proxy` profile, adds a raw cluster and modifies the generated config: a response
// header on its inbound virtual host (a merged value), an HTTP fault filter answering 418 before
// the router of its outbound listener and a connect timeout merged into the `backend` cluster
// (which `other` shares untouched). A second template for `other` imports no profile: its Envoy
// then holds only the template's raw cluster. Invalid templates get Kuma's 400 with every
// violation; the inspect API lists the template under the Dataplane it selects.

#include "absl/strings/match.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

class XdsProxyTemplateTest : public XdsEnvoyTest {
 protected:
  // The dynamic clusters of `sidecar`'s config dump, by name.
  static std::map<std::string, json> clusters(const Sidecar& sidecar) {
    return dynamicClusters(sidecar.adminPort);
  }

  std::pair<int, json> putAnswer(const std::string& path, const json& body) {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    auto res = api.Put(path, body.dump(), "application/json");
    if (!res) {
      return {0, nullptr};
    }
    return {res->status, json::parse(res->body, nullptr, false)};
  }

  Sidecar web_;
  Sidecar other_;
};

json staticCluster(const std::string& name, uint16_t port) {
  return json::parse(R"({"@type": "type.googleapis.com/envoy.config.cluster.v3.Cluster",
    "name": ")" + name +
                     R"(", "type": "STATIC", "connectTimeout": "3s",
    "loadAssignment": {"clusterName": ")" +
                     name + R"(", "endpoints": [{"lbEndpoints": [
      {"endpoint": {"address": {"socketAddress": {"address": "127.0.0.1", "portValue": )" +
                     std::to_string(port) + R"(}}}}]}]}})");
}

TEST_F(XdsProxyTemplateTest, TemplateShapesTheConfigOfTheProxiesItSelects) {
  put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  // Kuma's 400 with every violation: selectors without kuma.io/service, an unknown profile, a
  // raw resource without a version, an invalid operation and a filter patch without a name.
  const auto [status, body] = putAnswer("/meshes/default/proxytemplates/bad", json::parse(R"({
    "type": "ProxyTemplate", "mesh": "default", "name": "bad",
    "selectors": [{"match": {"app": "web"}}],
    "conf": {"imports": ["default-proxy", "no-such-profile"],
      "resources": [{"name": "c", "resource": "name: c"}],
      "modifications": [{"cluster": {"operation": "replace"}},
                        {"httpFilter": {"operation": "patch", "value": "name: x"}}]}})"));
  EXPECT_EQ(status, 400);
  std::set<std::string> fields;
  for (const json& v : body.value("invalid_parameters", json::array())) {
    fields.insert(v.value("field", ""));
  }
  EXPECT_EQ(fields, (std::set<std::string>{
                        "selectors[0].match", "conf.imports[1]", "conf.resources[0].version",
                        "conf.resources[0].resource", "conf.modifications[0].cluster.operation",
                        "conf.modifications[1].httpFilter.match.name"}))
      << body.dump();

  App webApp("web");
  App otherApp("other");
  App extraApp("extra");
  put("/meshes/default/dataplanes/backend",
      dataplane("backend", freePort(), freePort(), freePort(), "backend"));
  json webTemplate = json::parse(R"({
    "type": "ProxyTemplate", "mesh": "default", "name": "pt-web",
    "selectors": [{"match": {"kuma.io/service": "web"}}],
    "conf": {"imports": ["default-proxy"],
      "resources": [{"name": "extra", "version": "1"}],
      "modifications": [
        {"virtualHost": {"operation": "patch", "match": {"name": "web", "origin": "inbound"},
          "value": "responseHeadersToAdd:\n- header:\n    key: x-proxy-template\n    value: pt-web\n"}},
        {"httpFilter": {"operation": "addBefore",
          "match": {"name": "envoy.filters.http.router", "origin": "outbound"},
          "value": "name: envoy.filters.http.fault\ntypedConfig:\n  '@type': type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault\n  abort:\n    httpStatus: 418\n    percentage:\n      numerator: 100\n"}},
        {"cluster": {"operation": "patch", "match": {"name": "backend"},
          "value": "connectTimeout: 9s"}}]}})");
  webTemplate["conf"]["resources"][0]["resource"] = staticCluster("extra", extraApp.port()).dump();
  put("/meshes/default/proxytemplates/pt-web", webTemplate);

  const uint16_t webInbound = freePort();
  const uint16_t webOutbound = freePort();
  web_ = startSidecar(dataplane("web", freePort(), webInbound, webApp.port(), "web", webOutbound),
                      true, 571);
  const uint16_t otherInbound = freePort();
  other_ = startSidecar(
      dataplane("other", freePort(), otherInbound, otherApp.port(), "other", freePort()), false,
      572);
  ASSERT_TRUE(web_.envoy && other_.envoy);

  ASSERT_TRUE(eventually(
      [&] {
        const auto web = clusters(web_);
        const auto other = clusters(other_);
        return web.contains("extra") && web.contains("backend") && other.contains("backend") &&
               envoyStat(web_.adminPort, "listener_manager.total_listeners_active") >= 2;
      },
      40s))
      << diagnostics({&web_, &other_});
  EXPECT_EQ(clusters(web_)["backend"].value("connect_timeout", ""), "9s");
  EXPECT_EQ(clusters(other_)["backend"].value("connect_timeout", ""), "5s");
  EXPECT_FALSE(clusters(other_).contains("extra"));

  // The merged virtual host: a real request through web's inbound carries the header.
  ASSERT_TRUE(eventually(
      [&] {
        httplib::Client client("127.0.0.1", webInbound);
        client.set_connection_timeout(1s);
        client.set_read_timeout(2s);
        auto res = client.Get("/");
        return res && res->status == 200 && res->body == "hello from web" &&
               res->get_header_value("x-proxy-template") == "pt-web";
      },
      20s))
      << diagnostics({&web_});
  // The added fault filter answers on web's outbound.
  EXPECT_EQ(getFresh(webOutbound).status, 418) << diagnostics({&web_});

  // The inspect API: the template under web's Dataplane, and web under the template.
  const auto matched = httpGet(cp_->apiPort(), "/meshes/default/dataplanes/web/policies");
  ASSERT_TRUE(matched.has_value());
  EXPECT_TRUE(absl::StrContains(*matched, R"("ProxyTemplate")")) << *matched;
  const auto selected = httpGet(cp_->apiPort(), "/meshes/default/proxytemplates/pt-web/dataplanes");
  ASSERT_TRUE(selected.has_value());
  const json selectedJson = json::parse(*selected, nullptr, false);
  ASSERT_TRUE(selectedJson.is_object()) << *selected;
  EXPECT_EQ(selectedJson.value("total", 0), 1) << *selected;

  // A template without the default profile: `other` keeps only the raw cluster.
  json otherTemplate = {{"type", "ProxyTemplate"},
                        {"mesh", "default"},
                        {"name", "pt-other"},
                        {"selectors", json::parse(R"([{"match": {"kuma.io/service": "other"}}])")},
                        {"conf",
                         {{"imports", json::array()},
                          {"resources",
                           {{{"name", "only"},
                             {"version", "1"},
                             {"resource", staticCluster("only", extraApp.port()).dump()}}}}}}};
  put("/meshes/default/proxytemplates/pt-other", otherTemplate);
  ASSERT_TRUE(eventually(
      [&] {
        const auto other = clusters(other_);
        return other.size() == 1 && other.contains("only");
      },
      20s))
      << diagnostics({&other_});
  EXPECT_EQ(envoyStat(web_.adminPort, "cluster_manager.cds.update_rejected"), 0);
  EXPECT_EQ(envoyStat(other_.adminPort, "cluster_manager.cds.update_rejected"), 0);
}

}  // namespace
}  // namespace kuma::test
