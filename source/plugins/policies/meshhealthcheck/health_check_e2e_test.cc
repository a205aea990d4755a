// End to end with real Envoys: MeshHealthCheck keeps traffic off an endpoint whose health check
// fails. Two `backend` instances behind their own sidecars; both answer `/` with 200, but
// backend-2's `/health` answers 503. Before the policy, web's Envoy balances over both; with a
// MeshHealthCheck (HTTP `/health`, interval 1s) web's Envoy marks backend-2 failed_active_hc and
// every request goes to backend-1; when backend-2's `/health` recovers, it gets traffic again.

#include <atomic>

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

using ::testing::HasSubstr;

// An HTTP workload whose `/health` answers 200 or 503 on demand (every other path: 200).
class HealthApp {
 public:
  explicit HealthApp(std::string name) : name_(std::move(name)) {
    server_.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      ++healthChecks_;
      res.status = healthy_ ? 200 : 503;
      res.set_content(healthy_ ? "ok" : "sick", "text/plain");
    });
    server_.Get(".*", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content("hello from " + name_, "text/plain");
    });
    port_ = static_cast<uint16_t>(server_.bind_to_any_port("127.0.0.1"));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~HealthApp() {
    server_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }
  void setHealthy(bool healthy) { healthy_ = healthy; }
  int healthChecks() const { return healthChecks_; }

 private:
  std::string name_;
  std::atomic<bool> healthy_{true};
  std::atomic<int> healthChecks_{0};
  httplib::Server server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

class MeshHealthCheckE2e : public XdsEnvoyTest {
 protected:
  // Answers of `n` requests through web's outbound: how many came from backend-1 / backend-2.
  std::pair<int, int> spread(uint16_t outbound, int n) {
    int one = 0;
    int two = 0;
    for (int i = 0; i < n; ++i) {
      const std::string body = getFresh(outbound).body;
      one += body == "hello from backend-1";
      two += body == "hello from backend-2";
    }
    return {one, two};
  }

  std::vector<std::unique_ptr<HealthApp>> apps_;
  std::vector<Sidecar> backends_;
  std::unique_ptr<App> webApp_;
  Sidecar web_;
};

TEST_F(MeshHealthCheckE2e, FailingHealthCheckKeepsTrafficOffTheEndpoint) {
  put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  int baseId = 171;
  for (const char* name : {"backend-1", "backend-2"}) {
    auto& app = apps_.emplace_back(std::make_unique<HealthApp>(name));
    json dp = dataplane(name, freePort(), freePort(), app->port(), "backend");
    backends_.push_back(startSidecar(dp, false, baseId++));
    ASSERT_TRUE(backends_.back().envoy);
  }
  webApp_ = std::make_unique<App>("web");
  const uint16_t outbound = freePort();
  web_ = startSidecar(dataplane("web", freePort(), freePort(), webApp_->port(), "web", outbound),
                      true, baseId++);
  ASSERT_TRUE(web_.envoy);

  // Without a health check both instances get traffic (backend-2's /health is already failing).
  apps_[1]->setHealthy(false);
  ASSERT_TRUE(eventually(
      [&] {
        auto [one, two] = spread(outbound, 20);
        return one > 0 && two > 0;
      },
      40s))
      << diagnostics({&web_});
  EXPECT_EQ(apps_[1]->healthChecks(), 0);

  put("/meshes/default/meshhealthchecks/backend-hc", json::parse(R"({
    "type": "MeshHealthCheck", "mesh": "default", "name": "backend-hc",
    "spec": {"targetRef": {"kind": "Mesh"}, "to": [{
      "targetRef": {"kind": "MeshService", "name": "backend"},
      "default": {"interval": "1s", "timeout": "1s", "unhealthyThreshold": 1,
                  "healthyThreshold": 1, "healthyPanicThreshold": 0,
                  "http": {"path": "/health", "expectedStatuses": [200]}}}]}})"));

  // web's Envoy checks both instances and marks backend-2 failed_active_hc.
  ASSERT_TRUE(eventually(
      [&] {
        const std::string clusters = httpGet(web_.adminPort, "/clusters").value_or("");
        return clusters.find("::health_flags::/failed_active_hc") != std::string::npos &&
               apps_[0]->healthChecks() > 0;
      },
      30s))
      << httpGet(web_.adminPort, "/clusters").value_or("") << diagnostics({&web_});
  EXPECT_GT(apps_[1]->healthChecks(), 0);
  EXPECT_EQ(envoyStat(web_.adminPort, "cluster.backend.health_check.healthy"), 1);

  // All traffic goes to backend-1.
  auto [one, two] = spread(outbound, 100);
  EXPECT_EQ(one, 100);
  EXPECT_EQ(two, 0);

  // backend-2 recovers: the next checks pass and it gets traffic again.
  apps_[1]->setHealthy(true);
  ASSERT_TRUE(eventually(
      [&] {
        auto [a, b] = spread(outbound, 20);
        return a > 0 && b > 0;
      },
      30s))
      << httpGet(web_.adminPort, "/clusters").value_or("");
  EXPECT_EQ(envoyStat(web_.adminPort, "cluster_manager.cds.update_rejected"), 0);
}

}  // namespace
}  // namespace kuma::test
