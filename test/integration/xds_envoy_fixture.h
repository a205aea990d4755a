#pragma once

// Shared fixture for end-to-end tests with real Envoys: a kuma-cp on free ports, sidecars
// bootstrapped through its /bootstrap exactly as kuma-dp does, small HTTP apps behind them.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "source/common/json_yaml.h"
#include "test/test_common/process.h"

namespace kuma::test {

using nlohmann::json;
using namespace std::chrono_literals;

// Sends `request` over a plain TCP connection to 127.0.0.1:`port` (a client outside the mesh)
// and returns what came back before the peer closed or 2 s passed; nullopt when the connection
// could not be opened.
inline std::optional<std::string> plainTcpExchange(uint16_t port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return std::nullopt;
  }
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)!write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  ssize_t n = 0;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

// A plain HTTP application standing for a workload next to its sidecar: every request is
// answered `status` with "hello from <name>".
class App {
 public:
  explicit App(std::string name, int status = 200) : name_(std::move(name)), status_(status) {
    server_.Get(".*", [this](const httplib::Request&, httplib::Response& res) {
      res.status = status_;
      res.set_content("hello from " + name_, "text/plain");
    });
    port_ = static_cast<uint16_t>(server_.bind_to_any_port("127.0.0.1"));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~App() {
    server_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  std::string name_;
  int status_;
  httplib::Server server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

struct Answer {
  int status = 0;  // 0: no answer
  std::string body;
};

// GET / on a fresh connection (so that a tcp_proxy picks its cluster per request).
inline Answer getFresh(uint16_t port, const httplib::Headers& headers = {}) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1s);
  client.set_read_timeout(2s);
  client.set_keep_alive(false);
  auto res = client.Get("/", headers);
  if (!res) {
    return {};
  }
  return {res->status, res->body};
}

struct Sidecar {
  std::string name;
  uint16_t adminPort = 0;
  std::unique_ptr<ChildProcess> envoy;
};

class XdsEnvoyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    envoy_ = std::getenv("KUMA_ENVOY_BINARY") != nullptr ? std::getenv("KUMA_ENVOY_BINARY") : "";
    ASSERT_FALSE(envoy_.empty()) << "KUMA_ENVOY_BINARY is not set";
    KumaCp::Options options;
    options.env = {{"KUMA_DP_SERVER_AUTHN_DP_PROXY_TYPE", "none"},
                   {"KUMA_XDS_DATAPLANE_DEREGISTRATION_DELAY", "1s"},
                   {"KUMA_BOOTSTRAP_SERVER_PARAMS_ENVOY_ADMIN_UNIX_SOCKET", "false"}};
    for (const auto& [k, v] : extraEnv_) {
      options.env[k] = v;
    }
    auto cp = KumaCp::start(options);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = std::move(*cp);
  }

  // PUTs a resource through the REST API; fails the test unless it is accepted.
  void put(const std::string& path, const json& body) {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    auto res = api.Put(path, body.dump(), "application/json");
    ASSERT_TRUE(res) << path;
    ASSERT_LT(res->status, 300) << path << ": " << res->body;
  }

  // kuma-cp's output and each sidecar's Envoy output, for failure messages.
  std::string diagnostics(std::initializer_list<const Sidecar*> sidecars) const {
    std::string out = "kuma-cp:\n" + cp_->output();
    for (const Sidecar* s : sidecars) {
      out += "\n" + s->name + " envoy:\n" + (s->envoy ? s->envoy->output() : "");
    }
    return out;
  }

  // Posts /bootstrap like kuma-dp 2.14 and starts Envoy with the answer. A non-empty
  // `dataplaneToken` ends up in the bootstrap as the ADS `authorization` initial metadata.
  Sidecar startSidecar(const json& dataplane, bool delta, int baseId,
                       const std::string& dataplaneToken = "") {
    Sidecar sidecar;
    sidecar.name = dataplane["name"];
    sidecar.adminPort = dataplane["networking"]["admin"]["port"];
    const std::string workDir = makeTempDir("kuma-dp");
    json features = {"feature-tcp-accesslog-via-named-pipe", "feature-strict-inbound-ports"};
    if (delta) {
      features.push_back("feature-delta-grpc");
    }
    const json request = {{"mesh", "default"},
                          {"name", sidecar.name},
                          {"proxyType", "dataplane"},
                          {"dataplaneToken", dataplaneToken},
                          {"dataplaneResource", dataplane.dump()},
                          {"version",
                           {{"kumaDp", {{"version", "2.14.3"}}},
                            {"envoy", {{"version", "1.38.2"}, {"kumaDpCompatible", true}}}}},
                          {"caCert", ""},
                          {"features", features},
                          {"workdir", workDir},
                          {"readinessPort", freePort()},
                          {"operatingSystem", "linux"}};
    httplib::SSLClient client("127.0.0.1", cp_->dpServerPort());
    client.set_ca_cert_path((cp_->workDir() + "/kuma-cp.crt").c_str());
    client.enable_server_certificate_verification(true);
    auto res = client.Post("/bootstrap", {{"accept", "application/json"}}, request.dump(),
                           "application/json");
    EXPECT_TRUE(res) << httplib::to_string(res.error());
    if (!res) {
      return sidecar;
    }
    EXPECT_EQ(res->status, 200) << res->body;
    const json answer = json::parse(res->body, nullptr, false);
    std::string yaml;
    EXPECT_TRUE(absl::Base64Unescape(answer.value("bootstrap", ""), &yaml));
    auto bootstrap = common::parseYaml(yaml);
    EXPECT_TRUE(bootstrap.ok());
    EXPECT_EQ((*bootstrap)["node"]["id"], "default." + sidecar.name);
    EXPECT_EQ((*bootstrap)["dynamicResources"]["adsConfig"]["apiType"],
              delta ? "DELTA_GRPC" : "GRPC");
    const std::string path = workDir + "/bootstrap.yaml";
    std::ofstream(path) << yaml;
    sidecar.envoy =
        ChildProcess::start(envoy_,
                            {"-c", path, "--base-id", std::to_string(baseId), "--concurrency", "1",
                             "--log-level", "info", "--drain-time-s", "1"},
                            {}, workDir + "/envoy.log");
    return sidecar;
  }

  static json dataplane(const std::string& name, uint16_t adminPort, uint16_t inboundPort,
                        uint16_t appPort, const std::string& service,
                        std::optional<uint16_t> outboundPort = std::nullopt) {
    json dp = {{"type", "Dataplane"},
               {"mesh", "default"},
               {"name", name},
               {"networking",
                {{"address", "127.0.0.1"},
                 {"admin", {{"port", adminPort}}},
                 {"inbound",
                  {{{"port", inboundPort},
                    {"servicePort", appPort},
                    {"serviceAddress", "127.0.0.1"},
                    {"tags", {{"kuma.io/service", service}, {"kuma.io/protocol", "http"}}}}}}}}};
    if (outboundPort.has_value()) {
      dp["networking"]["outbound"] = {
          {{"port", *outboundPort}, {"tags", {{"kuma.io/service", "backend"}}}}};
    }
    return dp;
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

  // Envoy's stat `name`, or -1.
  static long envoyStat(uint16_t adminPort, const std::string& name) {
    auto body = httpGet(adminPort, "/stats?filter=^" + name + "$");
    if (!body.has_value()) {
      return -1;
    }
    const auto colon = body->find(": ");
    return colon == std::string::npos ? -1 : std::stol(body->substr(colon + 2));
  }

  // The dynamic active clusters of the Envoy with admin port `adminPort`, by name (empty when
  // the dump cannot be read).
  static std::map<std::string, json> dynamicClusters(uint16_t adminPort) {
    std::map<std::string, json> out;
    const auto body = httpGet(adminPort, "/config_dump?resource=dynamic_active_clusters");
    const json dump = body ? json::parse(*body, nullptr, false) : json();
    if (!dump.is_object() || !dump.contains("configs")) {
      return out;
    }
    for (const json& c : dump["configs"]) {
      if (c.contains("cluster")) {
        out[c["cluster"].value("name", "")] = c["cluster"];
      }
    }
    return out;
  }

  /** Extra kuma-cp environment, set by a subclass's constructor. */
  std::map<std::string, std::string> extraEnv_;
  std::string envoy_;
  std::unique_ptr<KumaCp> cp_;
};

}  // namespace kuma::test
