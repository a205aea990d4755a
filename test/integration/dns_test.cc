// End to end, DNS for a transparent proxy (spec §7.3, §7.3.1; Kuma 2.14's DNSGenerator, dynconf
// and kuma-dp's DNS proxy): kuma-cp, kuma-dp and a real Envoy in a network namespace of the
// test's own (Envoy's passthrough listeners bind 0.0.0.0), queried with c-ares-built packets.
//
//  * `web-1` (KUMA_DNS_PROXY_PORT set: the embedded proxy): kuma-dp becomes ready only with its
//    map from Envoy's `_kuma:dynamicconfig` /dns; its DNS port answers `backend.mesh` with the
//    VIP, and forwards `nothing.example` to the resolver (a fake one answering NXDOMAIN).
//  * `web-2` (--dns-enabled=false): Envoy's `kuma:dns` UDP listener on --dns-envoy-port answers
//    `backend.mesh` itself.
//  * `web-3` (DNS on, no proxy port: where Kuma runs CoreDNS): kuma-dp's proxy on
//    --dns-coredns-port asks Envoy's `kuma:dns` first and the resolver for the rest.
//  * A legacy VirtualOutbound: one name per backend instance, each reaching only that instance.

#include <arpa/nameser.h>
#include <ares.h>
#include <netdb.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <thread>

#include "gmock/gmock.h"
#include "test/integration/kuma_dp_start.h"
#include "test/integration/netns.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

using namespace std::chrono_literals;

int udpSocket(uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

struct DnsReply {
  int rcode = -1;
  std::vector<std::string> a;
};

// One A query for `name` to 127.0.0.1:`port` (UDP); nullopt when nothing answers in 2 s.
std::optional<DnsReply> queryA(uint16_t port, const std::string& name) {
  unsigned char* q = nullptr;
  int qlen = 0;
  if (ares_create_query(name.c_str(), ns_c_in, ns_t_a, 0x5151, 1, &q, &qlen, 0) != ARES_SUCCESS) {
    return std::nullopt;
  }
  uint16_t own = 0;
  const int fd = udpSocket(&own);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::sendto(fd, q, static_cast<size_t>(qlen), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  ares_free_string(q);
  pollfd p{fd, POLLIN, 0};
  std::optional<DnsReply> out;
  unsigned char buf[4096];
  if (::poll(&p, 1, 2000) == 1) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n >= 12) {
      DnsReply r;
      r.rcode = buf[3] & 0x0f;
      hostent* host = nullptr;
      if (ares_parse_a_reply(buf, static_cast<int>(n), &host, nullptr, nullptr) == ARES_SUCCESS) {
        for (char** addr = host->h_addr_list; *addr != nullptr; ++addr) {
          char text[INET_ADDRSTRLEN];
          inet_ntop(AF_INET, *addr, text, sizeof(text));
          r.a.emplace_back(text);
        }
        ares_free_hostent(host);
      }
      out = r;
    }
  }
  ::close(fd);
  return out;
}

// The host's resolver stand-in: NXDOMAIN for everything, counting the names asked.
class FakeResolver {
 public:
  FakeResolver() {
    fd_ = udpSocket(&port_);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) != 1) {
          continue;
        }
        unsigned char buf[4096];
        sockaddr_storage from{};
        socklen_t len = sizeof(from);
        const ssize_t n =
            ::recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n < 12) {
          continue;
        }
        ++queries_;
        buf[2] = static_cast<unsigned char>(buf[2] | 0x80);        // QR
        buf[3] = static_cast<unsigned char>((buf[3] & 0xf0) | 3);  // NXDOMAIN
        ::sendto(fd_, buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    });
  }
  ~FakeResolver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int queries() const { return queries_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

std::string dataplane(const std::string& name, const std::string& service, uint16_t inbound,
                      uint16_t app, uint16_t redirect) {
  const auto n = [](uint32_t v) { return std::to_string(v); };
  std::string yaml = "type: Dataplane\nmesh: default\nname: " + name +
                     "\nnetworking:\n  address: 127.0.0.1\n  inbound:\n  - port: " + n(inbound) +
                     "\n    servicePort: " + n(app) +
                     "\n    tags:\n      kuma.io/service: " + service +
                     "\n      kuma.io/protocol: http\n";
  if (redirect != 0) {
    yaml += "  transparentProxying:\n    redirectPortInbound: " + n(redirect) +
            "\n    redirectPortOutbound: " + n(redirect + 1) + "\n    ipFamilyMode: IPv4\n";
  }
  return yaml;
}

class DnsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { namespaceError_ = new std::string(enterNetworkNamespace()); }
  static void TearDownTestSuite() {
    delete namespaceError_;
    namespaceError_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(namespaceError_, nullptr);
    ASSERT_EQ(*namespaceError_, "");
    envoy_ = std::getenv("KUMA_ENVOY_BINARY") != nullptr ? std::getenv("KUMA_ENVOY_BINARY") : "";
    ASSERT_FALSE(envoy_.empty()) << "KUMA_ENVOY_BINARY is not set";
    dir_ = makeTempDir("dns");
    KumaCp::Options options;
    // Short controller intervals: MeshServices, their VIPs and hostnames within a second.
    options.env = {{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "none"},
                   {"KUMA_MESH_SERVICE_GENERATION_INTERVAL", "200ms"},
                   {"KUMA_IPAM_ALLOCATION_INTERVAL", "200ms"},
                   {"KUMA_CORE_RESOURCES_STATUS_MESH_SERVICE_INTERVAL", "200ms"}};
    auto cp = KumaCp::start(options);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(*cp);
    httplib::Client api("127.0.0.1", cp_->apiPort());
    auto res =
        api.Put("/meshes/default", R"({"type":"Mesh","name":"default"})", "application/json");
    ASSERT_TRUE(res && res->status < 300) << (res ? res->body : "no answer");
  }

  void TearDown() override {
    for (KumaDpProcess* dp : {&backend_, &backend2_, &web1_, &web2_, &web3_}) {
      if (dp->process) {
        EXPECT_EQ(dp->process->stop(SIGTERM, 15s), 0) << dp->process->output();
      }
    }
  }

  std::string envoy_;
  std::string dir_;
  std::unique_ptr<KumaCp> cp_;
  KumaDpProcess backend_, backend2_, web1_, web2_, web3_;
  static std::string* namespaceError_;
};

std::string* DnsTest::namespaceError_ = nullptr;

TEST_F(DnsTest, MeshNamesResolveToVipsThroughEveryKumaDpMode) {
  FakeResolver resolver;
  const std::string upstream = "127.0.0.1:" + std::to_string(resolver.port());
  // backend and web: VIPs 240.0.0.0 and 240.0.0.1 (sorted by service, §7.3.1).
  backend_ = startKumaDp(*cp_, envoy_, dir_, "backend-1",
                         dataplane("backend-1", "backend", freePort(), freePort(), 0));
  expectKumaDpReady(backend_, *cp_);

  const uint16_t proxyPort = freePort();
  const auto start = std::chrono::steady_clock::now();
  web1_ = startKumaDp(
      *cp_, envoy_, dir_, "web-1", dataplane("web-1", "web", freePort(), freePort(), 15006),
      {{"KUMA_DNS_PROXY_PORT", std::to_string(proxyPort)}, {"KUMA_DNS_PROXY_UPSTREAM", upstream}},
      {"--dns-enabled=true", "--dns-envoy-port", std::to_string(freePort())});
  expectKumaDpReady(web1_, *cp_);  // gated on the DNS map
  const auto readyAfter = std::chrono::steady_clock::now() - start;
  auto answer = queryA(proxyPort, "backend.mesh");
  ASSERT_TRUE(answer.has_value()) << web1_.process->output();
  EXPECT_EQ(answer->rcode, 0);
  EXPECT_THAT(answer->a, ::testing::ElementsAre("240.0.0.0")) << web1_.process->output();
  auto own = queryA(proxyPort, "WEB.mesh");
  ASSERT_TRUE(own.has_value());
  EXPECT_THAT(own->a, ::testing::ElementsAre("240.0.0.1"));
  auto unknown = queryA(proxyPort, "nothing.example");
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->rcode, 3) << "NXDOMAIN from the resolver";
  EXPECT_EQ(resolver.queries(), 1);
  EXPECT_THAT(web1_.process->output(),
              ::testing::HasSubstr("DNS proxy received first configuration"));
  EXPECT_LT(readyAfter, 15s) << "ready without the 15 s DNS gate timeout";

  const uint16_t envoyDnsPort = freePort();
  web2_ = startKumaDp(*cp_, envoy_, dir_, "web-2",
                      dataplane("web-2", "web", freePort(), freePort(), 15016), {},
                      {"--dns-envoy-port", std::to_string(envoyDnsPort)});
  expectKumaDpReady(web2_, *cp_);
  std::optional<DnsReply> fromEnvoy;
  ASSERT_TRUE(eventually(
      [&] {
        fromEnvoy = queryA(envoyDnsPort, "backend.mesh");
        return fromEnvoy.has_value() && !fromEnvoy->a.empty();
      },
      20s))
      << web2_.process->output();
  EXPECT_THAT(fromEnvoy->a, ::testing::ElementsAre("240.0.0.0"));

  const uint16_t corednsPort = freePort();
  const uint16_t envoyDnsPort3 = freePort();
  web3_ = startKumaDp(*cp_, envoy_, dir_, "web-3",
                      dataplane("web-3", "web", freePort(), freePort(), 15026),
                      {{"KUMA_DNS_PROXY_UPSTREAM", upstream}},
                      {"--dns-enabled=true", "--dns-coredns-port", std::to_string(corednsPort),
                       "--dns-envoy-port", std::to_string(envoyDnsPort3)});
  expectKumaDpReady(web3_, *cp_);
  std::optional<DnsReply> viaEnvoy;
  ASSERT_TRUE(eventually(
      [&] {
        viaEnvoy = queryA(corednsPort, "backend.mesh");
        return viaEnvoy.has_value() && !viaEnvoy->a.empty();
      },
      20s))
      << web3_.process->output();
  EXPECT_THAT(viaEnvoy->a, ::testing::ElementsAre("240.0.0.0"));
  const int before = resolver.queries();
  auto fallback = queryA(corednsPort, "nothing.example");
  ASSERT_TRUE(fallback.has_value());
  EXPECT_EQ(fallback->rcode, 3);
  EXPECT_EQ(resolver.queries(), before + 1) << "Envoy said NXDOMAIN, the resolver was asked";
}

// A mesh in `meshServices.mode: Exclusive`: kuma-cp derives the MeshService `backend` from the
// Dataplane, gives it the VIP 241.0.0.0 and the hostname `backend.svc.mesh.local` (Kuma's
// default HostnameGenerator); kuma-dp's DNS proxy answers that name, and an application calling
// the VIP (redirected by iptables to web's outbound port, as a transparent proxy does) reaches
// the backend through both Envoys over the MeshService outbound.
TEST_F(DnsTest, MeshServiceHostnamesResolveAndCarryTraffic) {
  ASSERT_EQ(addLoopbackNetwork("241.255.255.254", "255.0.0.0"), "");
  ASSERT_EQ(iptables({"-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", "241.0.0.0/8", "-j",
                      "REDIRECT", "--to-ports", "15037"}),
            "");
  httplib::Client api("127.0.0.1", cp_->apiPort());
  auto res = api.Put("/meshes/default",
                     R"({"type":"Mesh","name":"default","meshServices":{"mode":"Exclusive"}})",
                     "application/json");
  ASSERT_TRUE(res && res->status < 300) << (res ? res->body : "no answer");
  FakeResolver resolver;
  App app("backend");
  const uint16_t backendPort = freePort();
  backend_ = startKumaDp(*cp_, envoy_, dir_, "backend-1",
                         dataplane("backend-1", "backend", backendPort, app.port(), 0));
  expectKumaDpReady(backend_, *cp_);

  const uint16_t proxyPort = freePort();
  web1_ = startKumaDp(*cp_, envoy_, dir_, "web-1",
                      dataplane("web-1", "web", freePort(), freePort(), 15036),
                      {{"KUMA_DNS_PROXY_PORT", std::to_string(proxyPort)},
                       {"KUMA_DNS_PROXY_UPSTREAM", "127.0.0.1:" + std::to_string(resolver.port())}},
                      {"--dns-enabled=true", "--dns-envoy-port", std::to_string(freePort())});
  expectKumaDpReady(web1_, *cp_);
  std::optional<DnsReply> answer;
  ASSERT_TRUE(eventually(
      [&] {
        answer = queryA(proxyPort, "backend.svc.mesh.local");
        return answer.has_value() && !answer->a.empty();
      },
      30s))
      << web1_.process->output();
  EXPECT_THAT(answer->a, ::testing::ElementsAre("241.0.0.0"));
  EXPECT_EQ(resolver.queries(), 0) << "a mesh name is answered by the proxy itself";

  std::string body;
  ASSERT_TRUE(eventually(
      [&] {
        auto got = tcpExchange("241.0.0.0", backendPort,
                               "GET / HTTP/1.1\r\nHost: backend.svc.mesh.local\r\n"
                               "Connection: close\r\n\r\n");
        body = got.value_or("");
        return body.find("hello from backend") != std::string::npos;
      },
      30s))
      << body << "\n"
      << unixHttpGet(web1_.adminSocket(), "/stats?filter=(msvc|passthrough|241)")
             .value_or(std::make_pair(0, std::string()))
             .second;
  EXPECT_THAT(body, ::testing::StartsWith("HTTP/1.1 200 OK"));
}

// A legacy VirtualOutbound `{{.svc}}.{{.inst}}.vo` on port 8080 over two backend instances:
// kuma-cp gives each name its own VIP (§7.3.1), kuma-dp's DNS proxy
// answers both names, and a call to either VIP (redirected to web's outbound port as a
// transparent proxy's iptables rules do) reaches that instance only, through the VirtualOutbound's
// listener and its subset cluster.
TEST_F(DnsTest, VirtualOutboundNamesReachOneInstanceEach) {
  ASSERT_EQ(addLoopbackNetwork("240.255.255.254", "255.0.0.0"), "");
  ASSERT_EQ(iptables({"-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", "240.0.0.0/8", "-j",
                      "REDIRECT", "--to-ports", "15047"}),
            "");
  httplib::Client api("127.0.0.1", cp_->apiPort());
  auto res = api.Put("/meshes/default/virtual-outbounds/instances", R"({
      "type": "VirtualOutbound", "mesh": "default", "name": "instances",
      "selectors": [{"match": {"kuma.io/service": "backend"}}],
      "conf": {"host": "{{.svc}}.{{.inst}}.vo", "port": "8080",
               "parameters": [{"name": "svc", "tagKey": "kuma.io/service"},
                              {"name": "inst", "tagKey": "kuma.io/instance"}]}})",
                     "application/json");
  ASSERT_TRUE(res && res->status == 201) << (res ? res->body : "no answer");
  const auto instance = [](std::string yaml, const std::string& id) {
    const std::string at = "      kuma.io/protocol: http\n";
    return yaml.replace(yaml.find(at), at.size(), at + "      kuma.io/instance: " + id + "\n");
  };
  App app1("backend-1");
  App app2("backend-2");
  backend_ =
      startKumaDp(*cp_, envoy_, dir_, "backend-1",
                  instance(dataplane("backend-1", "backend", freePort(), app1.port(), 0), "i-1"));
  backend2_ =
      startKumaDp(*cp_, envoy_, dir_, "backend-2",
                  instance(dataplane("backend-2", "backend", freePort(), app2.port(), 0), "i-2"));
  expectKumaDpReady(backend_, *cp_);
  expectKumaDpReady(backend2_, *cp_);

  FakeResolver resolver;
  const uint16_t proxyPort = freePort();
  web1_ = startKumaDp(*cp_, envoy_, dir_, "web-1",
                      dataplane("web-1", "web", freePort(), freePort(), 15046),
                      {{"KUMA_DNS_PROXY_PORT", std::to_string(proxyPort)},
                       {"KUMA_DNS_PROXY_UPSTREAM", "127.0.0.1:" + std::to_string(resolver.port())}},
                      {"--dns-enabled=true", "--dns-envoy-port", std::to_string(freePort())});
  expectKumaDpReady(web1_, *cp_);
  // Each name its own VIP (which one depends on when kuma-cp first saw each entry).
  std::map<std::string, std::string> vips;
  for (const std::string name : {"backend.mesh", "backend.i-1.vo", "backend.i-2.vo"}) {
    std::optional<DnsReply> answer;
    ASSERT_TRUE(eventually(
        [&] {
          answer = queryA(proxyPort, name);
          return answer.has_value() && !answer->a.empty();
        },
        30s))
        << name << "\n"
        << web1_.process->output();
    ASSERT_EQ(answer->a.size(), 1u) << name;
    EXPECT_THAT(answer->a[0], ::testing::StartsWith("240.0.0.")) << name;
    vips[name] = answer->a[0];
  }
  EXPECT_NE(vips["backend.i-1.vo"], vips["backend.mesh"]);
  EXPECT_NE(vips["backend.i-1.vo"], vips["backend.i-2.vo"]);
  EXPECT_EQ(resolver.queries(), 0) << "mesh names are answered by the proxy itself";

  for (const auto& [vip, expected] : std::vector<std::pair<std::string, std::string>>{
           {vips["backend.i-1.vo"], "hello from backend-1"},
           {vips["backend.i-2.vo"], "hello from backend-2"}}) {
    for (int i = 0; i < 4; ++i) {  // the round robin of a two-endpoint cluster would alternate
      std::string body;
      ASSERT_TRUE(eventually(
          [&] {
            body = tcpExchange(vip, 8080,
                               "GET / HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n")
                       .value_or("");
            return body.find("HTTP/1.1 200") == 0;
          },
          30s))
          << vip << " " << body;
      EXPECT_THAT(body, ::testing::HasSubstr(expected)) << vip;
    }
  }
}

}  // namespace
}  // namespace kuma::test
