// End to end, MeshPassthrough on a transparent proxy: in a network namespace of its own, kuma-cp,
// kuma-dp and Envoy run `web` with transparent proxying (IPv4); an iptables nat rule sends the
// test's own TCP connections (from 127.0.0.50) to web's outbound redirect port, as the transparent
// proxy's rules send the workload's. Three "external" servers listen on 127.0.0.10 (the matched
// IP), 127.0.0.11 (unmatched) and 127.0.0.12 (an HTTP host matched by domain). Envoy's own
// upstream connections leave from 127.0.0.1 and are not redirected.
//
//  * without a policy (the mesh's default outbound passthrough): both IPs are reached;
//  * MeshPassthrough Matched: the matched IP:port is reached, the unmatched one is closed by
//    Envoy (no filter chain) and never reaches its server; the HTTP chain forwards
//    `Host: api.example.com` to the original destination and answers any other host with Kuma's
//    503 "No routes matched this domain";
//  * `None`: nothing leaves any more.
//
// Root is needed (namespace, iptables); without it the test fails.

#include "gmock/gmock.h"
#include "test/integration/kuma_dp_start.h"
#include "test/integration/netns.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

using ::testing::HasSubstr;

constexpr char kClient[] = "127.0.0.50";
constexpr char kMatched[] = "127.0.0.10";
constexpr char kUnmatched[] = "127.0.0.11";
constexpr char kHttpHost[] = "127.0.0.12";
constexpr uint16_t kRedirectOutbound = 15001;
constexpr uint16_t kRedirectInbound = 15006;

std::string setUpNetworkNamespace() {
  if (std::string error = enterNetworkNamespace(); !error.empty()) {
    return error;
  }
  return iptables({"-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-s", kClient, "-j", "REDIRECT",
                   "--to-ports", std::to_string(kRedirectOutbound)});
}

std::string request(const std::string& host) {
  return "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n";
}

class MeshPassthroughE2eTest : public InNetworkNamespace<setUpNetworkNamespace> {
 protected:
  void SetUp() override {
    InNetworkNamespace::SetUp();
    if (HasFatalFailure()) {
      return;
    }
    dir_ = makeTempDir("meshpassthrough");
    KumaCp::Options options;
    options.env = {{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "none"},
                   {"KUMA_DEFAULTS_SKIP_MESH_CREATION", "true"}};
    auto cp = KumaCp::start(options);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(*cp);
    put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  }

  void TearDown() override {
    if (web_.process) {
      EXPECT_EQ(web_.process->stop(SIGTERM, std::chrono::seconds(15)), 0) << web_.process->output();
    }
  }

  void put(const std::string& path, const json& body) {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    auto res = api.Put(path, body.dump(), "application/json");
    ASSERT_TRUE(res && res->status < 300) << path << ": " << (res ? res->body : "no answer");
  }

  void putPolicy(const json& conf) {
    put("/meshes/default/meshpassthroughs/web",
        {{"type", "MeshPassthrough"},
         {"mesh", "default"},
         {"name", "web"},
         {"spec", {{"targetRef", {{"kind", "Mesh"}}}, {"default", conf}}}});
  }

  std::string dir_;
  std::unique_ptr<KumaCp> cp_;
  KumaDpProcess web_;
};

TEST_F(MeshPassthroughE2eTest, OnlyMatchedTrafficLeavesTheMesh) {
  const uint16_t tcpPort = freePort();
  const uint16_t httpPort = freePort();
  CountingApp matched("matched", tcpPort, kMatched);
  CountingApp unmatched("unmatched", tcpPort, kUnmatched);
  CountingApp api("api", httpPort, kHttpHost);
  ASSERT_TRUE(matched.bound() && unmatched.bound() && api.bound());
  App webApp("web");
  web_ = startKumaDp(*cp_, envoy_, dir_, "web",
                     "type: Dataplane\nmesh: default\nname: web\nnetworking:\n"
                     "  address: 127.0.0.4\n  admin:\n    port: " +
                         std::to_string(freePort()) +
                         "\n  inbound:\n  - port: " + std::to_string(freePort()) +
                         "\n    servicePort: " + std::to_string(webApp.port()) +
                         "\n    serviceAddress: 127.0.0.1\n    tags:\n      kuma.io/service: web\n"
                         "  transparentProxying:\n    redirectPortInbound: " +
                         std::to_string(kRedirectInbound) + "\n    redirectPortOutbound: " +
                         std::to_string(kRedirectOutbound) + "\n    ipFamilyMode: IPv4\n");
  ASSERT_NO_FATAL_FAILURE(expectKumaDpReady(web_, *cp_));
  const auto reaches = [&](const char* ip, uint16_t port, const std::string& host,
                           const std::string& body) {
    auto reply = tcpExchangeFrom(kClient, ip, port, request(host));
    return reply.has_value() && reply->find(body) != std::string::npos;
  };

  // The mesh's default passthrough: every destination is reached through Envoy.
  ASSERT_TRUE(eventually([&] { return reaches(kMatched, tcpPort, "x", "hello from matched"); },
                         std::chrono::seconds(30)))
      << web_.process->output();
  ASSERT_TRUE(reaches(kUnmatched, tcpPort, "x", "hello from unmatched"));
  ASSERT_TRUE(reaches(kHttpHost, httpPort, "other.example.com", "hello from api"));

  putPolicy({{"appendMatch",
              {{{"type", "IP"}, {"value", kMatched}, {"port", tcpPort}, {"protocol", "tcp"}},
               {{"type", "Domain"},
                {"value", "api.example.com"},
                {"port", httpPort},
                {"protocol", "http"}}}}});
  // Once Envoy has the policy's chains (Kuma removes the default passthrough clusters at the same
  // time, so an unmatched connection failing alone does not tell), the HTTP host passes again and
  // unmatched traffic stops (Envoy closes the connection).
  ASSERT_TRUE(eventually(
      [&] {
        auto reply = tcpExchangeFrom(kClient, kUnmatched, tcpPort, request("x"));
        return reply.has_value() && reply->empty() &&
               reaches(kHttpHost, httpPort, "api.example.com", "hello from api");
      },
      std::chrono::seconds(30)))
      << web_.process->output();
  const int unmatchedHits = unmatched.hits();
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(reaches(kMatched, tcpPort, "x", "hello from matched"));
    auto refused = tcpExchangeFrom(kClient, kUnmatched, tcpPort, request("x"));
    ASSERT_TRUE(refused.has_value()) << "the redirect must deliver the connection to Envoy";
    EXPECT_EQ(*refused, "");
  }
  EXPECT_EQ(unmatched.hits(), unmatchedHits);
  // The HTTP chain: the matched host goes to its original destination, any other gets Kuma's 503.
  const int apiHits = api.hits();
  EXPECT_TRUE(reaches(kHttpHost, httpPort, "api.example.com", "hello from api"));
  EXPECT_EQ(api.hits(), apiHits + 1);
  auto other = tcpExchangeFrom(kClient, kHttpHost, httpPort, request("other.example.com"));
  ASSERT_TRUE(other.has_value());
  EXPECT_THAT(*other, HasSubstr("HTTP/1.1 503")) << web_.process->output();
  EXPECT_THAT(*other, HasSubstr("No routes matched this domain - check configuration of your "
                                "MeshPassthrough policy."));
  EXPECT_EQ(api.hits(), apiHits + 1);

  // None: the passthrough clusters are gone and the default chain leads nowhere.
  putPolicy({{"passthroughMode", "None"}});
  ASSERT_TRUE(eventually(
      [&] {
        auto reply = tcpExchangeFrom(kClient, kMatched, tcpPort, request("x"));
        return reply.has_value() && reply->empty();
      },
      std::chrono::seconds(30)))
      << web_.process->output();
  const int matchedHits = matched.hits();
  EXPECT_FALSE(reaches(kMatched, tcpPort, "x", "hello"));
  EXPECT_FALSE(reaches(kUnmatched, tcpPort, "x", "hello"));
  EXPECT_EQ(matched.hits(), matchedHits);
}

}  // namespace
}  // namespace kuma::test
