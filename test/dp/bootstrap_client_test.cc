#include "source/dp/bootstrap_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "source/common/tls/cert.h"

namespace kuma::dp {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

const char kBootstrapYaml[] =
    "node:\n  id: default.dp-1\nadmin:\n  address:\n    socketAddress:\n      address: "
    "127.0.0.1\n      portValue: 9901\n";

// A /bootstrap server answering a scripted sequence of (status, body); the last one repeats.
class ScriptedServer {
 public:
  ScriptedServer(std::vector<std::pair<int, std::string>> script, httplib::Server* server)
      : script_(std::move(script)), server_(server) {
    server_->Post("/bootstrap", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      bodies_.push_back(req.body);
      accept_ = req.get_header_value("accept");
      const auto& [status, body] = script_[std::min(calls_, script_.size() - 1)];
      ++calls_;
      res.status = status;
      res.set_content(body, status == 200 ? "application/json" : "text/plain");
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) {
      std::this_thread::sleep_for(1ms);
    }
  }
  ~ScriptedServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }
  size_t calls() {
    std::lock_guard lock(mu_);
    return calls_;
  }
  std::string lastBody() {
    std::lock_guard lock(mu_);
    return bodies_.empty() ? "" : bodies_.back();
  }
  std::string accept() {
    std::lock_guard lock(mu_);
    return accept_;
  }

 private:
  std::vector<std::pair<int, std::string>> script_;
  httplib::Server* server_;
  std::mutex mu_;
  size_t calls_ = 0;
  std::vector<std::string> bodies_;
  std::string accept_;
  int port_ = 0;
  std::thread thread_;
};

std::string okBody() {
  return nlohmann::json{{"bootstrap", absl::Base64Escape(kBootstrapYaml)},
                        {"kumaSidecarConfiguration",
                         {{"networking", {{"address", "127.0.0.1"}, {"corefileTemplate", nullptr}}},
                          {"metrics", {{"aggregate", nlohmann::json::array()}}}}}}
      .dump();
}

BootstrapClient::Options fastOptions(const std::string& url) {
  BootstrapClient::Options o;
  o.url = url;
  o.backoff = 20ms;
  o.maxDuration = 5s;
  o.requestTimeout = 2s;
  return o;
}

TEST(BootstrapClientTest, RetriesNotFoundAndServerErrorsThenSucceeds) {
  httplib::Server http;
  ScriptedServer server({{404, ""}, {500, "boom"}, {503, ""}, {200, okBody()}}, &http);
  std::vector<std::string> logs;
  auto options = fastOptions("http://127.0.0.1:" + std::to_string(server.port()));
  options.log = [&](const std::string& m) { logs.push_back(m); };
  auto client = BootstrapClient::create(options);
  ASSERT_TRUE(client.ok()) << client.status();
  auto res = client->fetch(R"({"name":"dp-1"})");
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(server.calls(), 4u);
  EXPECT_EQ(server.accept(), "application/json");
  EXPECT_EQ(res->bootstrapYaml, kBootstrapYaml);
  EXPECT_EQ(res->bootstrap["node"]["id"], "default.dp-1");
  EXPECT_EQ(res->sidecarConfiguration["networking"]["address"], "127.0.0.1");
  ASSERT_EQ(logs.size(), 3u);
  EXPECT_THAT(logs[0], HasSubstr("Dataplane entity not found"));
  EXPECT_THAT(logs[1], HasSubstr("500"));
}

TEST(BootstrapClientTest, FourHundredsAreFatal) {
  httplib::Server http;
  ScriptedServer server({{422, "networking.inbound[0].port: port must be in the range"}}, &http);
  auto client =
      BootstrapClient::create(fastOptions("http://127.0.0.1:" + std::to_string(server.port())));
  auto res = client->fetch("{}");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(server.calls(), 1u);
  EXPECT_EQ(res.status().message(),
            "Invalid request: networking.inbound[0].port: port must be in the range");
}

TEST(BootstrapClientTest, PageNotFoundMeansWrongPort) {
  httplib::Server http;
  ScriptedServer server({{404, "404: Page Not Found"}}, &http);
  auto client =
      BootstrapClient::create(fastOptions("http://127.0.0.1:" + std::to_string(server.port())));
  auto res = client->fetch("{}");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(server.calls(), 1u);
  EXPECT_THAT(std::string(res.status().message()), HasSubstr("There is no /bootstrap endpoint"));
}

TEST(BootstrapClientTest, GivesUpAfterMaxDuration) {
  httplib::Server http;
  ScriptedServer server({{500, "still broken"}}, &http);
  auto options = fastOptions("http://127.0.0.1:" + std::to_string(server.port()));
  options.backoff = 50ms;
  options.maxDuration = 300ms;
  auto client = BootstrapClient::create(options);
  const auto start = std::chrono::steady_clock::now();
  auto res = client->fetch("{}");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(absl::IsDeadlineExceeded(res.status())) << res.status();
  EXPECT_THAT(std::string(res.status().message()), HasSubstr("still broken"));
  EXPECT_GE(server.calls(), 3u);
  EXPECT_LT(took, 2s);
}

TEST(BootstrapClientTest, ConnectionErrorsAreRetriedAndCancellable) {
  // A port nothing listens on: bound once, then closed.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  close(fd);
  auto options = fastOptions("http://127.0.0.1:" + std::to_string(port));
  int sleeps = 0;
  options.sleep = [&](std::chrono::nanoseconds) { return ++sleeps < 3; };
  auto client = BootstrapClient::create(options);
  auto res = client->fetch("{}");
  ASSERT_FALSE(res.ok());
  EXPECT_TRUE(absl::IsCancelled(res.status())) << res.status();
  EXPECT_EQ(sleeps, 3);
}

TEST(BootstrapClientTest, HttpsVerifiesWithTheCaFile) {
  auto cert = tls::generateSelfSignedServerCert({"127.0.0.1", "localhost"});
  ASSERT_TRUE(cert.ok()) << cert.status();
  const fs::path dir = fs::temp_directory_path() / ("dp-tls-" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "cp.crt") << cert->certPem;
  std::ofstream(dir / "cp.key") << cert->keyPem;
  auto other = tls::generateSelfSignedServerCert({"127.0.0.1"});
  std::ofstream(dir / "other.crt") << other->certPem;
  httplib::SSLServer https((dir / "cp.crt").c_str(), (dir / "cp.key").c_str());
  ASSERT_TRUE(https.is_valid());
  ScriptedServer server({{200, okBody()}}, &https);
  const std::string url = "https://127.0.0.1:" + std::to_string(server.port());

  auto options = fastOptions(url);
  options.caCertFile = (dir / "cp.crt").string();
  auto good = BootstrapClient::create(options)->fetch("{}");
  EXPECT_TRUE(good.ok()) << good.status();

  options.caCertFile.clear();
  options.caCertPem = cert->certPem;
  auto inlinePem = BootstrapClient::create(options)->fetch("{}");
  EXPECT_TRUE(inlinePem.ok()) << inlinePem.status();

  options.caCertPem.clear();
  options.caCertFile = (dir / "other.crt").string();
  options.maxDuration = 100ms;
  auto wrongCa = BootstrapClient::create(options)->fetch("{}");
  ASSERT_FALSE(wrongCa.ok());
  EXPECT_THAT(std::string(wrongCa.status().message()), HasSubstr("could not reach"));

  options.skipVerify = true;
  auto skipped = BootstrapClient::create(options)->fetch("{}");
  EXPECT_TRUE(skipped.ok()) << skipped.status();
  fs::remove_all(dir);
}

TEST(BootstrapClientTest, Classification) {
  EXPECT_EQ(classifyBootstrapAnswer(200, ""), BootstrapOutcome::Ok);
  EXPECT_EQ(classifyBootstrapAnswer(404, ""), BootstrapOutcome::RetryNotFound);
  EXPECT_EQ(classifyBootstrapAnswer(404, "404: Page Not Found"), BootstrapOutcome::FatalNoEndpoint);
  EXPECT_EQ(classifyBootstrapAnswer(404, "404 page not found\n"),
            BootstrapOutcome::FatalNoEndpoint);
  EXPECT_EQ(classifyBootstrapAnswer(404, "mesh not found"), BootstrapOutcome::FatalInvalid);
  EXPECT_EQ(classifyBootstrapAnswer(400, ""), BootstrapOutcome::FatalInvalid);
  EXPECT_EQ(classifyBootstrapAnswer(422, "x"), BootstrapOutcome::FatalInvalid);
  EXPECT_EQ(classifyBootstrapAnswer(500, ""), BootstrapOutcome::RetryTransient);
  EXPECT_EQ(classifyBootstrapAnswer(0, ""), BootstrapOutcome::RetryTransient);
}

TEST(BootstrapClientTest, BadUrlsAndAnswers) {
  for (const char* url : {"localhost:5678", "https://", "https://host:port", "https://h:70000",
                          "https://h:1/path", "https://[::1"}) {
    BootstrapClient::Options o;
    o.url = url;
    EXPECT_FALSE(BootstrapClient::create(o).ok()) << url;
  }
  BootstrapClient::Options v6;
  v6.url = "https://[::1]:5678";
  EXPECT_TRUE(BootstrapClient::create(v6).ok());
  EXPECT_FALSE(decodeBootstrapAnswer("application/json", "{}").ok());
  EXPECT_FALSE(decodeBootstrapAnswer("application/json", R"({"bootstrap":"%%%"})").ok());
  EXPECT_FALSE(decodeBootstrapAnswer("application/json", "not json").ok());
  auto legacy = decodeBootstrapAnswer("text/x-yaml", kBootstrapYaml);
  ASSERT_TRUE(legacy.ok());
  EXPECT_TRUE(legacy->sidecarConfiguration.is_null());
}

TEST(BootstrapRequestTest, BodyHasKumaDpFields) {
  Config config;
  config.runtime.tokenPath = "/tmp/token";
  config.runtime.xdsTransportProtocolVariant = "DELTA_GRPC";
  config.readinessPort = 19902;
  config.dns.enabled = false;
  BootstrapInputs in;
  in.dataplane = {{"type", "Dataplane"}, {"mesh", "default"}, {"name", "web-1"}};
  in.token = "jwt";
  in.workDir = "/tmp/kuma-dp-1";
  in.envoy = {"abc/1.38.2/Clean/RELEASE/BoringSSL", "1.38.2"};
  const auto body = buildBootstrapRequest(config, in);
  EXPECT_EQ(body["mesh"], "default");
  EXPECT_EQ(body["name"], "web-1");
  EXPECT_EQ(body["proxyType"], "dataplane");
  EXPECT_EQ(body["dataplaneToken"], "jwt");
  EXPECT_EQ(body["dataplaneTokenPath"], "/tmp/token");
  EXPECT_EQ(nlohmann::json::parse(body["dataplaneResource"].get<std::string>())["name"], "web-1");
  EXPECT_EQ(body["version"]["envoy"]["version"], "1.38.2");
  EXPECT_EQ(body["version"]["envoy"]["kumaDpCompatible"], true);
  EXPECT_EQ(body["version"]["kumaDp"]["version"], "2.14.3");
  EXPECT_EQ(body["readinessPort"], 19902);
  EXPECT_EQ(body["dnsPort"], 15054) << "as Kuma: the Envoy DNS port even with DNS off";
  EXPECT_EQ(body["workdir"], "/tmp/kuma-dp-1");
  EXPECT_EQ(body["operatingSystem"], "linux");
  const auto features = body["features"].get<std::vector<std::string>>();
  EXPECT_THAT(features, ::testing::Contains("feature-delta-grpc"));
  EXPECT_THAT(features, ::testing::Contains("feature-strict-inbound-ports"));

  Config named;
  named.dataplane.mesh = "m";
  named.dataplane.name = "n";
  const auto stored = buildBootstrapRequest(named, BootstrapInputs{});
  EXPECT_EQ(stored["name"], "n");
  EXPECT_EQ(stored["dataplaneResource"], "");
}

// Kuma 2.14's kuma-dp advertises strict inbound ports unless
// KUMA_DATAPLANE_RUNTIME_STRICT_INBOUND_PORTS_ENABLED is false (pkg/config/app/kuma-dp).
TEST(BootstrapFeatures, StrictInboundPortsByDefaultOffThroughTheEnvironment) {
  const Environment named = {{"KUMA_DATAPLANE_NAME", "dp-1"}, {"KUMA_DATAPLANE_MESH", "default"}};
  auto defaults = loadConfig(named, nullptr);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_THAT(bootstrapFeatures(*defaults),
              ::testing::ElementsAre("feature-strict-inbound-ports", "feature-reuse-port"));
  Environment off = named;
  off["KUMA_DATAPLANE_RUNTIME_STRICT_INBOUND_PORTS_ENABLED"] = "false";
  auto disabled = loadConfig(off, nullptr);
  ASSERT_TRUE(disabled.ok()) << disabled.status();
  EXPECT_THAT(bootstrapFeatures(*disabled), ::testing::ElementsAre("feature-reuse-port"));
}

// KUMA_DNS_PROXY_PORT ≠ 0 selects the embedded DNS proxy, whose map comes from Envoy's
// `_kuma:dynamicconfig` listener: kuma-dp says so with feature-embedded-dns (as Kuma, whether or
// not DNS is enabled).
TEST(BootstrapFeatures, EmbeddedDnsOnlyWithTheProxyPort) {
  const Environment named = {{"KUMA_DATAPLANE_NAME", "dp-1"}, {"KUMA_DATAPLANE_MESH", "default"}};
  auto defaults = loadConfig(named, nullptr);
  ASSERT_TRUE(defaults.ok()) << defaults.status();
  EXPECT_THAT(bootstrapFeatures(*defaults),
              ::testing::Not(::testing::Contains("feature-embedded-dns")));
  Environment proxy = named;
  proxy["KUMA_DNS_PROXY_PORT"] = "15053";
  auto embedded = loadConfig(proxy, nullptr);
  ASSERT_TRUE(embedded.ok()) << embedded.status();
  EXPECT_THAT(bootstrapFeatures(*embedded), ::testing::Contains("feature-embedded-dns"));
}

}  // namespace
}  // namespace kuma::dp
