// MeshLoadBalancingStrategy's local-zone affinity end to end with real Envoys: with
// `localityAwareness.localZone.affinityTags: [rack]` a proxy sends about 90 % of its requests to
// the backends that share its `rack` tag value (Kuma's weight 9 against 1 for the rest of the
// zone), and two proxies in different racks prefer different backends (their endpoints are
// regrouped per proxy, never shared across the affinity boundary).
#include <map>

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

class LocalityAffinityTest : public XdsEnvoyTest {
 protected:
  static json withRack(json dp, const std::string& rack) {
    dp["networking"]["inbound"][0]["tags"]["rack"] = rack;
    return dp;
  }

  // How many of `n` requests through `port` each backend answered ("" = failed).
  static std::map<std::string, int> spread(uint16_t port, int n) {
    std::map<std::string, int> seen;
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1s);
    client.set_read_timeout(2s);
    for (int i = 0; i < n; ++i) {
      auto res = client.Get("/");
      ++seen[res && res->status == 200 ? res->body : std::string()];
    }
    return seen;
  }
};

TEST_F(LocalityAffinityTest, EachProxyPrefersBackendsOfItsRack) {
  App a1("backend-r1");
  App a2("backend-r2-a");
  App a3("backend-r2-b");
  Sidecar b1 = startSidecar(
      withRack(dataplane("backend-1", freePort(), freePort(), a1.port(), "backend"), "r1"), false,
      81);
  Sidecar b2 = startSidecar(
      withRack(dataplane("backend-2", freePort(), freePort(), a2.port(), "backend"), "r2"), false,
      82);
  Sidecar b3 = startSidecar(
      withRack(dataplane("backend-3", freePort(), freePort(), a3.port(), "backend"), "r2"), false,
      83);
  App webApp1("web-1");
  App webApp2("web-2");
  const uint16_t out1 = freePort();
  const uint16_t out2 = freePort();
  Sidecar web1 = startSidecar(
      withRack(dataplane("web-1", freePort(), freePort(), webApp1.port(), "web", out1), "r1"),
      false, 84);
  Sidecar web2 = startSidecar(
      withRack(dataplane("web-2", freePort(), freePort(), webApp2.port(), "web", out2), "r2"),
      false, 85);
  // Every endpoint is in both Envoys' clusters and serves.
  ASSERT_TRUE(eventually([&] { return spread(out1, 30).size() == 3; }, 30s)) << cp_->output();
  ASSERT_TRUE(eventually([&] { return spread(out2, 30).size() == 3; }, 30s)) << cp_->output();

  httplib::Client api("127.0.0.1", cp_->apiPort());
  const json policy = {{"type", "MeshLoadBalancingStrategy"},
                       {"mesh", "default"},
                       {"name", "backend-affinity"},
                       {"spec",
                        {{"targetRef", {{"kind", "Mesh"}}},
                         {"to",
                          {{{"targetRef", {{"kind", "MeshService"}, {"name", "backend"}}},
                            {"default",
                             {{"localityAwareness",
                               {{"localZone", {{"affinityTags", {{{"key", "rack"}}}}}}}}}}}}}}}};
  auto res = api.Put("/meshes/default/meshloadbalancingstrategies/backend-affinity", policy.dump(),
                     "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  for (const Sidecar* web : {&web1, &web2}) {
    ASSERT_TRUE(eventually(
        [&] {
          const std::string dump = httpGet(web->adminPort, "/config_dump?include_eds").value_or("");
          return dump.find("rack=r") != std::string::npos;
        },
        15s))
        << web->name;
  }
  // The dump is the main thread's view; the workers may still balance with the previous
  // priorities for a moment (and another push, such as an inbound state reported over HDS,
  // reloads them): wait until web-1 prefers its rack before counting.
  ASSERT_TRUE(eventually(
      [&] {
        const std::map<std::string, int> probe = spread(out1, 40);
        return probe.count("hello from backend-r1") && probe.at("hello from backend-r1") >= 30;
      },
      15s))
      << cp_->output();

  // web-1 (rack r1): its group (backend-1) has weight 9, the rest of the zone 1.
  const std::map<std::string, int> one = spread(out1, 200);
  EXPECT_EQ(one.count(""), 0u) << "a request failed";
  EXPECT_GT(one.count("hello from backend-r1") ? one.at("hello from backend-r1") : 0, 150);
  // web-2 (rack r2): backend-2 and backend-3 carry 90 % between them.
  const std::map<std::string, int> two = spread(out2, 200);
  EXPECT_EQ(two.count(""), 0u) << "a request failed";
  EXPECT_LT(two.count("hello from backend-r1") ? two.at("hello from backend-r1") : 0, 50);
  EXPECT_GT(two.count("hello from backend-r2-a") ? two.at("hello from backend-r2-a") : 0, 40);
  EXPECT_GT(two.count("hello from backend-r2-b") ? two.at("hello from backend-r2-b") : 0, 40);
  for (const Sidecar* web : {&web1, &web2}) {
    EXPECT_EQ(envoyStat(web->adminPort, "cluster_manager.cds.update_rejected"), 0);
    EXPECT_EQ(envoyStat(web->adminPort, "cluster.backend.update_rejected"), 0);
  }
}

}  // namespace
}  // namespace kuma::test
