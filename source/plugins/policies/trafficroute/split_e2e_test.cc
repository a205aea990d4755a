// End to end with real Envoys: a legacy TrafficRoute takes effect as in Kuma 2.14 (the legacy
// outbound path). An 80/20 split of `backend` by `version`, measured over 400 requests through
// the web sidecar; the legacy path's timeouts: the outbound route has no timeout (Envoy's
// config_dump says `0s`, and a 2 s request passes), until a legacy Timeout policy of 1 s cuts the
// same request off with a 504.
#include <iostream>

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

constexpr char kV1Cluster[] = "backend-154693772bc47249";  // Kuma's name for {backend, v1}
constexpr char kV2Cluster[] = "backend-5b73b3f4adf20020";

// A workload answering "hello from <name>" at once, and after 2 s on /slow.
class VersionApp {
 public:
  explicit VersionApp(std::string name) : name_(std::move(name)) {
    server_.Get("/slow", [this](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(2s);
      res.set_content("slow hello from " + name_, "text/plain");
    });
    server_.Get(".*", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello from " + name_, "text/plain");
    });
    port_ = freePort();
    EXPECT_TRUE(server_.bind_to_port("127.0.0.1", port_));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~VersionApp() {
    server_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  std::string name_;
  httplib::Server server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

class TrafficRouteEnvoyTest : public XdsEnvoyTest {
 protected:
  TrafficRouteEnvoyTest() {
    // The test creates the mesh itself, without Kuma's default policies.
    extraEnv_ = {{"KUMA_DEFAULTS_SKIP_MESH_CREATION", "true"},
                 {"KUMA_XDS_SERVER_DATAPLANE_CONFIGURATION_REFRESH_INTERVAL", "1s"}};
  }

  static int put(httplib::Client& api, const std::string& path, const json& body) {
    auto res = api.Put(path, body.dump(), "application/json");
    return res ? res->status : -1;
  }

  static json versioned(json dp, const std::string& version) {
    dp["networking"]["inbound"][0]["tags"]["version"] = version;
    return dp;
  }

  // The route of the outbound listener on `port` in Envoy's config dump (null when absent),
  // and its HCM in `hcm`.
  static json outboundRoute(const std::string& dump, uint16_t port, json* hcm) {
    const json d = json::parse(dump, nullptr, false);
    if (d.is_discarded()) {
      return nullptr;
    }
    const std::string name = "outbound:127.0.0.1:" + std::to_string(port);
    for (const auto& config : d.value("configs", json::array())) {
      if (config.value("@type", "").find("ListenersConfigDump") == std::string::npos) {
        continue;
      }
      for (const auto& l : config.value("dynamic_listeners", json::array())) {
        if (l.value("name", "") != name || !l.contains("active_state")) {
          continue;
        }
        const json& typed =
            l["active_state"]["listener"]["filter_chains"][0]["filters"][0]["typed_config"];
        *hcm = typed;
        return typed["route_config"]["virtual_hosts"][0]["routes"][0];
      }
    }
    return nullptr;
  }

  // GET `path` with a 6 s read timeout: (status, seconds taken); status -1 on no answer.
  static std::pair<int, double> timedGet(uint16_t port, const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1s);
    client.set_read_timeout(6s);
    const auto start = std::chrono::steady_clock::now();
    auto res = client.Get(path);
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {res ? res->status : -1, took};
  }
};

TEST_F(TrafficRouteEnvoyTest, SplitByVersionAndTheLegacyPathTimeouts) {
  httplib::Client api("127.0.0.1", cp_->apiPort());
  ASSERT_EQ(put(api, "/meshes/default",
                {{"type", "Mesh"}, {"name", "default"}, {"skipCreatingInitialPolicies", {"*"}}}),
            201);
  const json any = {{"match", {{"kuma.io/service", "*"}}}};
  ASSERT_EQ(put(api, "/meshes/default/traffic-routes/route-all-default",
                {{"type", "TrafficRoute"},
                 {"mesh", "default"},
                 {"name", "route-all-default"},
                 {"sources", {any}},
                 {"destinations", {any}},
                 {"conf",
                  {{"loadBalancer", {{"roundRobin", json::object()}}},
                   {"destination", {{"kuma.io/service", "*"}}}}}}),
            201);
  ASSERT_EQ(put(api, "/meshes/default/traffic-routes/backend-split",
                {{"type", "TrafficRoute"},
                 {"mesh", "default"},
                 {"name", "backend-split"},
                 {"sources", {{{"match", {{"kuma.io/service", "web"}}}}}},
                 {"destinations", {{{"match", {{"kuma.io/service", "backend"}}}}}},
                 {"conf",
                  {{"loadBalancer", {{"leastRequest", {{"choiceCount", 2}}}}},
                   {"split",
                    {{{"weight", 80},
                      {"destination", {{"kuma.io/service", "backend"}, {"version", "v1"}}}},
                     {{"weight", 20},
                      {"destination", {{"kuma.io/service", "backend"}, {"version", "v2"}}}}}}}}}),
            201);

  VersionApp v1App("backend-v1");
  VersionApp v2App("backend-v2");
  VersionApp webApp("web");
  const uint16_t webOutbound = freePort();
  Sidecar v1 = startSidecar(
      versioned(dataplane("backend-v1", freePort(), freePort(), v1App.port(), "backend"), "v1"),
      false, 291);
  Sidecar v2 = startSidecar(
      versioned(dataplane("backend-v2", freePort(), freePort(), v2App.port(), "backend"), "v2"),
      false, 292);
  Sidecar web = startSidecar(
      dataplane("web-1", freePort(), freePort(), webApp.port(), "web", webOutbound), false, 293);
  auto dump = [&] { return httpGet(web.adminPort, "/config_dump").value_or(""); };

  // Both subsets serve before the measurement starts.
  bool sawV1 = false;
  bool sawV2 = false;
  ASSERT_TRUE(eventually(
      [&] {
        const auto body = httpGet(webOutbound, "/");
        sawV1 = sawV1 || body == "hello from backend-v1";
        sawV2 = sawV2 || body == "hello from backend-v2";
        return sawV1 && sawV2;
      },
      45s))
      << cp_->output();

  // Envoy's config: Kuma's subset clusters 80/20, no route timeout (0s), stream idle 0s.
  json hcm;
  const json route = outboundRoute(dump(), webOutbound, &hcm);
  ASSERT_TRUE(route.is_object()) << dump();
  EXPECT_EQ(route["route"].value("timeout", ""), "0s") << route.dump();
  EXPECT_FALSE(route["route"].contains("idle_timeout")) << route.dump();
  const json& clusters = route["route"]["weighted_clusters"]["clusters"];
  ASSERT_EQ(clusters.size(), 2u) << route.dump();
  EXPECT_EQ(clusters[0]["name"], kV1Cluster);
  EXPECT_EQ(clusters[0]["weight"], 80);
  EXPECT_EQ(clusters[1]["name"], kV2Cluster);
  EXPECT_EQ(clusters[1]["weight"], 20);
  EXPECT_EQ(hcm.value("stream_idle_timeout", ""), "0s") << hcm.dump();
  // Envoy's clusters: the two subsets, no plain `backend`.
  const std::string clusterList = httpGet(web.adminPort, "/clusters").value_or("");
  EXPECT_NE(clusterList.find(std::string(kV1Cluster) + "::"), std::string::npos) << clusterList;
  EXPECT_NE(clusterList.find(std::string(kV2Cluster) + "::"), std::string::npos) << clusterList;
  EXPECT_EQ(("\n" + clusterList).find("\nbackend::"), std::string::npos) << clusterList;

  // The split, measured: 400 requests, v1 within 80 % ± 8 %.
  constexpr int kRequests = 400;
  int v1Count = 0;
  int v2Count = 0;
  for (int i = 0; i < kRequests; ++i) {
    const auto body = httpGet(webOutbound, "/");
    v1Count += body == "hello from backend-v1" ? 1 : 0;
    v2Count += body == "hello from backend-v2" ? 1 : 0;
  }
  EXPECT_EQ(v1Count + v2Count, kRequests);
  RecordProperty("v1", v1Count);
  RecordProperty("v2", v2Count);
  std::cout << "split over " << kRequests << " requests: v1 " << v1Count << ", v2 " << v2Count
            << std::endl;
  const double v1Share = static_cast<double>(v1Count) / kRequests;
  EXPECT_GE(v1Share, 0.72) << v1Count << " of " << kRequests;
  EXPECT_LE(v1Share, 0.88) << v1Count << " of " << kRequests;

  // No route timeout: a 2 s request passes.
  auto [status, took] = timedGet(webOutbound, "/slow");
  EXPECT_EQ(status, 200);
  EXPECT_GE(took, 1.9);

  // A legacy Timeout of 1 s for every service: the route gets it and the 2 s request is cut off.
  ASSERT_EQ(put(api, "/meshes/default/timeouts/timeout-all",
                {{"type", "Timeout"},
                 {"mesh", "default"},
                 {"name", "timeout-all"},
                 {"sources", {any}},
                 {"destinations", {any}},
                 {"conf", {{"connectTimeout", "2s"}, {"http", {{"requestTimeout", "1s"}}}}}}),
            201);
  ASSERT_TRUE(eventually(
      [&] {
        json h;
        const json r = outboundRoute(dump(), webOutbound, &h);
        return r.is_object() && r["route"].value("timeout", "") == "1s";
      },
      15s))
      << dump();
  std::tie(status, took) = timedGet(webOutbound, "/slow");
  std::cout << "/slow under a 1 s legacy Timeout: " << status << " after " << took << " s"
            << std::endl;
  EXPECT_EQ(status, 504);
  EXPECT_GE(took, 0.9);
  EXPECT_LT(took, 1.9);
  EXPECT_EQ(timedGet(webOutbound, "/").first, 200);

  // Nothing was rejected along the way.
  EXPECT_EQ(envoyStat(web.adminPort, "listener_manager.lds.update_rejected"), 0);
  EXPECT_EQ(envoyStat(web.adminPort, "cluster_manager.cds.update_rejected"), 0);
}

}  // namespace
}  // namespace kuma::test
