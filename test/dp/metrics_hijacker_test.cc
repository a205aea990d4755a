// kuma-dp's metrics hijacker (source/dp/metrics_hijacker.h): the `/meshmetric` document parser
// (a document kuma-cp generates, limits, malformed input), the Basic/All/None profiles with
// exclude/include selectors on Envoy's Prometheus text (families kept or dropped whole; Basic
// drops series of Kuma's internal clusters), the extra labels on every sample, the legacy Mesh
// `metrics` scrape's cluster merge and mesh-traffic label, and one scrape through the Unix socket
// against fake upstream sockets.

#include "source/dp/metrics_hijacker.h"

#include <string>

#include "gtest/gtest.h"
#include "source/common/logging.h"

namespace kuma::dp {
namespace {

constexpr char kDocument[] =
    R"({"observability":{"metrics":{"applications":[{"name":"app","path":"/stats","port":9000,"address":""},{"path":"/metrics","port":9001,"address":"10.0.0.2"}],"backends":[{"type":"Prometheus","name":null}],"sidecar":{"profiles":{"appendProfiles":[{"name":"Basic"}],"exclude":[{"type":"Regex","match":"http2_.*"}],"include":[{"type":"Prefix","match":"cluster_manager"}]},"includeUnused":true},"extraLabels":{"dataplane":"web","kuma.proxy_role":"sidecar","mesh":"default"}}}})";

TEST(MeshMetricConfig, ParsesKumaCpDocument) {
  auto config = parseMeshMetricConfig(kDocument);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_EQ(config->applications.size(), 2u);
  EXPECT_EQ(config->applications[0].name, "app");
  EXPECT_EQ(config->applications[0].path, "/stats");
  EXPECT_EQ(config->applications[0].port, 9000u);
  EXPECT_EQ(config->applications[1].address, "10.0.0.2");
  EXPECT_TRUE(config->prometheus);
  EXPECT_TRUE(config->includeUnused);
  EXPECT_EQ(config->profiles, std::vector<std::string>{"Basic"});
  ASSERT_EQ(config->exclude.size(), 1u);
  EXPECT_EQ(config->exclude[0].type, "Regex");
  ASSERT_EQ(config->include.size(), 1u);
  EXPECT_EQ(config->include[0].match, "cluster_manager");
  EXPECT_EQ(config->extraLabels.at("kuma.proxy_role"), "sidecar");
}

TEST(MeshMetricConfig, RejectsMalformedAndOversizedInput) {
  for (const std::string bad :
       {"", "[]", "{}", R"({"observability":{}})", "{\"observability\":{\"metrics\":1}}",
        R"({"observability":{"metrics":{"applications":[{"port":0}]}}})",
        R"({"observability":{"metrics":{"applications":[{"port":70000}]}}})",
        R"({"observability":{"metrics":{"applications":{}}}})",
        R"({"observability":{"metrics":{"sidecar":{"profiles":{"exclude":[1]}}}}})"}) {
    EXPECT_FALSE(parseMeshMetricConfig(bad).ok()) << bad;
  }
  std::string deep = std::string(1000, '[') + std::string(1000, ']');
  EXPECT_FALSE(parseMeshMetricConfig(deep).ok());
  EXPECT_FALSE(parseMeshMetricConfig(std::string(MetricsHijacker::kMaxConfigBytes + 1, ' ')).ok());
  std::string many = R"({"observability":{"metrics":{"applications":[)";
  for (size_t i = 0; i <= MetricsHijacker::kMaxApplications; ++i) {
    many += std::string(i == 0 ? "" : ",") + R"({"port":1})";
  }
  EXPECT_FALSE(parseMeshMetricConfig(many + "]}}}").ok());
}

constexpr char kEnvoy[] =
    "# TYPE envoy_server_live gauge\n"
    "envoy_server_live{} 1\n"
    "# TYPE envoy_runtime_load_success counter\n"
    "envoy_runtime_load_success{} 1\n"
    "# TYPE envoy_cluster_upstream_rq_total counter\n"
    "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"backend\"} 3\n"
    "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"kuma:envoy:admin\"} 9\n"
    "# TYPE envoy_cluster_manager_active_clusters gauge\n"
    "envoy_cluster_manager_active_clusters{} 4\n"
    "# TYPE envoy_http2_rx_reset counter\n"
    "envoy_http2_rx_reset{} 2\n"
    "# TYPE envoy_cluster_upstream_rq_time histogram\n"
    "envoy_cluster_upstream_rq_time_bucket{envoy_cluster_name=\"backend\",le=\"0.5\"} 1\n"
    "envoy_cluster_upstream_rq_time_sum{envoy_cluster_name=\"backend\"} 0.2\n"
    "envoy_cluster_upstream_rq_time_count{envoy_cluster_name=\"backend\"} 1\n";

MeshMetricConfig configWith(std::vector<std::string> profiles) {
  MeshMetricConfig c;
  c.profiles = std::move(profiles);
  return c;
}

TEST(MeshMetricFilter, BasicProfileByDefault) {
  const std::string out = filterEnvoyMetrics(kEnvoy, {});
  EXPECT_NE(out.find("envoy_server_live{} 1\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("envoy_runtime_load_success"), std::string::npos) << out;
  EXPECT_NE(out.find("{envoy_cluster_name=\"backend\"} 3"), std::string::npos) << out;
  EXPECT_EQ(out.find("kuma:envoy:admin"), std::string::npos) << out;
  EXPECT_EQ(out.find("envoy_cluster_manager_active_clusters"), std::string::npos) << out;
  EXPECT_NE(out.find("envoy_http2_rx_reset{} 2"), std::string::npos) << out;  // "reset"
  EXPECT_NE(out.find("envoy_cluster_upstream_rq_time_bucket"), std::string::npos) << out;
  EXPECT_NE(out.find("envoy_cluster_upstream_rq_time_count"), std::string::npos) << out;
}

TEST(MeshMetricFilter, AllNoneExcludeInclude) {
  std::string out = filterEnvoyMetrics(kEnvoy, configWith({"All"}));
  EXPECT_NE(out.find("envoy_runtime_load_success{} 1"), std::string::npos) << out;
  EXPECT_NE(out.find("kuma:envoy:admin"), std::string::npos) << out;  // no entity filter
  out = filterEnvoyMetrics(kEnvoy, configWith({"None"}));
  EXPECT_EQ(out, "");
  // All wins over None (sorted All < Basic < None, selectors of every profile).
  out = filterEnvoyMetrics(kEnvoy, configWith({"None", "All"}));
  EXPECT_NE(out.find("envoy_runtime_load_success"), std::string::npos) << out;

  MeshMetricConfig c = configWith({"Basic"});
  c.exclude = {{"Regex", "http2_.*"}, {"Prefix", "envoy_server"}};
  c.include = {{"Contains", "cluster_manager"}};
  out = filterEnvoyMetrics(kEnvoy, c);
  EXPECT_EQ(out.find("envoy_http2_rx_reset"), std::string::npos) << out;
  EXPECT_EQ(out.find("envoy_server_live"), std::string::npos) << out;
  EXPECT_NE(out.find("envoy_cluster_manager_active_clusters{} 4"), std::string::npos) << out;
  // A regex that does not compile selects nothing (and throws nothing).
  c = configWith({"None"});
  c.include = {{"Regex", "(("}, {"Exact", "envoy_server_live"}};
  out = filterEnvoyMetrics(kEnvoy, c);
  EXPECT_EQ(out, "# TYPE envoy_server_live gauge\nenvoy_server_live{} 1\n");
}

TEST(MeshMetricLabels, AddedToEverySampleSanitizedAndEscaped) {
  const std::string out =
      addLabels("# TYPE a counter\na 1\nb{x=\"1\",mesh=\"keep\"} 2 1700000000\n\nc{} 3\n",
                {{"mesh", "default"}, {"kuma.proxy_role", "side\"car"}});
  EXPECT_EQ(out,
            "# TYPE a counter\n"
            "a{kuma_proxy_role=\"side\\\"car\",mesh=\"default\"} 1\n"
            "b{x=\"1\",mesh=\"keep\",kuma_proxy_role=\"side\\\"car\"} 2 1700000000\n"
            "\n"
            "c{kuma_proxy_role=\"side\\\"car\",mesh=\"default\"} 3\n");
}

TEST(LegacyMetrics, ClustersMergedAndMeshTrafficMarkedAsKuma) {
  const std::string out = mergeClustersForPrometheus(
      "# TYPE envoy_cluster_upstream_rq_total counter\n"
      "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"backend-0123456789abcdef\"} 2\n"
      "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"backend-fedcba9876543210\"} 3.5\n"
      "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"backend-notahexsuffix1\"} 1\n"
      "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"kuma_envoy_admin\"} 4\n"
      "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"ads_cluster\"} 5\n"
      "# TYPE envoy_http_downstream_rq_total counter\n"
      "envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix=\"inbound_web\"} 6\n"
      "envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix=\"admin\"} 7\n"
      "envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix=\"kuma_metrics_prometheus\"} "
      "8\n"
      "envoy_server_live 1\n");
  EXPECT_EQ(out,
            "# TYPE envoy_cluster_upstream_rq_total counter\n"
            "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"backend\","
            "kuma_io_mesh_traffic=\"true\"} 5.5\n"
            "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"backend-notahexsuffix1\","
            "kuma_io_mesh_traffic=\"true\"} 1\n"
            "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"kuma_envoy_admin\"} 4\n"
            "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"ads_cluster\"} 5\n"
            "# TYPE envoy_http_downstream_rq_total counter\n"
            "envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix=\"inbound_web\","
            "kuma_io_mesh_traffic=\"true\"} 6\n"
            "envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix=\"admin\"} 7\n"
            "envoy_http_downstream_rq_total{envoy_http_conn_manager_prefix=\"kuma_metrics_"
            "prometheus\"} 8\n"
            "envoy_server_live 1\n");
}

TEST(MetricsHijacker, LegacyScrapeWithoutEnvoyOrApplicationsIsEmpty) {
  const std::string dir = ::testing::TempDir();
  MetricsHijacker::Options options;
  options.socketPath = dir + "/kuma-mh-legacy.sock";
  options.dynamicConfigSocket = dir + "/no-such-config.sock";
  options.admin.unixPath = dir + "/no-such-admin.sock";
  options.timeout = std::chrono::milliseconds(500);
  MetricsHijacker h(options, logging::logger("test"));
  ASSERT_TRUE(h.start().ok());
  // Not `/meshmetric`: the legacy scrape, which needs no MeshMetric configuration.
  auto [status, body] = h.scrape("/?filter=server&usedonly");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body.find_first_not_of('\n'), std::string::npos) << body;
  h.stop();
}

TEST(MetricsHijacker, AnswersWithoutConfigurationWith503) {
  const std::string dir = ::testing::TempDir();
  MetricsHijacker::Options options;
  options.socketPath = dir + "/kuma-mh-test.sock";
  options.dynamicConfigSocket = dir + "/no-such-config.sock";
  options.admin.unixPath = dir + "/no-such-admin.sock";
  options.timeout = std::chrono::milliseconds(500);
  MetricsHijacker h(options, logging::logger("test"));
  ASSERT_TRUE(h.start().ok());
  auto [status, body] = h.scrape();
  EXPECT_EQ(status, 503);
  EXPECT_NE(body.find("no MeshMetric configuration"), std::string::npos) << body;
  h.stop();
}

}  // namespace
}  // namespace kuma::dp
