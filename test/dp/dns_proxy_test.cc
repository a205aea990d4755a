// kuma-dp's DNS proxy: the wire helpers (dns_message.h), the /dns map parser, and the proxy
// serving a map and forwarding to an upstream over real UDP sockets on loopback.

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <ares.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/dp/dns_message.h"
#include "source/dp/dns_proxy.h"

namespace kuma::dp {
namespace {

using namespace std::chrono_literals;

// A query built by c-ares (the client side of the library we parse with).
std::string makeQuery(const std::string& name, int type, uint16_t id = 0x4242) {
  unsigned char* buf = nullptr;
  int len = 0;
  EXPECT_EQ(ares_create_query(name.c_str(), ns_c_in, type, id, /*rd=*/1, &buf, &len, 0),
            ARES_SUCCESS);
  std::string out(reinterpret_cast<char*>(buf), static_cast<size_t>(len));
  ares_free_string(buf);
  return out;
}

std::vector<std::string> aAnswers(const std::string& reply) {
  hostent* host = nullptr;
  std::vector<std::string> out;
  if (ares_parse_a_reply(reinterpret_cast<const unsigned char*>(reply.data()),
                         static_cast<int>(reply.size()), &host, nullptr, nullptr) != ARES_SUCCESS) {
    return out;
  }
  for (char** a = host->h_addr_list; *a != nullptr; ++a) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, *a, text, sizeof(text));
    out.emplace_back(text);
  }
  ares_free_hostent(host);
  return out;
}

TEST(DnsMessageTest, ParsesTheFirstQuestion) {
  const std::string packet = makeQuery("Backend.MESH.", kDnsTypeA, 7);
  auto q = parseDnsQuery(packet);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->id, 7);
  EXPECT_EQ(q->name, "backend.mesh");
  EXPECT_EQ(q->type, kDnsTypeA);
  EXPECT_EQ(q->qclass, kDnsClassIN);
  EXPECT_EQ(q->questionEnd, packet.size());
}

TEST(DnsMessageTest, RejectsHostilePackets) {
  EXPECT_FALSE(parseDnsQuery("").ok());
  EXPECT_FALSE(parseDnsQuery(std::string(11, '\0')).ok());
  std::string packet = makeQuery("backend.mesh", kDnsTypeA);
  EXPECT_FALSE(parseDnsQuery(packet.substr(0, packet.size() - 1)).ok()) << "truncated class";
  EXPECT_FALSE(parseDnsQuery(packet.substr(0, 16)).ok()) << "truncated name";
  std::string response = packet;
  response[2] = static_cast<char>(response[2] | 0x80);
  EXPECT_FALSE(parseDnsQuery(response).ok()) << "QR set";
  std::string noQuestion = packet;
  noQuestion[5] = 0;
  EXPECT_FALSE(parseDnsQuery(noQuestion).ok());
  // A compression pointer to itself.
  std::string loop = packet.substr(0, 12) + std::string("\xc0\x0c\x00\x01\x00\x01", 6);
  EXPECT_FALSE(parseDnsQuery(loop).ok());
  EXPECT_FALSE(parseDnsQuery(std::string(kDnsMaxUdpMessage + 1, '\0')).ok());
}

TEST(DnsMessageTest, AnswersWithTheAddressesOfTheQuestionsFamily) {
  const std::string a = makeQuery("backend.mesh", kDnsTypeA, 99);
  auto qa = parseDnsQuery(a);
  ASSERT_TRUE(qa.ok());
  const std::string reply = buildDnsAnswer(a, *qa, {"240.0.0.0", "::ffff:f000:0"}, 30);
  EXPECT_THAT(aAnswers(reply), ::testing::ElementsAre("240.0.0.0"));
  EXPECT_EQ(static_cast<uint8_t>(reply[0]), 0);
  EXPECT_EQ(static_cast<uint8_t>(reply[1]), 99);
  EXPECT_NE(static_cast<uint8_t>(reply[2]) & 0x04, 0) << "authoritative";
  EXPECT_EQ(dnsRcode(reply), kDnsRcodeNoError);

  const std::string aaaa = makeQuery("backend.mesh", kDnsTypeAAAA);
  auto qaaaa = parseDnsQuery(aaaa);
  ASSERT_TRUE(qaaaa.ok());
  const std::string v6 = buildDnsAnswer(aaaa, *qaaaa, {"240.0.0.0", "::ffff:f000:0"}, 30);
  ares_addr6ttl ttls[4];
  int count = 4;
  ASSERT_EQ(ares_parse_aaaa_reply(reinterpret_cast<const unsigned char*>(v6.data()),
                                  static_cast<int>(v6.size()), nullptr, ttls, &count),
            ARES_SUCCESS);
  ASSERT_EQ(count, 1);
  EXPECT_EQ(ttls[0].ttl, 30);
  char text[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &ttls[0].ip6addr, text, sizeof(text));
  EXPECT_STREQ(text, "::ffff:240.0.0.0");

  // IPv4-only name asked for AAAA: NOERROR without records (NODATA), as Kuma.
  const std::string nodata = buildDnsAnswer(aaaa, *qaaaa, {"240.0.0.0"}, 30);
  EXPECT_EQ(dnsRcode(nodata), kDnsRcodeNoError);
  EXPECT_EQ(nodata[7], 0) << "no answers";
}

TEST(DnsMessageTest, ErrorsKeepIdAndQuestion) {
  const std::string q = makeQuery("x.example", kDnsTypeA, 0x1234);
  auto parsed = parseDnsQuery(q);
  ASSERT_TRUE(parsed.ok());
  const std::string err = buildDnsError(q, &*parsed, kDnsRcodeServFail);
  EXPECT_EQ(dnsRcode(err), kDnsRcodeServFail);
  EXPECT_EQ(err.size(), q.size());
  EXPECT_EQ(err.substr(0, 2), q.substr(0, 2));
  EXPECT_EQ(buildDnsError(q, nullptr, kDnsRcodeFormErr).size(), 12u);
  std::string msg = err;
  setDnsId(msg, 0xBEEF);
  EXPECT_EQ(static_cast<uint8_t>(msg[0]), 0xBE);
  EXPECT_EQ(dnsRcode("short"), -1);
}

TEST(DnsProxyConfigTest, ParsesKumasJson) {
  auto map = parseDnsProxyConfig(
      R"({"records":[{"name":"backend.mesh","ips":["240.0.0.0","::ffff:f000:0","nope"]},)"
      R"({"name":"Web.Mesh.","ips":["240.0.0.2"]}],"ttl":30,"extraLabels":{"mesh":"default"}})");
  ASSERT_TRUE(map.ok()) << map.status();
  EXPECT_EQ(map->ttl, 30u);
  EXPECT_THAT(map->records.at("backend.mesh"),
              ::testing::ElementsAre("240.0.0.0", "::ffff:f000:0"));
  EXPECT_THAT(map->records.at("web.mesh"), ::testing::ElementsAre("240.0.0.2"));
  auto empty = parseDnsProxyConfig(R"({"records":null,"ttl":30})");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->records.empty());
}

TEST(DnsProxyConfigTest, RejectsMalformedOrUnbounded) {
  EXPECT_FALSE(parseDnsProxyConfig("").ok());
  EXPECT_FALSE(parseDnsProxyConfig("[]").ok());
  EXPECT_FALSE(parseDnsProxyConfig(R"({"ttl":-1})").ok());
  EXPECT_FALSE(parseDnsProxyConfig(R"({"records":{}})").ok());
  EXPECT_FALSE(parseDnsProxyConfig(R"({"records":[{"ips":[]}]})").ok());
  EXPECT_FALSE(parseDnsProxyConfig(R"({"records":[{"name":""}]})").ok());
  const std::string longName(254, 'a');
  EXPECT_FALSE(parseDnsProxyConfig(R"({"records":[{"name":")" + longName + R"("}]})").ok());
  std::string manyIps = R"({"records":[{"name":"a.mesh","ips":[)";
  for (int i = 0; i < 17; ++i) {
    manyIps += std::string(i == 0 ? "" : ",") + "\"10.0.0." + std::to_string(i) + "\"";
  }
  EXPECT_FALSE(parseDnsProxyConfig(manyIps + "]}]}").ok());
  EXPECT_FALSE(parseDnsProxyConfig(std::string(kDnsProxyConfigMaxBytes + 1, ' ')).ok());
}

// A UDP socket on 127.0.0.1 and a free port.
int udpSocket(uint16_t* port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

uint16_t freeUdpPort() {
  uint16_t port = 0;
  ::close(udpSocket(&port));
  return port;
}

// Sends `query` to 127.0.0.1:`port` and waits up to `timeout` for the reply.
std::optional<std::string> udpExchange(uint16_t port, const std::string& query,
                                       std::chrono::milliseconds timeout = 3000ms) {
  uint16_t own = 0;
  const int fd = udpSocket(&own);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
  pollfd p{fd, POLLIN, 0};
  std::optional<std::string> out;
  if (::poll(&p, 1, static_cast<int>(timeout.count())) == 1) {
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      out.emplace(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

// A fake resolver: answers every query with `rcode` and counts them.
class FakeUpstream {
 public:
  explicit FakeUpstream(uint8_t rcode) : rcode_(rcode) {
    fd_ = udpSocket(&port_);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) != 1) {
          continue;
        }
        char buf[4096];
        sockaddr_storage from{};
        socklen_t len = sizeof(from);
        const ssize_t n =
            ::recvfrom(fd_, buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &len);
        if (n <= 0) {
          continue;
        }
        const std::string packet(buf, static_cast<size_t>(n));
        auto q = parseDnsQuery(packet);
        if (!q.ok()) {
          continue;
        }
        ++queries_;
        const std::string reply = buildDnsError(packet, &*q, rcode_);
        ::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), len);
      }
    });
  }
  ~FakeUpstream() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  int queries() const { return queries_; }

 private:
  uint8_t rcode_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

TEST(DnsProxyTest, AnswersMeshNamesAndForwardsTheRest) {
  FakeUpstream upstream(kDnsRcodeNxDomain);
  DnsProxyOptions options;
  const uint16_t port = freeUdpPort();
  options.listen = {{"127.0.0.1", port}};
  options.upstreamServers = "127.0.0.1:" + std::to_string(upstream.port());
  auto proxy = DnsProxy::start(options);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  EXPECT_FALSE((*proxy)->configReady());
  auto map =
      parseDnsProxyConfig(R"({"records":[{"name":"backend.mesh","ips":["240.0.0.0"]}],"ttl":30})");
  ASSERT_TRUE(map.ok());
  (*proxy)->setMap(*map);
  EXPECT_TRUE((*proxy)->configReady());

  auto answer = udpExchange(port, makeQuery("backend.mesh", kDnsTypeA, 11));
  ASSERT_TRUE(answer.has_value());
  EXPECT_THAT(aAnswers(*answer), ::testing::ElementsAre("240.0.0.0"));
  EXPECT_EQ(upstream.queries(), 0);

  auto forwarded = udpExchange(port, makeQuery("nothing.example", kDnsTypeA, 12));
  ASSERT_TRUE(forwarded.has_value());
  EXPECT_EQ(dnsRcode(*forwarded), kDnsRcodeNxDomain);
  EXPECT_EQ(static_cast<uint8_t>((*forwarded)[1]), 12) << "the client's id is restored";
  EXPECT_EQ(upstream.queries(), 1);

  // Garbage gets FORMERR or nothing, and the proxy keeps answering.
  std::string garbage(40, '\xff');
  garbage[2] = 0;
  auto formerr = udpExchange(port, garbage, 1000ms);
  ASSERT_TRUE(formerr.has_value());
  EXPECT_EQ(dnsRcode(*formerr), kDnsRcodeFormErr);
  EXPECT_FALSE(udpExchange(port, "\x01", 300ms).has_value());
  EXPECT_TRUE(udpExchange(port, makeQuery("backend.mesh", kDnsTypeA)).has_value());
}

TEST(DnsProxyTest, UnreachableUpstreamIsServfail) {
  DnsProxyOptions options;
  const uint16_t port = freeUdpPort();
  options.listen = {{"127.0.0.1", port}};
  options.upstreamServers = "127.0.0.1:" + std::to_string(freeUdpPort());
  options.upstreamTimeout = 200ms;
  auto proxy = DnsProxy::start(options);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  auto answer = udpExchange(port, makeQuery("x.example", kDnsTypeA), 5000ms);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(dnsRcode(*answer), kDnsRcodeServFail);
}

// The CoreDNS setup: Envoy's DNS listener first, the host's resolvers when it says NXDOMAIN.
TEST(DnsProxyTest, EnvoyFirstFallsBackOnNxdomain) {
  FakeUpstream envoy(kDnsRcodeNxDomain);
  FakeUpstream host(kDnsRcodeNoError);
  DnsProxyOptions options;
  const uint16_t port = freeUdpPort();
  options.listen = {{"127.0.0.1", port}};
  options.envoyDnsPort = envoy.port();
  options.upstreamServers = "127.0.0.1:" + std::to_string(host.port());
  auto proxy = DnsProxy::start(options);
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  auto answer = udpExchange(port, makeQuery("example.com", kDnsTypeA));
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(dnsRcode(*answer), kDnsRcodeNoError);
  EXPECT_EQ(envoy.queries(), 1);
  EXPECT_EQ(host.queries(), 1);
}

TEST(DnsProxyTest, TakenPortIsAnError) {
  uint16_t port = 0;
  const int fd = udpSocket(&port);
  DnsProxyOptions options;
  options.listen = {{"127.0.0.1", port}};
  options.upstreamServers = "127.0.0.1:53";
  auto proxy = DnsProxy::start(options);
  EXPECT_FALSE(proxy.ok());
  ::close(fd);
}

}  // namespace
}  // namespace kuma::dp
