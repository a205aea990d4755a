// End to end with our kuma-dp and a real Envoy: the legacy Mesh `metrics` (issue 14). The Mesh's
// enabled Prometheus backend (port P, path /metrics, Envoy's stats filter, one application to
// aggregate) makes kuma-cp add the `kuma:metrics:prometheus` listener on the Dataplane's address
// and port P, routed to kuma-dp's metrics hijacker (`kuma:metrics:hijacker`, the socket
// `kuma-mh-web-1-default.sock`) with the path rewritten to `/?filter=...`; kuma-dp answers a GET
// http://127.0.0.1:P/metrics with the application's metrics and Envoy's filtered stats, the
// mesh's clusters marked `kuma_io_mesh_traffic="true"` as Kuma's kuma-dp marks them. With
// `enabledBackend` cleared the listener goes away.

#include <regex>
#include <thread>

#include "test/integration/kuma_dp_start.h"
#include "test/integration/metrics_app.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

class LegacyMetricsE2eTest : public MetricsE2eTest {
 protected:
  json mesh(uint16_t promPort, uint16_t appPort, bool enabled) const {
    return json::parse(R"({"type": "Mesh", "name": "default", "metrics": {
      "enabledBackend": ")" +
                       std::string(enabled ? "prom" : "") +
                       R"(", "backends": [{"name": "prom", "type": "prometheus", "conf": {
        "port": )" + std::to_string(promPort) +
                       R"(, "path": "/metrics", "skipMTLS": true,
        "envoy": {"filterRegex": "server\\.live|upstream_cx_total"},
        "aggregate": [{"name": "app", "port": )" +
                       std::to_string(appPort) + R"(, "path": "/app-metrics"}]}}]}})");
  }
};

TEST_F(LegacyMetricsE2eTest, PrometheusEndpointServesFilteredEnvoyAndApplicationMetrics) {
  const std::string dir = makeTempDir("legacy-metrics-e2e");
  MetricsApp app("# TYPE legacy_app_total counter\nlegacy_app_total 3\n");
  App webApp("web");
  const uint16_t promPort = freePort();
  put("/meshes/default", mesh(promPort, app.port(), true));

  adminPort_ = freePort();
  web_ = startKumaDp(
      *cp_, envoy_, dir, "web-1",
      "type: Dataplane\nmesh: default\nname: web-1\nnetworking:\n  address: 127.0.0.1\n"
      "  admin:\n    port: " +
          std::to_string(adminPort_) + "\n  inbound:\n  - port: " + std::to_string(freePort()) +
          "\n    servicePort: " + std::to_string(webApp.port()) +
          "\n    tags:\n      kuma.io/service: web\n      kuma.io/protocol: http\n"
          "  outbound:\n  - port: " +
          std::to_string(freePort()) + "\n    tags:\n      kuma.io/service: backend\n");
  ASSERT_NO_FATAL_FAILURE(expectKumaDpReady(web_, *cp_));

  std::optional<std::string> body;
  ASSERT_TRUE(eventually(
      [&] {
        body = scrape(promPort);
        return body.has_value() && body->find("envoy_server_live") != std::string::npos;
      },
      30s))
      << (body ? *body : "(no answer)") << "\n"
      << diagnostics();

  // The aggregated application, as it answered.
  EXPECT_NE(body->find("legacy_app_total 3\n"), std::string::npos) << *body;
  // Envoy's stats through the listener's filter: what it does not match is not there.
  EXPECT_NE(body->find("\nenvoy_server_live 1\n"), std::string::npos) << *body;
  EXPECT_EQ(body->find("envoy_server_memory_allocated"), std::string::npos) << *body;
  // A mesh cluster is marked as mesh traffic, kuma-dp's own admin cluster is not.
  EXPECT_TRUE(std::regex_search(
      *body,
      std::regex(
          R"(\nenvoy_cluster_upstream_cx_total\{envoy_cluster_name="backend",kuma_io_mesh_traffic="true"\} \d+\n)")))
      << *body;
  EXPECT_TRUE(std::regex_search(
      *body,
      std::regex(
          R"(\nenvoy_cluster_upstream_cx_total\{envoy_cluster_name="kuma_envoy_admin"\} \d+\n)")))
      << *body;

  // No enabled backend: the listener is removed.
  put("/meshes/default", mesh(promPort, app.port(), false));
  ASSERT_TRUE(eventually(
      [&] {
        const auto listeners = httpGet(adminPort_, "/listeners");
        return listeners.has_value() &&
               listeners->find("kuma:metrics:prometheus") == std::string::npos;
      },
      30s))
      << diagnostics();
}

}  // namespace
}  // namespace kuma::test
