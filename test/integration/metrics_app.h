#pragma once

// File: metrics_app.h
// For the metrics end-to-end tests: an application's metrics endpoint (GET /app-metrics on
// 127.0.0.1, a free port, answers the given Prometheus text) and the MetricsE2eTest fixture.
//
//   MetricsApp app("# TYPE x counter\nx 1\n");
//   ... aggregate {port: app.port(), path: /app-metrics} ...

#include <cstdint>
#include <string>
#include <thread>

#include "httplib.h"
#include "test/integration/kuma_dp_start.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {

class MetricsApp {
 public:
  explicit MetricsApp(std::string body) {
    server_.Get("/app-metrics", [body](const httplib::Request&, httplib::Response& res) {
      res.set_content(body, "text/plain; version=0.0.4");
    });
    port_ = static_cast<uint16_t>(server_.bind_to_any_port("127.0.0.1"));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~MetricsApp() {
    server_.stop();
    thread_.join();
  }
  MetricsApp(const MetricsApp&) = delete;
  MetricsApp& operator=(const MetricsApp&) = delete;
  uint16_t port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

// The fixture of the metrics end-to-end tests: one sidecar `web_` whose Prometheus listener a
// test scrapes.
class MetricsE2eTest : public XdsEnvoyTest {
 protected:
  void TearDown() override {
    if (web_.process) {
      EXPECT_EQ(web_.process->stop(SIGTERM, std::chrono::seconds(15)), 0) << web_.process->output();
    }
  }
  std::string diagnostics() const {
    const auto listeners = httpGet(adminPort_, "/listeners");
    return "kuma-cp:\n" + cp_->output() + "\nkuma-dp:\n" +
           (web_.process ? web_.process->output() : "") + "\nEnvoy listeners:\n" +
           listeners.value_or("(no answer)");
  }
  // GET http://127.0.0.1:<port>/metrics; nullopt unless 200.
  std::optional<std::string> scrape(uint16_t port) const {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1s);
    client.set_read_timeout(10s);
    auto res = client.Get("/metrics");
    if (!res || res->status != 200) {
      return std::nullopt;
    }
    return res->body;
  }

  KumaDpProcess web_;
  uint16_t adminPort_ = 0;
};

}  // namespace kuma::test
