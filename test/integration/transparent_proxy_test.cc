// End to end, strict inbound ports (Kuma 2.14 transparent_proxy_generator.go): in a network
// namespace of its own with iptables nat REDIRECT rules like a transparent proxy's, kuma-cp,
// kuma-dp and Envoy run on a mesh with mTLS STRICT.
//
//  * `strict-1` (127.0.0.2, kuma-dp's default: it advertises feature-strict-inbound-ports): its
//    inbound passthrough accepts only the declared inbound port; plaintext redirected to any
//    other port is closed by Envoy and never reaches the workload listening there, plaintext to
//    the declared port is refused by the STRICT inbound, mesh traffic (web-1 → backend over
//    mTLS) goes through the redirect to it.
//  * `open-1` (127.0.0.3, kuma-dp with KUMA_DATAPLANE_RUNTIME_STRICT_INBOUND_PORTS_ENABLED=false):
//    the catch-all passthrough Kuma keeps without the feature, through which that same plaintext
//    reaches the workload around mTLS — the hole strict inbound ports close.
//
// The namespace: the test process unshares its network namespace before anything starts (all
// children inherit it) and brings its loopback up; the rules redirect TCP to each Dataplane's
// address, except what Envoy's inbound passthrough sends from 127.0.0.6, to its
// redirectPortInbound. Root is needed; without it, or without iptables, the test fails.

#include "gmock/gmock.h"
#include "test/integration/kuma_dp_start.h"
#include "test/integration/netns.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

using ::testing::HasSubstr;

constexpr char kStrictAddress[] = "127.0.0.2";
constexpr char kOpenAddress[] = "127.0.0.3";
constexpr uint16_t kStrictRedirectInbound = 15006;
constexpr uint16_t kOpenRedirectInbound = 15016;

// Enters a new network namespace with its loopback up and the transparent proxy's nat rules.
// @return "" or what failed.
std::string setUpNetworkNamespace() {
  if (std::string error = enterNetworkNamespace(); !error.empty()) {
    return error;
  }
  for (const auto& [address, port] : std::vector<std::pair<std::string, uint16_t>>{
           {kStrictAddress, kStrictRedirectInbound}, {kOpenAddress, kOpenRedirectInbound}}) {
    if (std::string error =
            iptables({"-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", address, "!", "-s",
                      "127.0.0.6", "-j", "REDIRECT", "--to-ports", std::to_string(port)});
        !error.empty()) {
      return error;
    }
  }
  return "";
}

std::optional<std::string> httpGet(uint16_t port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(std::chrono::seconds(1));
  client.set_read_timeout(std::chrono::seconds(2));
  auto res = client.Get(path);
  if (!res || res->status != 200) {
    return std::nullopt;
  }
  return res->body;
}

std::string transparentDataplane(const std::string& name, const std::string& address,
                                 const std::string& service, uint16_t inboundPort, uint16_t appPort,
                                 uint16_t redirectInbound) {
  const auto n = [](uint32_t v) { return std::to_string(v); };
  return "type: Dataplane\nmesh: default\nname: " + name + "\nnetworking:\n  address: " + address +
         "\n  admin:\n    port: " + n(freePort()) + "\n  inbound:\n  - port: " + n(inboundPort) +
         "\n    servicePort: " + n(appPort) +
         "\n    serviceAddress: 127.0.0.1\n    tags:\n      kuma.io/service: " + service +
         "\n      kuma.io/protocol: http\n  transparentProxying:\n    redirectPortInbound: " +
         n(redirectInbound) + "\n    redirectPortOutbound: " + n(redirectInbound - 5) +
         "\n    ipFamilyMode: IPv4\n";
}

class TransparentProxyTest : public InNetworkNamespace<setUpNetworkNamespace> {
 protected:
  void SetUp() override {
    InNetworkNamespace::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    dir_ = makeTempDir("transparent-proxy");
    KumaCp::Options options;
    options.env = {{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "none"}};
    auto cp = KumaCp::start(options);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(*cp);
    httplib::Client api("127.0.0.1", cp_->apiPort());
    const json mesh = {
        {"type", "Mesh"},
        {"name", "default"},
        {"mtls",
         {{"enabledBackend", "ca-1"},
          {"backends", {{{"name", "ca-1"}, {"type", "builtin"}, {"mode", "STRICT"}}}}}}};
    auto res = api.Put("/meshes/default", mesh.dump(), "application/json");
    ASSERT_TRUE(res && res->status < 300) << (res ? res->body : "no answer");
    const json allowAll = {
        {"type", "MeshTrafficPermission"},
        {"mesh", "default"},
        {"name", "allow-all"},
        {"spec",
         {{"targetRef", {{"kind", "Mesh"}}},
          {"from", {{{"targetRef", {{"kind", "Mesh"}}}, {"default", {{"action", "Allow"}}}}}}}}};
    res = api.Put("/meshes/default/meshtrafficpermissions/allow-all", allowAll.dump(),
                  "application/json");
    ASSERT_TRUE(res && res->status < 300) << (res ? res->body : "no answer");
  }

  void TearDown() override {
    for (KumaDpProcess* dp : {&web_, &strict_, &open_}) {
      if (dp->process) {
        EXPECT_EQ(dp->process->stop(SIGTERM, std::chrono::seconds(15)), 0) << dp->process->output();
      }
    }
  }

  // Envoy's stat `name` read over the admin socket of `dp`, or -1.
  static long envoyStat(const KumaDpProcess& dp, const std::string& name) {
    auto res = unixHttpGet(dp.adminSocket(), "/stats?filter=^" + name + "$");
    if (!res.has_value() || res->first != 200) {
      return -1;
    }
    const auto colon = res->second.find(name + ": ");
    return colon == std::string::npos ? -1 : std::stol(res->second.substr(colon + name.size() + 2));
  }

  // The inbound passthrough listener of `name` as kuma-cp generates it now.
  json inboundPassthrough(const std::string& name) const {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    auto res = api.Get("/meshes/default/dataplanes/" + name + "/_config");
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
    if (!res || res->status != 200) {
      return json();
    }
    return json::parse(res->body)["xds"]["type.googleapis.com/envoy.config.listener.v3.Listener"]
                                 ["inbound:passthrough:ipv4"];
  }

  std::string dir_;
  std::unique_ptr<KumaCp> cp_;
  KumaDpProcess strict_;
  KumaDpProcess open_;
  KumaDpProcess web_;
};

TEST_F(TransparentProxyTest, StrictInboundPortsRefuseUndeclaredPortsOnAStrictMesh) {
  App backendApp("backend");
  App openApp("open");
  const uint16_t undeclaredPort = freePort();
  CountingApp undeclared("undeclared", undeclaredPort);  // the workload's other port
  ASSERT_TRUE(undeclared.bound());
  const uint16_t strictInbound = freePort();
  const uint16_t openInbound = freePort();
  const uint16_t webOutbound = freePort();

  strict_ = startKumaDp(*cp_, envoy_, dir_, "strict-1",
                        transparentDataplane("strict-1", kStrictAddress, "backend", strictInbound,
                                             backendApp.port(), kStrictRedirectInbound));
  open_ = startKumaDp(*cp_, envoy_, dir_, "open-1",
                      transparentDataplane("open-1", kOpenAddress, "open", openInbound,
                                           openApp.port(), kOpenRedirectInbound),
                      {{"KUMA_DATAPLANE_RUNTIME_STRICT_INBOUND_PORTS_ENABLED", "false"}});
  web_ = startKumaDp(
      *cp_, envoy_, dir_, "web-1",
      "type: Dataplane\nmesh: default\nname: web-1\nnetworking:\n"
      "  address: 127.0.0.4\n  admin:\n    port: " +
          std::to_string(freePort()) + "\n  inbound:\n  - port: " + std::to_string(freePort()) +
          "\n    servicePort: " + std::to_string(freePort()) +
          "\n    serviceAddress: 127.0.0.1\n    tags:\n      kuma.io/service: "
          "web\n  outbound:\n  - port: " +
          std::to_string(webOutbound) + "\n    tags:\n      kuma.io/service: backend\n");
  ASSERT_NO_FATAL_FAILURE(expectKumaDpReady(strict_, *cp_));
  ASSERT_NO_FATAL_FAILURE(expectKumaDpReady(open_, *cp_));
  ASSERT_NO_FATAL_FAILURE(expectKumaDpReady(web_, *cp_));

  // Mesh traffic reaches the declared port through the redirect, over mTLS: the rules and the
  // inbound passthrough of strict-1 are in place.
  std::optional<std::string> body;
  ASSERT_TRUE(eventually(
      [&] {
        body = httpGet(webOutbound, "/");
        return body == "hello from backend";
      },
      std::chrono::seconds(30)))
      << "last body: " << body.value_or("<none>") << "\nstrict-1:\n"
      << strict_.process->output();

  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  // Without the feature, plaintext redirected to an undeclared port reaches the workload,
  // around mTLS.
  std::optional<std::string> bypass;
  ASSERT_TRUE(eventually(
      [&] {
        bypass = tcpExchange(kOpenAddress, undeclaredPort, request);
        return bypass.has_value() && bypass->find("hello from undeclared") != std::string::npos;
      },
      std::chrono::seconds(15)))
      << "open-1's catch-all passthrough did not forward: " << bypass.value_or("<no connection>")
      << "\n"
      << open_.process->output();
  const int hitsBefore = undeclared.hits();
  EXPECT_GE(hitsBefore, 1);

  // With strict inbound ports, Envoy accepts the redirected connection, finds no filter chain
  // for the port and closes it: nothing reaches the workload.
  const long noChainBefore = envoyStat(strict_, "listener.0.0.0.0_15006.no_filter_chain_match");
  ASSERT_GE(noChainBefore, 0) << "no stats over " << strict_.adminSocket();
  for (int i = 0; i < 3; ++i) {
    auto refused = tcpExchange(kStrictAddress, undeclaredPort, request);
    ASSERT_TRUE(refused.has_value()) << "the redirect must deliver the connection to Envoy";
    EXPECT_EQ(*refused, "") << "undeclared port answered through strict-1";
  }
  EXPECT_EQ(undeclared.hits(), hitsBefore);
  EXPECT_TRUE(eventually(
      [&] {
        return envoyStat(strict_, "listener.0.0.0.0_15006.no_filter_chain_match") >=
               noChainBefore + 3;
      },
      std::chrono::seconds(5)));

  // The declared port takes mesh mTLS only: plaintext gets no HTTP answer.
  auto plaintextDeclared = tcpExchange(kStrictAddress, strictInbound, request);
  ASSERT_TRUE(plaintextDeclared.has_value());
  EXPECT_THAT(*plaintextDeclared, ::testing::Not(HasSubstr("hello from backend")));
  EXPECT_EQ(httpGet(webOutbound, "/"), "hello from backend");

  // What kuma-cp generated from what each kuma-dp advertised.
  const json strictListener = inboundPassthrough("strict-1");
  ASSERT_EQ(strictListener.value("filterChains", json::array()).size(), 1u)
      << strictListener.dump(2);
  EXPECT_EQ(strictListener["filterChains"][0]
                .value("filterChainMatch", json::object())
                .value("destinationPort", 0),
            strictInbound);
  const json openListener = inboundPassthrough("open-1");
  ASSERT_EQ(openListener.value("filterChains", json::array()).size(), 1u) << openListener.dump(2);
  EXPECT_FALSE(openListener["filterChains"][0].contains("filterChainMatch"));
}

}  // namespace
}  // namespace kuma::test
