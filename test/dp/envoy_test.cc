// Envoy-facing units: version parsing, command line, ADS refusal detection, the admin client and
// the child process.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "source/dp/dns.h"
#include "source/dp/envoy_admin.h"
#include "source/dp/envoy_process.h"
#include "source/dp/envoy_version.h"

namespace kuma::dp {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(EnvoyVersionTest, ParsesEnvoyOutput) {
  auto v = parseEnvoyVersion(
      "\nenvoy  version: "
      "f387231af8dd7274e37c5ae2cc797cb09a948818/1.38.2/Clean/RELEASE/BoringSSL\n\n");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->version, "1.38.2");
  EXPECT_EQ(v->build, "f387231af8dd7274e37c5ae2cc797cb09a948818/1.38.2/Clean/RELEASE/BoringSSL");
  auto dev = parseEnvoyVersion("envoy version: abc/1.39.0-dev/Modified/DEBUG/BoringSSL-FIPS");
  ASSERT_TRUE(dev.ok());
  EXPECT_EQ(dev->version, "1.39.0-dev");
  for (const char* bad : {"", "envoy 1.38.2", "version: abc", "version: abc/x.y/Clean"}) {
    EXPECT_FALSE(parseEnvoyVersion(bad).ok()) << bad;
  }
  EXPECT_TRUE(envoyVersionCompatible("1.38.0", "1.38.2"));
  EXPECT_FALSE(envoyVersionCompatible("1.37.9", "1.38.2"));
  EXPECT_FALSE(envoyVersionCompatible("", "1.38.2"));
}

TEST(EnvoyArgsTest, KumaCommandLine) {
  Config c;
  c.dataplane.drainTime = 1500ms;
  c.runtime.envoyComponentLogLevel = "upstream:debug";
  ConcurrencyDecision cpuset;
  EXPECT_THAT(envoyArgs(c, "/w/bootstrap.yaml", cpuset),
              ElementsAre("--config-path", "/w/bootstrap.yaml", "--drain-time-s", "2",
                          "--drain-strategy", "immediate", "--disable-hot-restart", "--log-level",
                          "info", "--component-log-level", "upstream:debug", "--cpuset-threads"));
  c.runtime.envoyLogLevel = "warning";
  c.runtime.envoyComponentLogLevel.clear();
  ConcurrencyDecision fixed{ConcurrencyDecision::Source::CpuLimit, 3, ""};
  const auto args = envoyArgs(c, "/b.yaml", fixed);
  EXPECT_THAT(std::vector<std::string>(args.end() - 4, args.end()),
              ElementsAre("--log-level", "warning", "--concurrency", "3"));
}

TEST(AdsRefusalTest, RecognisesUnauthenticatedAndPermissionDenied) {
  EXPECT_EQ(adsRefusalIn("[2025-01-01 00:00:00.000][1][warning][config] "
                         "[source/extensions/config_subscription/grpc/grpc_stream.h:193] "
                         "StreamAggregatedResources gRPC config stream to ads_cluster closed: 16, "
                         "authentication failed: proxy name from requestor: web-2 is different "
                         "than in token: web-1{via_upstream}"),
            "authentication failed: proxy name from requestor: web-2 is different than in "
            "token: web-1");
  EXPECT_EQ(adsRefusalIn("DeltaAggregatedResources gRPC config stream to ads_cluster closed since "
                         "31000ms ago: 7, denied"),
            "denied");
  EXPECT_FALSE(adsRefusalIn("StreamAggregatedResources gRPC config stream to ads_cluster closed: "
                            "14, upstream connect error")
                   .has_value());
  EXPECT_FALSE(adsRefusalIn("gRPC config stream to ads_cluster closed: 0, ").has_value());
  EXPECT_FALSE(adsRefusalIn("all clusters initialized").has_value());
}

TEST(EnvoyAdminTest, AddressFromBootstrap) {
  auto pipe = adminAddressFromBootstrap(
      nlohmann::json::parse(R"({"admin":{"address":{"pipe":{"path":"/w/a.sock","mode":384}}}})"));
  ASSERT_TRUE(pipe.ok());
  EXPECT_EQ(pipe->unixPath, "/w/a.sock");
  auto tcp = adminAddressFromBootstrap(nlohmann::json::parse(
      R"({"admin":{"address":{"socketAddress":{"address":"0.0.0.0","portValue":9901}}}})"));
  ASSERT_TRUE(tcp.ok());
  EXPECT_EQ(tcp->host, "127.0.0.1");
  EXPECT_EQ(tcp->port, 9901);
  EXPECT_FALSE(adminAddressFromBootstrap(nlohmann::json::object()).ok());
  EXPECT_FALSE(adminAddressFromBootstrap(
                   nlohmann::json::parse(
                       R"({"admin":{"address":{"socketAddress":{"address":"127.0.0.1"}}}})"))
                   .ok());
}

TEST(EnvoyAdminTest, ParsesResponses) {
  auto plain = parseHttpResponse("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nLIVE\nextra");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->body, "LIVE\n");
  auto chunked = parseHttpResponse(
      "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nPRE_I\r\n"
      "b\r\nNITIALIZING\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked.ok()) << chunked.status();
  EXPECT_EQ(chunked->status, 503);
  EXPECT_EQ(chunked->body, "PRE_INITIALIZING");
  EXPECT_FALSE(parseHttpResponse("garbage").ok());
  EXPECT_FALSE(parseHttpResponse("HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\nshort").ok());
  EXPECT_FALSE(
      parseHttpResponse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").ok());
}

TEST(EnvoyAdminTest, TalksToAnHttpServer) {
  httplib::Server server;
  std::string method;
  server.Get("/ready", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("LIVE\n", "text/plain");
  });
  server.Post("/healthcheck/fail", [&](const httplib::Request& req, httplib::Response& res) {
    method = req.method;
    res.set_content("OK\n", "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  EnvoyAdminAddress address{"", "127.0.0.1", static_cast<uint16_t>(port)};
  auto ready = adminRequest(address, "GET", "/ready", 2s);
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_EQ(ready->status, 200);
  EXPECT_EQ(ready->body, "LIVE\n");
  auto fail = adminRequest(address, "POST", "/healthcheck/fail", 2s);
  ASSERT_TRUE(fail.ok()) << fail.status();
  EXPECT_EQ(method, "POST");
  auto missing = adminRequest(address, "GET", "/nope", 2s);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  server.stop();
  t.join();
  EXPECT_FALSE(adminRequest(address, "GET", "/ready", 1s).ok()) << "nothing listens any more";
  EXPECT_FALSE(adminRequest({"/nonexistent/admin.sock", "", 0}, "GET", "/ready", 1s).ok());
}

TEST(EnvoyProcessTest, RunForOutputAndExitCodes) {
  auto out = runForOutput("/bin/sh", {"-c", "echo 'envoy  version: a/1.38.2/Clean/RELEASE/X'"}, 5s);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(parseEnvoyVersion(*out)->version, "1.38.2");
  auto failing = runForOutput("/bin/sh", {"-c", "echo nope >&2; exit 3"}, 5s);
  ASSERT_FALSE(failing.ok());
  EXPECT_THAT(std::string(failing.status().message()), HasSubstr("exit code 3"));
  EXPECT_THAT(std::string(failing.status().message()), HasSubstr("nope"));
  EXPECT_FALSE(runForOutput("/nonexistent/envoy", {"--version"}, 5s).ok());
  auto slow = runForOutput("/bin/sleep", {"10"}, 200ms);
  EXPECT_TRUE(absl::IsDeadlineExceeded(slow.status())) << slow.status();
}

TEST(EnvoyProcessTest, ForwardsLinesAndReportsExit) {
  std::mutex mu;
  std::vector<std::string> lines;
  auto p = EnvoyProcess::start("/bin/sh", {"-c", "echo one; echo two >&2; printf three; exit 4"},
                               [&](std::string_view l) {
                                 std::lock_guard lock(mu);
                                 lines.emplace_back(l);
                               });
  ASSERT_TRUE(p.ok()) << p.status();
  std::optional<int> code;
  for (int i = 0; i < 100 && !code.has_value(); ++i) {
    std::this_thread::sleep_for(20ms);
    code = (*p)->exited();
  }
  ASSERT_EQ(code, 4);
  p->reset();  // joins the pump
  EXPECT_THAT(lines, ElementsAre("one", "two", "three"));
  EXPECT_EQ(describeExit(4), "exit code 4");
  EXPECT_EQ(describeExit(128 + 9), "signal SIGKILL");
}

TEST(EnvoyProcessTest, StopEscalatesToKill) {
  auto p = EnvoyProcess::start("/bin/sh", {"-c", "trap '' TERM; sleep 5"}, nullptr);
  ASSERT_TRUE(p.ok());
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ((*p)->stop(300ms), 128 + 9);
}

TEST(DnsTest, FindsExecutablesOnThePath) {
  const fs::path dir = fs::temp_directory_path() / ("dp-dns-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "coredns") << "#!/bin/sh\n";
  chmod((dir / "coredns").c_str(), 0755);
  EXPECT_EQ(findExecutable("coredns", "/nonexistent:" + dir.string()), (dir / "coredns").string());
  EXPECT_EQ(findExecutable("coredns", "/nonexistent"), "");
  fs::remove_all(dir);
}

// As Kuma's kuma-dp: DNS on by default (CoreDNS's port, Envoy asked first), the embedded proxy
// with KUMA_DNS_PROXY_PORT, nothing with --dns-enabled=false.
TEST(DnsTest, PlansWhereTheProxyRuns) {
  DnsConfig dns;
  DnsPlan plan = planDns(dns);
  EXPECT_TRUE(plan.run);
  EXPECT_FALSE(plan.embedded);
  ASSERT_EQ(plan.listen.size(), 1u);
  EXPECT_EQ(plan.listen[0], std::make_pair(std::string("127.0.0.1"), uint16_t{15053}));
  EXPECT_EQ(plan.envoyDnsPort, 15054);

  dns.proxyPort = 15055;
  plan = planDns(dns);
  EXPECT_TRUE(plan.run);
  EXPECT_TRUE(plan.embedded);
  EXPECT_EQ(plan.listen[0].second, 15055);
  EXPECT_EQ(plan.envoyDnsPort, 0);

  dns.enabled = false;
  EXPECT_FALSE(planDns(dns).run);
}

}  // namespace
}  // namespace kuma::dp
