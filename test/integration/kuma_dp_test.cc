// End to end: kuma-dp against a real kuma-cp, starting real Envoys (spec §9). Two data planes
// side by side (`backend` with an inbound to an App, `web` with an outbound to backend), tokens
// issued over REST, readiness, traffic, SIGTERM drain, deregistration, and refusals.
#include <signal.h>

#include <fstream>
#include <sstream>

#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

constexpr char kDataplaneTemplate[] = R"(type: Dataplane
mesh: default
name: {{ name }}
networking:
  address: 127.0.0.1
  admin:
    port: {{ adminPort }}
  inbound:
  - port: {{ inboundPort }}
    servicePort: {{ appPort }}
    serviceAddress: 127.0.0.1
    tags:
      kuma.io/service: {{ service }}
      kuma.io/protocol: http
)";

constexpr char kOutbound[] = R"(  outbound:
  - port: {{ outboundPort }}
    tags:
      kuma.io/service: backend
)";

struct DataplaneProcess {
  std::string name;
  uint16_t readinessPort = 0;
  uint16_t outboundPort = 0;
  std::unique_ptr<ChildProcess> process;
};

class KumaDpTest : public ::testing::Test {
 protected:
  void startCp(std::map<std::string, std::string> env) {
    envoy_ = std::getenv("KUMA_ENVOY_BINARY") != nullptr ? std::getenv("KUMA_ENVOY_BINARY") : "";
    ASSERT_FALSE(envoy_.empty()) << "KUMA_ENVOY_BINARY is not set";
    dir_ = makeTempDir("kuma-dp-test");
    KumaCp::Options options;
    options.env = std::move(env);
    options.env["KUMA_XDS_DATAPLANE_DEREGISTRATION_DELAY"] = "1s";
    options.env["KUMA_RUNTIME_UNIVERSAL_DATAPLANE_CLEANUP_AGE"] = "30s";
    auto cp = KumaCp::start(options);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(*cp);
  }

  std::string writeFile(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }

  std::string issueToken(const std::string& name, const std::string& service) {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    const json request = {{"name", name},
                          {"mesh", "default"},
                          {"tags", {{"kuma.io/service", {service}}}},
                          {"type", "dataplane"},
                          {"validFor", "1h0m0s"}};
    auto res = api.Post("/tokens/dataplane", request.dump(), "application/json");
    EXPECT_TRUE(res && res->status == 200) << (res ? res->body : httplib::to_string(res.error()));
    return res && res->status == 200 ? res->body : "";
  }

  // Starts `kuma-dp run` for a Dataplane rendered from kDataplaneTemplate with -v variables.
  DataplaneProcess startDp(const std::string& name, const std::string& service, uint16_t appPort,
                           bool withOutbound, const std::string& token,
                           std::vector<std::string> extraArgs = {}) {
    DataplaneProcess dp;
    dp.name = name;
    dp.readinessPort = freePort();
    const std::string file = writeFile(
        name + ".yaml", std::string(kDataplaneTemplate) + (withOutbound ? kOutbound : ""));
    std::vector<std::string> args = {"run",
                                     "--cp-address",
                                     "https://127.0.0.1:" + std::to_string(cp_->dpServerPort()),
                                     "--ca-cert-file",
                                     cp_->workDir() + "/kuma-cp.crt",
                                     "--binary-path",
                                     envoy_,
                                     "--dns-enabled=false",
                                     "--drain-time",
                                     "1s",
                                     "-d",
                                     file,
                                     "-v",
                                     "name=" + name,
                                     "-v",
                                     "service=" + service,
                                     "-v",
                                     "adminPort=" + std::to_string(freePort()),
                                     "-v",
                                     "inboundPort=" + std::to_string(freePort()),
                                     "-v",
                                     "appPort=" + std::to_string(appPort)};
    if (withOutbound) {
      dp.outboundPort = freePort();
      args.push_back("-v");
      args.push_back("outboundPort=" + std::to_string(dp.outboundPort));
    }
    if (!token.empty()) {
      args.push_back("--dataplane-token-file");
      args.push_back(writeFile(name + ".token", token));
    }
    args.insert(args.end(), extraArgs.begin(), extraArgs.end());
    dp.process = ChildProcess::start(binaryPath("kuma-dp"), args,
                                     {{"KUMA_READINESS_PORT", std::to_string(dp.readinessPort)},
                                      {"KUMA_CONTROL_PLANE_RETRY_BACKOFF", "200ms"}},
                                     dir_ + "/" + name + ".log");
    return dp;
  }

  // (status, body) of kuma-dp's readiness endpoint; status 0 when it does not answer.
  static std::pair<int, std::string> readiness(const DataplaneProcess& dp) {
    httplib::Client client("127.0.0.1", dp.readinessPort);
    client.set_connection_timeout(1s);
    client.set_read_timeout(3s);
    auto res = client.Get("/ready");
    return res ? std::make_pair(res->status, res->body) : std::make_pair(0, std::string());
  }

  void expectReady(const DataplaneProcess& dp) {
    const bool ready = eventually([&] { return readiness(dp).first == 200; }, 30s);
    ASSERT_TRUE(ready) << dp.name << ":\n"
                       << dp.process->output() << "\nkuma-cp:\n"
                       << cp_->output();
    EXPECT_EQ(readiness(dp).second, "READY");
  }

  void expectTraffic(const DataplaneProcess& web) {
    std::optional<std::string> body;
    const bool served = eventually(
        [&] {
          body = httpGet(web.outboundPort, "/");
          return body == "hello from backend";
        },
        30s);
    ASSERT_TRUE(served) << "last body: " << body.value_or("<none>") << "\nweb:\n"
                        << web.process->output();
  }

  static std::optional<std::string> httpGet(uint16_t port, const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1s);
    client.set_read_timeout(2s);
    auto res = client.Get(path);
    if (!res || res->status != 200) {
      return std::nullopt;
    }
    return res->body;
  }

  int dataplaneStatus(const std::string& name) {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    auto res = api.Get("/meshes/default/dataplanes/" + name);
    return res ? res->status : 0;
  }

  // kuma-dp's Envoy child, from /proc (kuma-dp forks it from its main thread).
  static pid_t childOf(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
    pid_t child = -1;
    in >> child;
    return child;
  }

  std::string envoy_;
  std::string dir_;
  std::unique_ptr<KumaCp> cp_;
};

TEST_F(KumaDpTest, TokensTrafficDrainAndRefusal) {
  ASSERT_NO_FATAL_FAILURE(startCp({{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "dpToken"}}));
  App backendApp("backend");
  App webApp("web");
  const std::string backendToken = issueToken("backend-1", "backend");
  const std::string webToken = issueToken("web-1", "web");
  ASSERT_FALSE(backendToken.empty());
  ASSERT_FALSE(webToken.empty());

  // Two kuma-dp side by side, each with its own Envoy (admin on a Unix socket, kuma-cp's default).
  DataplaneProcess backend =
      startDp("backend-1", "backend", backendApp.port(), false, backendToken);
  // backend: --cpuset-threads (no CPU limit here); web: an explicit --concurrency.
  DataplaneProcess web =
      startDp("web-1", "web", webApp.port(), true, webToken, {"--concurrency", "1"});
  ASSERT_TRUE(backend.process && web.process);
  ASSERT_NO_FATAL_FAILURE(expectReady(backend));
  ASSERT_NO_FATAL_FAILURE(expectReady(web));
  ASSERT_NO_FATAL_FAILURE(expectTraffic(web));
  EXPECT_EQ(dataplaneStatus("backend-1"), 200);
  EXPECT_THAT(web.process->output(), ::testing::HasSubstr("--disable-hot-restart"));

  // A token for web-1 presented by web-2: the CP refuses the ADS stream and kuma-dp says why.
  DataplaneProcess impostor = startDp("web-2", "web", webApp.port(), false, webToken);
  ASSERT_TRUE(eventually([&] { return !impostor.process->running(); }, 30s))
      << impostor.process->output();
  EXPECT_EQ(impostor.process->stop(SIGKILL, 1s), 1);
  // kuma-dp gives up after the second refusal it reads from Envoy's log; Envoy may have logged
  // a third by then, so the count is 2 or more.
  EXPECT_THAT(impostor.process->output(),
              ::testing::ContainsRegex(
                  "Error: the control plane refused this data plane proxy's xDS stream \\([2-9] "
                  "times\\): authentication failed: proxy name from requestor: web-2 is "
                  "different than in token: web-1\n"));
  EXPECT_EQ(dataplaneStatus("web-2"), 404);

  // SIGTERM: readiness turns "terminating" during the drain, then kuma-dp exits 0.
  const auto termAt = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(backend.process->pid(), SIGTERM), 0);
  EXPECT_TRUE(eventually([&] { return readiness(backend).second == "terminating"; }, 1s));
  ASSERT_TRUE(eventually([&] { return !backend.process->running(); }, 15s))
      << backend.process->output();
  EXPECT_GE(std::chrono::steady_clock::now() - termAt, 1s) << "the drain time is waited";
  EXPECT_EQ(backend.process->stop(SIGKILL, 1s), 0) << backend.process->output();
  EXPECT_THAT(backend.process->output(), ::testing::HasSubstr("draining for 1s"));
  EXPECT_THAT(backend.process->output(), ::testing::Not(::testing::HasSubstr("second stop")));
  EXPECT_THAT(backend.process->output(),
              ::testing::Not(::testing::HasSubstr("Envoy admin POST /healthcheck/fail failed")));
  // ... and the CP deletes the self-registered Dataplane after the deregistration delay.
  EXPECT_TRUE(eventually([&] { return dataplaneStatus("backend-1") == 404; }, 15s));
  EXPECT_EQ(readiness(web).first, 200) << "web is unaffected";

  // SIGUSR2: Envoy drains its inbound listeners, kuma-dp keeps running.
  ASSERT_EQ(kill(web.process->pid(), SIGUSR2), 0);
  ASSERT_TRUE(eventually(
      [&] {
        return web.process->output().find("SIGUSR2: draining inbound listeners") !=
               std::string::npos;
      },
      5s));
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(web.process->running());
  EXPECT_EQ(web.process->output().find("Envoy admin POST /drain_listeners"), std::string::npos)
      << web.process->output();
  EXPECT_EQ(web.process->stop(SIGTERM, 15s), 0) << web.process->output();
}

TEST_F(KumaDpTest, NoAuthnTcpAdminAndFailures) {
  ASSERT_NO_FATAL_FAILURE(
      startCp({{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "none"},
               {"KUMA_BOOTSTRAP_SERVER_PARAMS_ENVOY_ADMIN_UNIX_SOCKET", "false"}}));
  App backendApp("backend");
  App webApp("web");
  DataplaneProcess backend = startDp("backend-1", "backend", backendApp.port(), false, "");
  DataplaneProcess web = startDp("web-1", "web", webApp.port(), true, "");
  ASSERT_NO_FATAL_FAILURE(expectReady(backend));
  ASSERT_NO_FATAL_FAILURE(expectReady(web));
  ASSERT_NO_FATAL_FAILURE(expectTraffic(web));

  // The CP's validation error is fatal and reported verbatim.
  DataplaneProcess invalid = startDp("bad-1", "backend", 0, false, "", {"-v", "inboundPort=0"});
  ASSERT_TRUE(eventually([&] { return !invalid.process->running(); }, 15s))
      << invalid.process->output();
  EXPECT_EQ(invalid.process->stop(SIGKILL, 1s), 1);
  EXPECT_THAT(invalid.process->output(), ::testing::HasSubstr("Invalid request: "));

  // Envoy dying is not hidden: kuma-dp exits non-zero and says so.
  const pid_t envoyPid = childOf(web.process->pid());
  ASSERT_GT(envoyPid, 0);
  ASSERT_EQ(kill(envoyPid, SIGKILL), 0);
  ASSERT_TRUE(eventually([&] { return !web.process->running(); }, 10s)) << web.process->output();
  EXPECT_EQ(web.process->stop(SIGKILL, 1s), 1);
  EXPECT_THAT(web.process->output(), ::testing::HasSubstr("Envoy exited unexpectedly"));
  EXPECT_EQ(backend.process->stop(SIGTERM, 15s), 0) << backend.process->output();
}

// DNS is on by default as in Kuma, without CoreDNS: kuma-dp gets past DNS and fails on the Envoy
// binary instead.
TEST(KumaDpCliTest, DnsEnabledWithoutCorednsStartsAndFailsOnEnvoyOnly) {
  auto result = runToExit(binaryPath("kuma-dp"),
                          {"run", "--name", "dp-1", "--mesh", "default", "--binary-path",
                           "/nonexistent/envoy", "--dns-coredns-path", "/nonexistent/coredns"},
                          {}, 10s);
  EXPECT_EQ(result.exitCode, 1);
  EXPECT_THAT(result.output, ::testing::HasSubstr("cannot run Envoy"));
  EXPECT_THAT(result.output, ::testing::Not(::testing::HasSubstr("--dns-enabled=false")));
  auto help = runToExit(binaryPath("kuma-dp"), {"run", "--help"}, {}, 10s);
  EXPECT_EQ(help.exitCode, 0);
  EXPECT_THAT(help.output, ::testing::HasSubstr("--dns-enabled=false"));
  EXPECT_THAT(help.output, ::testing::HasSubstr("--cpuset-threads"));
  auto bad = runToExit(binaryPath("kuma-dp"), {"run", "-d", "/tmp/x.yaml", "--name", "a"}, {}, 10s);
  EXPECT_EQ(bad.exitCode, 1);
  EXPECT_THAT(bad.output, ::testing::HasSubstr("--name and --mesh cannot be specified"));
}

}  // namespace
}  // namespace kuma::test
