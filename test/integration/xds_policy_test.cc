// End to end with real Envoys: what changes through the REST API reaches a running Envoy within
// 2× the refresh interval (here pushed by store events, well before the 1 s tick), and an idle
// mesh sends Envoy nothing at all.
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

using ::testing::HasSubstr;

class XdsPolicyTest : public XdsEnvoyTest {
 protected:
  XdsPolicyTest() {
    extraEnv_ = {{"KUMA_XDS_SERVER_DATAPLANE_CONFIGURATION_REFRESH_INTERVAL", "1s"}};
  }

  // How long until `condition` holds, or nullopt if not within `timeout`.
  static std::optional<std::chrono::milliseconds> timeUntil(const std::function<bool()>& condition,
                                                            std::chrono::milliseconds timeout) {
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < timeout) {
      if (condition()) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
      }
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }

  long updates(uint16_t adminPort) {
    long sum = 0;
    for (const char* stat :
         {"listener_manager.lds.update_attempt", "cluster_manager.cds.update_attempt",
          "cluster.backend.update_attempt"}) {
      const long value = envoyStat(adminPort, stat);
      if (value < 0) {
        return -1000;  // a missing stat must not look like "no updates"
      }
      sum += value;
    }
    return sum;
  }

  static int put(httplib::Client& api, const std::string& path, const json& body) {
    auto res = api.Put(path, body.dump(), "application/json");
    return res ? res->status : -1;
  }
};

TEST_F(XdsPolicyTest, IdleMeshSendsNothingAndChangesArriveWithinTwoRefreshIntervals) {
  constexpr auto kTwoRefreshIntervals = 2000ms;
  App backendApp("backend");
  const uint16_t webOutbound = freePort();
  Sidecar backend = startSidecar(
      dataplane("backend-1", freePort(), freePort(), backendApp.port(), "backend"), false, 81);
  App webApp("web");
  Sidecar web = startSidecar(
      dataplane("web-1", freePort(), freePort(), webApp.port(), "web", webOutbound), false, 82);
  ASSERT_TRUE(eventually([&] { return httpGet(webOutbound, "/") == "hello from backend"; }, 30s))
      << cp_->output();

  // Idle: three refresh intervals without a change send Envoy no new config.
  const long before = updates(web.adminPort);
  ASSERT_GE(before, 3);  // every stat exists and saw the initial sync
  std::this_thread::sleep_for(3100ms);
  EXPECT_EQ(updates(web.adminPort), before);

  // The default MeshTimeout gives the outbound route 15s; a MeshTimeout for backend makes it 3s.
  auto dump = [&] { return httpGet(web.adminPort, "/config_dump").value_or(""); };
  EXPECT_THAT(dump(), HasSubstr("\"timeout\": \"15s\""));
  httplib::Client api("127.0.0.1", cp_->apiPort());
  ASSERT_EQ(put(api, "/meshes/default/meshtimeouts/backend-timeout",
                {{"type", "MeshTimeout"},
                 {"mesh", "default"},
                 {"name", "backend-timeout"},
                 {"spec",
                  {{"targetRef", {{"kind", "Mesh"}}},
                   {"to",
                    {{{"targetRef", {{"kind", "MeshService"}, {"name", "backend"}}},
                      {"default", {{"http", {{"requestTimeout", "3s"}}}}}}}}}}}),
            201);
  auto took =
      timeUntil([&] { return dump().find("\"timeout\": \"3s\"") != std::string::npos; }, 10s);
  ASSERT_TRUE(took.has_value()) << cp_->output();
  EXPECT_LE(*took, kTwoRefreshIntervals);

  // A second backend instance registered through REST shows up in Envoy's /clusters...
  const uint16_t backend2Port = freePort();
  ASSERT_EQ(put(api, "/meshes/default/dataplanes/backend-2",
                dataplane("backend-2", freePort(), backend2Port, backendApp.port(), "backend")),
            201);
  const std::string endpoint2 = "backend::127.0.0.1:" + std::to_string(backend2Port) + "::";
  auto clusters = [&] { return httpGet(web.adminPort, "/clusters").value_or(""); };
  took = timeUntil([&] { return clusters().find(endpoint2) != std::string::npos; }, 10s);
  ASSERT_TRUE(took.has_value());
  EXPECT_LE(*took, kTwoRefreshIntervals);
  // ...and leaves it when removed.
  ASSERT_EQ(api.Delete("/meshes/default/dataplanes/backend-2")->status, 200);
  took = timeUntil([&] { return clusters().find(endpoint2) == std::string::npos; }, 10s);
  ASSERT_TRUE(took.has_value());
  EXPECT_LE(*took, kTwoRefreshIntervals);

  // Nothing was rejected along the way.
  EXPECT_EQ(envoyStat(web.adminPort, "listener_manager.lds.update_rejected"), 0);
  EXPECT_EQ(envoyStat(web.adminPort, "cluster_manager.cds.update_rejected"), 0);
  EXPECT_EQ(httpGet(webOutbound, "/"), "hello from backend");
}

}  // namespace
}  // namespace kuma::test
