// MeshLoadBalancingStrategy end to end with real Envoys: a RingHash load balancer hashing on a
// request header keeps each client (header value) on one backend endpoint, while different
// clients spread over both; without the policy one client's requests reach both endpoints.
#include <set>

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

class RingHashTest : public XdsEnvoyTest {
 protected:
  // The body of GET / through `port` with `x-user-id: user`, or "" on failure.
  static std::string getAs(uint16_t port, const std::string& user) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1s);
    client.set_read_timeout(2s);
    auto res = client.Get("/", {{"x-user-id", user}});
    return res && res->status == 200 ? res->body : std::string();
  }

  // The backends one client reached over `n` requests.
  static std::set<std::string> backendsOf(uint16_t port, const std::string& user, int n) {
    std::set<std::string> seen;
    for (int i = 0; i < n; ++i) {
      seen.insert(getAs(port, user));
    }
    return seen;
  }
};

TEST_F(RingHashTest, OneClientStaysOnOneEndpoint) {
  App v1("backend-v1");
  App v2("backend-v2");
  Sidecar b1 =
      startSidecar(dataplane("backend-1", freePort(), freePort(), v1.port(), "backend"), false, 91);
  Sidecar b2 =
      startSidecar(dataplane("backend-2", freePort(), freePort(), v2.port(), "backend"), false, 92);
  App webApp("web");
  const uint16_t out = freePort();
  Sidecar web = startSidecar(dataplane("web-1", freePort(), freePort(), webApp.port(), "web", out),
                             false, 93);
  // Both endpoints are in Envoy's cluster and serve.
  ASSERT_TRUE(eventually([&] { return backendsOf(out, "probe", 20).size() == 2; }, 30s))
      << cp_->output();

  httplib::Client api("127.0.0.1", cp_->apiPort());
  const json policy = {
      {"type", "MeshLoadBalancingStrategy"},
      {"mesh", "default"},
      {"name", "backend-ring-hash"},
      {"spec",
       {{"targetRef", {{"kind", "Mesh"}}},
        {"to",
         {{{"targetRef", {{"kind", "MeshService"}, {"name", "backend"}}},
           {"default",
            {{"loadBalancer",
              {{"type", "RingHash"},
               {"ringHash",
                {{"hashPolicies",
                  {{{"type", "Header"}, {"header", {{"name", "x-user-id"}}}}}}}}}}}}}}}}}};
  auto res = api.Put("/meshes/default/meshloadbalancingstrategies/backend-ring-hash", policy.dump(),
                     "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  // The cluster's RING_HASH and the route's hash policy (on the header) may arrive in separate
  // updates: wait for both.
  ASSERT_TRUE(eventually(
      [&] {
        const std::string dump = httpGet(web.adminPort, "/config_dump").value_or("");
        return dump.find("RING_HASH") != std::string::npos &&
               dump.find("x-user-id") != std::string::npos;
      },
      10s));
  // The dump is the main thread's view: the workers (and the ring they build from the endpoints)
  // may still be on the previous config, and a config push of another input (a Dataplane's
  // inbound state reported over HDS, say) rebuilds the ring. Wait until one client is sticky.
  ASSERT_TRUE(eventually([&] { return backendsOf(out, "sticky-probe", 10).size() == 1; }, 15s))
      << cp_->output();

  // Each client: 20 requests, one backend. Over 20 clients, both backends are used.
  std::set<std::string> used;
  for (int user = 0; user < 20; ++user) {
    const std::set<std::string> seen = backendsOf(out, "user-" + std::to_string(user), 20);
    EXPECT_EQ(seen.size(), 1u) << "user-" << user;
    EXPECT_EQ(seen.count(""), 0u) << "user-" << user << ": a request failed";
    used.insert(seen.begin(), seen.end());
  }
  EXPECT_EQ(used, (std::set<std::string>{"hello from backend-v1", "hello from backend-v2"}));
  EXPECT_EQ(envoyStat(web.adminPort, "cluster_manager.cds.update_rejected"), 0);
  EXPECT_EQ(envoyStat(web.adminPort, "listener_manager.lds.update_rejected"), 0);
}

}  // namespace
}  // namespace kuma::test
