// End to end with a real Envoy: the Health Discovery Service (source/hds/). The bootstrap
// carries `hdsConfig`; Envoy opens its HDS stream to the DP server, gets the checks of its
// Dataplane (its admin `/ready` and a TCP check of the workload of the inbound with a
// `serviceProbe`) and reports them. The Dataplane's inbound turns NotReady when the workload
// stops listening and Ready again when it is back, as seen over the REST API; the other inbound
// (no probe) follows Envoy's own health and stays Ready.

#include <atomic>

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

// A TCP workload on a fixed port that can be stopped and started again.
class Workload {
 public:
  explicit Workload(uint16_t port) : port_(port) { start(); }
  ~Workload() { stop(); }
  void start() {
    server_ = std::make_unique<httplib::Server>();
    server_->Get(".*", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("workload", "text/plain");
    });
    ASSERT_TRUE(server_->bind_to_port("127.0.0.1", port_));
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  void stop() {
    if (server_ != nullptr) {
      server_->stop();
      thread_.join();
      server_.reset();
    }
  }

 private:
  uint16_t port_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

class HdsEnvoyTest : public XdsEnvoyTest {
 protected:
  HdsEnvoyTest() {
    // Reports every second (Kuma's default is 5 s), checks every second (its default).
    extraEnv_ = {{"KUMA_DP_SERVER_HDS_INTERVAL", "1s"},
                 {"KUMA_DP_SERVER_HDS_REFRESH_INTERVAL", "1s"}};
  }

  // The `state` of each inbound of Dataplane `name` ("Ready" when absent, as Kuma's JSON omits
  // the default).
  std::vector<std::string> inboundStates(const std::string& name) {
    std::vector<std::string> out;
    const auto body = httpGet(cp_->apiPort(), "/meshes/default/dataplanes/" + name);
    const json dp = body ? json::parse(*body, nullptr, false) : json();
    if (!dp.is_object() || !dp.contains("networking")) {
      return out;
    }
    for (const json& inbound : dp["networking"].value("inbound", json::array())) {
      out.push_back(inbound.value("state", "Ready"));
    }
    return out;
  }

  Sidecar web_;
};

TEST_F(HdsEnvoyTest, ProbedInboundFollowsItsWorkload) {
  put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  const uint16_t appPort = freePort();
  Workload workload(appPort);
  json dp = dataplane("web", freePort(), freePort(), appPort, "web");
  dp["networking"]["inbound"][0]["serviceProbe"] = {
      {"interval", "1s"}, {"timeout", "1s"}, {"unhealthyThreshold", 1}, {"tcp", json::object()}};
  App admin("web-admin");
  dp["networking"]["inbound"].push_back(
      {{"port", freePort()},
       {"servicePort", admin.port()},
       {"tags", {{"kuma.io/service", "web-admin"}, {"kuma.io/protocol", "http"}}}});
  web_ = startSidecar(dp, false, 581);
  ASSERT_TRUE(web_.envoy);

  // Envoy opened its HDS stream and got its checks.
  ASSERT_TRUE(
      eventually([&] { return envoyStat(web_.adminPort, "hds_delegate.responses") >= 1; }, 40s))
      << diagnostics({&web_});
  ASSERT_TRUE(eventually(
      [&] {
        return inboundStates("web") == std::vector<std::string>{"Ready", "Ready"};
      },
      30s))
      << diagnostics({&web_});

  // The workload stops listening: its inbound turns NotReady; the other one stays Ready.
  workload.stop();
  ASSERT_TRUE(eventually(
      [&] {
        return inboundStates("web") == std::vector<std::string>{"NotReady", "Ready"};
      },
      30s))
      << diagnostics({&web_});
  const auto body = httpGet(cp_->apiPort(), "/meshes/default/dataplanes/web");
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(json::parse(*body)["networking"]["inbound"][0]["health"],
            json::parse(R"({})"))  // `ready: false` is Go's zero value: omitted
      << *body;

  // It is back: Ready again.
  workload.start();
  ASSERT_TRUE(eventually(
      [&] {
        return inboundStates("web") == std::vector<std::string>{"Ready", "Ready"};
      },
      30s))
      << diagnostics({&web_});
  EXPECT_EQ(envoyStat(web_.adminPort, "hds_delegate.errors"), 0);
}

}  // namespace
}  // namespace kuma::test
