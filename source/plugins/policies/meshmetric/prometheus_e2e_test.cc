// End to end with our kuma-dp and a real Envoy: MeshMetric's Prometheus backend (issue 14). A
// MeshMetric on the mesh with a Prometheus backend (port P, path /metrics) and one application
// endpoint makes kuma-cp add the `_kuma:metrics:prometheus:default-backend` listener on the
// Dataplane's address and port P, whose route goes to kuma-dp's metrics hijacker socket
// `kuma-mh-web-1-default.sock`; kuma-dp reads `/meshmetric` from Envoy's `_kuma:dynamicconfig`
// listener and answers a GET http://127.0.0.1:P/metrics with Envoy's stats in Prometheus text,
// filtered by the Basic profile, plus the application's metrics, each sample labelled with the
// policy's extra labels (mesh, dataplane, service tags). An `exclude` selector added to the policy
// drops a family on the next scrape.

#include <sys/stat.h>

#include <regex>

#include "test/integration/kuma_dp_start.h"
#include "test/integration/metrics_app.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

class MeshMetricE2eTest : public MetricsE2eTest {
 protected:
  json meshMetric(uint16_t promPort, uint16_t appPort, bool excludeServer) const {
    json spec = json::parse(R"({"targetRef": {"kind": "Mesh"}, "default": {
      "backends": [{"type": "Prometheus", "prometheus": {"port": )" +
                            std::to_string(promPort) + R"(, "path": "/metrics"}}],
      "applications": [{"name": "app", "path": "/app-metrics", "port": )" +
                            std::to_string(appPort) + "}]}}");
    if (excludeServer) {
      spec["default"]["sidecar"] = {
          {"profiles", {{"exclude", {{{"type", "Prefix"}, {"match", "envoy_server_"}}}}}}};
    }
    return {{"type", "MeshMetric"}, {"mesh", "default"}, {"name", "metrics"}, {"spec", spec}};
  }
};

TEST_F(MeshMetricE2eTest, PrometheusListenerServesEnvoyAndApplicationMetrics) {
  const std::string dir = makeTempDir("mm-e2e");
  MetricsApp app("# TYPE app_requests_total counter\napp_requests_total{code=\"200\"} 7\n");
  App webApp("web");
  const uint16_t promPort = freePort();

  put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  put("/meshes/default/meshmetrics/metrics", meshMetric(promPort, app.port(), false));

  adminPort_ = freePort();
  web_ = startKumaDp(
      *cp_, envoy_, dir, "web-1",
      "type: Dataplane\nmesh: default\nname: web-1\nnetworking:\n  address: 127.0.0.1\n"
      "  admin:\n    port: " +
          std::to_string(adminPort_) + "\n  inbound:\n  - port: " + std::to_string(freePort()) +
          "\n    servicePort: " + std::to_string(webApp.port()) +
          "\n    tags:\n      kuma.io/service: web\n      kuma.io/protocol: http\n");
  ASSERT_NO_FATAL_FAILURE(expectKumaDpReady(web_, *cp_));
  struct stat st {};
  ASSERT_EQ(stat((web_.workDir + "/kuma-mh-web-1-default.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));

  std::optional<std::string> body;
  ASSERT_TRUE(eventually(
      [&] {
        body = scrape(promPort);
        return body.has_value() && body->find("envoy_server_live") != std::string::npos;
      },
      30s))
      << (body ? *body : "(no answer)") << "\n"
      << diagnostics();

  // Envoy's metrics in Prometheus text, labelled with the policy's extra labels.
  EXPECT_NE(body->find("# TYPE envoy_server_live gauge\n"), std::string::npos) << *body;
  const std::regex live(
      R"(\nenvoy_server_live\{[^}]*dataplane="web-1"[^}]*kuma_io_service="web"[^}]*mesh="default"[^}]*\} 1\n)");
  EXPECT_TRUE(std::regex_search(*body, live)) << *body;
  // The application's metrics, labelled the same way.
  const std::regex appLine(
      R"(\napp_requests_total\{code="200",dataplane="web-1",[^}]*mesh="default"[^}]*\} 7\n)");
  EXPECT_TRUE(std::regex_search(*body, appLine)) << *body;
  // The Basic profile: a family Envoy reports that none of its selectors matches is left out,
  // and so are the series of Kuma's own clusters.
  const auto admin = httpGet(adminPort_, "/stats?format=prometheus&usedonly");
  ASSERT_TRUE(admin.has_value());
  ASSERT_NE(admin->find("envoy_runtime_load_success"), std::string::npos) << *admin;
  EXPECT_EQ(body->find("envoy_runtime_load_success"), std::string::npos) << *body;
  EXPECT_EQ(body->find("envoy_cluster_name=\"kuma:envoy:admin\""), std::string::npos) << *body;

  // An exclude selector: envoy_server_* disappears on a later scrape.
  put("/meshes/default/meshmetrics/metrics", meshMetric(promPort, app.port(), true));
  ASSERT_TRUE(eventually(
      [&] {
        body = scrape(promPort);
        return body.has_value() && body->find("envoy_server_live") == std::string::npos &&
               body->find("app_requests_total") != std::string::npos;
      },
      30s))
      << (body ? *body : "(no answer)") << "\n"
      << diagnostics();
}

}  // namespace
}  // namespace kuma::test
