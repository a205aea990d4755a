// MeshAccessLog's xDS plugin, through the generator with the registered plugin table: the
// policies of tools/conformance/cases/meshaccesslog and meshaccesslog-tcp rendered on the
// inbound and outbound listeners (golden files, compared with Kuma 2.14.3's dumps of those
// cases), Kuma's placeholder substitution and default formats, the Tcp backend's FIFO path and
// JSON envelope, inbound rules with matches as CEL filters, OpenTelemetry backends (config,
// body as Kuma reads it, collector clusters numbered in order of first use), and listeners left
// alone.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "envoy/config/listener/v3/listener.pb.h"
#include "envoy/extensions/access_loggers/file/v3/file.pb.h"
#include "envoy/config/cluster/v3/cluster.pb.h"
#include "envoy/extensions/access_loggers/filters/cel/v3/cel.pb.h"
#include "envoy/extensions/access_loggers/open_telemetry/v3/logs_service.pb.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb.h"
#include "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.pb.h"
#include "gtest/gtest.h"
#include "source/plugins/policies/meshaccesslog/xds_configurer.h"
#include "test/test_common/golden.h"
#include "test/xds/generator/generator_test_util.h"

namespace kuma::xds {
namespace {

using envoy::config::accesslog::v3::AccessLog;
using envoy::config::listener::v3::Listener;
using envoy::extensions::access_loggers::file::v3::FileAccessLog;
using envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager;
using envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy;
namespace mal = policies::meshaccesslog;

constexpr char kWebInbound[] = "inbound:127.0.0.1:8080";
constexpr char kTcpInbound[] = "inbound:127.0.0.1:5432";
constexpr char kBackendOutbound[] = "outbound:127.0.0.1:10001";
constexpr char kDbOutbound[] = "outbound:127.0.0.1:10002";

std::string casePolicies(const std::string& caseName) {
  const std::filesystem::path path =
      test::sourcePath("tools/conformance/cases") / caseName / "20-meshaccesslog.yaml";
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The YAML documents of a `---`-separated file.
std::vector<std::string> documents(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line == "---") {
      out.push_back(current);
      current.clear();
      continue;
    }
    current += line + "\n";
  }
  out.push_back(current);
  return out;
}

std::string webDataplane() {
  return testing::dataplaneYaml("web", "127.0.0.1", R"(  inbound:
  - {port: 8080, servicePort: 18080, tags: {kuma.io/service: web, kuma.io/protocol: http}}
  - {port: 5432, servicePort: 15432, tags: {kuma.io/service: web-tcp, kuma.io/protocol: tcp}}
  outbound:
  - {port: 10001, tags: {kuma.io/service: backend}}
  - {port: 10002, tags: {kuma.io/service: db}}
)");
}

GeneratedResources generateFor(const std::vector<std::string>& policies,
                               const std::string& workdir = "/var/run/kuma") {
  std::vector<std::string> yamls = {webDataplane(),
                                    testing::dataplaneYaml("backend-1", "127.0.0.2", R"(  inbound:
  - {port: 8080, tags: {kuma.io/service: backend, kuma.io/protocol: http}}
)"),
                                    testing::dataplaneYaml("db-1", "127.0.0.3", R"(  inbound:
  - {port: 5432, tags: {kuma.io/service: db, kuma.io/protocol: tcp}}
)")};
  yamls.insert(yamls.end(), policies.begin(), policies.end());
  ProxyOptions options;
  options.workdir = workdir;
  return testing::generateFromYamls(yamls, "web", options);
}

// The listener `name` as JSON equals testdata/<golden>.golden.json (KUMA_UPDATE_GOLDEN=1 writes).
void expectGolden(const GeneratedResources& out, const std::string& name,
                  const std::string& golden) {
  testing::expectResourceGolden(out, kListenerType, name,
                                test::sourcePath("source/plugins/policies/meshaccesslog/testdata") /
                                    (golden + ".golden.json"));
}

std::vector<AccessLog> hcmLogs(const GeneratedResources& out, const std::string& name) {
  const Listener l = testing::decode<Listener>(out, kListenerType, name);
  HttpConnectionManager hcm;
  EXPECT_TRUE(l.filter_chains(0).filters(0).typed_config().UnpackTo(&hcm)) << name;
  return {hcm.access_log().begin(), hcm.access_log().end()};
}

std::vector<AccessLog> tcpLogs(const GeneratedResources& out, const std::string& name) {
  const Listener l = testing::decode<Listener>(out, kListenerType, name);
  TcpProxy proxy;
  EXPECT_TRUE(l.filter_chains(0).filters(0).typed_config().UnpackTo(&proxy)) << name;
  return {proxy.access_log().begin(), proxy.access_log().end()};
}

FileAccessLog fileOf(const AccessLog& log) {
  FileAccessLog file;
  EXPECT_EQ(log.name(), "envoy.access_loggers.file");
  EXPECT_TRUE(log.typed_config().UnpackTo(&file));
  return file;
}

TEST(MeshAccessLogXds, FileBackendsAsKuma) {
  const GeneratedResources out = generateFor(documents(casePolicies("meshaccesslog")));
  expectGolden(out, kWebInbound, "xds-file-inbound");
  expectGolden(out, kBackendOutbound, "xds-file-outbound-http");
  expectGolden(out, kDbOutbound, "xds-file-outbound-tcp");

  // HTTP outbound to backend: the MeshService item wins (backends replace, not append).
  const std::vector<AccessLog> backend = hcmLogs(out, kBackendOutbound);
  ASSERT_EQ(backend.size(), 2u);
  const FileAccessLog json = fileOf(backend[0]);
  EXPECT_EQ(json.path(), "/dev/stdout");
  EXPECT_TRUE(json.log_format().omit_empty_values());
  EXPECT_EQ(json.log_format().json_format().fields().at("route").string_value(), "web->backend");
  EXPECT_EQ(json.log_format().json_format().fields().at("direction").string_value(), "OUTBOUND");
  EXPECT_EQ(json.log_format().json_format().fields().at("start").string_value(), "%START_TIME%");
  EXPECT_EQ(fileOf(backend[1]).log_format().text_format_source().inline_string(),
            "127.0.0.1:0 127.0.0.1 %RESPONSE_CODE%\n");

  // TCP outbound to db: the Mesh item, Kuma's default TCP format with the values substituted.
  const std::vector<AccessLog> db = tcpLogs(out, kDbOutbound);
  ASSERT_EQ(db.size(), 1u);
  EXPECT_EQ(fileOf(db[0]).log_format().text_format_source().inline_string(),
            mal::interpolateKumaValues(std::string(mal::kDefaultNetworkFormat) + "\n",
                                       {.sourceService = "web",
                                        .sourceIp = "127.0.0.1",
                                        .destinationService = "db",
                                        .mesh = "default",
                                        .zone = "",
                                        .workloadKri = "",
                                        .trafficDirection = "OUTBOUND"}));
  EXPECT_NE(fileOf(db[0]).log_format().text_format_source().inline_string().find(
                "[%START_TIME%] %RESPONSE_FLAGS% default 127.0.0.1(web)->%UPSTREAM_HOST%(db)"),
            std::string::npos);

  // Inbounds: both `from` items log (rules, not merged), on HTTP and TCP inbounds of `web`
  // only (targetRef MeshService web); destination is the proxy's identifying service.
  const std::vector<AccessLog> in = hcmLogs(out, kWebInbound);
  ASSERT_EQ(in.size(), 2u);
  EXPECT_EQ(fileOf(in[0]).log_format().text_format_source().inline_string(),
            "[%START_TIME%] unknown->web default INBOUND zone= wl= %RESPONSE_CODE%\n");
  EXPECT_EQ(fileOf(in[1]).path(), "/dev/stderr");
  EXPECT_NE(fileOf(in[1]).log_format().text_format_source().inline_string().find(
                "\"unknown\" \"web\" \"127.0.0.1\""),
            std::string::npos);
  EXPECT_TRUE(tcpLogs(out, kTcpInbound).empty());
}

TEST(MeshAccessLogXds, TcpBackendWritesKumaDpFifo) {
  const GeneratedResources out = generateFor(documents(casePolicies("meshaccesslog-tcp")));
  expectGolden(out, kWebInbound, "xds-tcp-inbound");
  expectGolden(out, kDbOutbound, "xds-tcp-outbound-tcp");

  const std::vector<AccessLog> db = tcpLogs(out, kDbOutbound);
  ASSERT_EQ(db.size(), 2u);
  const FileAccessLog plain = fileOf(db[0]);
  EXPECT_EQ(plain.path(), "/var/run/kuma/kuma-al-web-default.sock");
  const auto& fields = plain.log_format().json_format().fields();
  EXPECT_EQ(fields.at("address").string_value(), "127.0.0.1:5170");
  EXPECT_NE(fields.at("message").string_value().find("127.0.0.1(web)->%UPSTREAM_HOST%(db)"),
            std::string::npos);
  const FileAccessLog json = fileOf(db[1]);
  const auto& jsonFields = json.log_format().json_format().fields();
  EXPECT_EQ(jsonFields.at("address").string_value(), "127.0.0.1:5171");
  EXPECT_EQ(jsonFields.at("message").struct_value().fields().at("route").string_value(), "web->db");

  // Inbound rules: the match first, with its CEL filter; then the catch-all rule.
  const std::vector<AccessLog> in = tcpLogs(out, kTcpInbound);
  ASSERT_EQ(in.size(), 2u);
  envoy::extensions::access_loggers::filters::cel::v3::ExpressionFilter cel;
  ASSERT_EQ(in[0].filter().extension_filter().name(), "envoy.access_loggers.extension_filters.cel");
  ASSERT_TRUE(in[0].filter().extension_filter().typed_config().UnpackTo(&cel));
  EXPECT_EQ(cel.expression(),
            "connection.uri_san_peer_certificate.startsWith(\"spiffe://default/back\")");
  EXPECT_EQ(fileOf(in[0]).path(), "/dev/stdout");
  EXPECT_FALSE(in[1].has_filter());
  const FileAccessLog rule = fileOf(in[1]);
  EXPECT_TRUE(rule.log_format().omit_empty_values());
  EXPECT_EQ(rule.log_format().json_format().fields().at("message").string_value(),
            "unknown->web INBOUND\n");
}

using envoy::extensions::access_loggers::open_telemetry::v3::OpenTelemetryAccessLogConfig;

OpenTelemetryAccessLogConfig otelOf(const AccessLog& log) {
  OpenTelemetryAccessLogConfig config;
  EXPECT_EQ(log.name(), "envoy.access_loggers.open_telemetry");
  EXPECT_TRUE(log.typed_config().UnpackTo(&config));
  return config;
}

TEST(MeshAccessLogXds, OpenTelemetryBackendsAsKuma) {
  const std::string motbs = R"(type: MeshOpenTelemetryBackend
mesh: default
name: grpc
labels: {obs: grpc}
spec: {endpoint: {address: 127.0.0.9, port: 4000}}
---
type: MeshOpenTelemetryBackend
mesh: default
name: http
labels: {obs: http}
spec: {endpoint: {address: collector.example, port: 4318}, protocol: http}
)";
  const std::string policy = R"(type: MeshAccessLog
mesh: default
name: otel
spec:
  targetRef: {kind: Mesh}
  from:
  - targetRef: {kind: Mesh}
    default:
      backends:
      - type: OpenTelemetry
        openTelemetry:
          backendRef: {kind: MeshOpenTelemetryBackend, labels: {obs: http}}
          body: "%KUMA_SOURCE_SERVICE% -> %KUMA_DESTINATION_SERVICE%"
  to:
  - targetRef: {kind: Mesh}
    default:
      backends:
      - type: OpenTelemetry
        openTelemetry:
          endpoint: 127.0.0.1
          body: {kvlistValue: {values: [{key: "%KUMA_TRAFFIC_DIRECTION%", value: {stringValue: "%KUMA_MESH%"}}]}}
          attributes: [{key: dst, value: "%KUMA_DESTINATION_SERVICE%"}]
      - type: OpenTelemetry
        openTelemetry:
          backendRef: {kind: MeshOpenTelemetryBackend, labels: {obs: missing}}
      - type: OpenTelemetry
        openTelemetry:
          backendRef: {kind: MeshOpenTelemetryBackend, labels: {obs: grpc}}
          body: {notAnAnyValue: 1}
)";
  std::vector<std::string> docs = documents(motbs);
  docs.push_back(policy);
  const GeneratedResources out = generateFor(docs);

  // Inbound (first in Kuma's order: cluster 0): the HTTP backend; a body that is no AnyValue is
  // its JSON text as Go writes it.
  const std::vector<AccessLog> in = hcmLogs(out, kWebInbound);
  ASSERT_EQ(in.size(), 1u);
  const OpenTelemetryAccessLogConfig inbound = otelOf(in[0]);
  EXPECT_EQ(inbound.body().string_value(), "\"unknown -\\u003e web\"");
  EXPECT_EQ(inbound.log_name(), "MeshAccessLog");
  EXPECT_EQ(inbound.grpc_service().envoy_grpc().cluster_name(), "meshaccesslog:opentelemetry:0");
  EXPECT_FALSE(inbound.has_common_config());
  EXPECT_TRUE(inbound.has_attributes());
  EXPECT_EQ(inbound.attributes().values_size(), 0);
  ASSERT_EQ(inbound.resource_attributes().values_size(), 1);  // no zone, no workload
  EXPECT_EQ(inbound.resource_attributes().values(0).key(), "kuma.mesh");
  EXPECT_EQ(inbound.resource_attributes().values(0).value().string_value(), "default");

  // Outbounds: the inline endpoint (port 4317 by default) and the gRPC backend; the dangling
  // backendRef is skipped. Every outbound shares the two collectors.
  for (const auto& logs : {hcmLogs(out, kBackendOutbound), tcpLogs(out, kDbOutbound)}) {
    ASSERT_EQ(logs.size(), 2u);
    const OpenTelemetryAccessLogConfig inlineEndpoint = otelOf(logs[0]);
    EXPECT_EQ(inlineEndpoint.grpc_service().envoy_grpc().cluster_name(),
              "meshaccesslog:opentelemetry:1");
    ASSERT_EQ(inlineEndpoint.body().kvlist_value().values_size(), 1);
    EXPECT_EQ(inlineEndpoint.body().kvlist_value().values(0).key(), "OUTBOUND");
    EXPECT_EQ(inlineEndpoint.body().kvlist_value().values(0).value().string_value(), "default");
    ASSERT_EQ(inlineEndpoint.attributes().values_size(), 1);
    EXPECT_EQ(inlineEndpoint.attributes().values(0).key(), "dst");
    const OpenTelemetryAccessLogConfig grpc = otelOf(logs[1]);
    EXPECT_EQ(grpc.grpc_service().envoy_grpc().cluster_name(), "meshaccesslog:opentelemetry:2");
    // Kuma's jsonpb ignores unknown fields: an object that is no AnyValue is an empty one.
    EXPECT_TRUE(grpc.has_body());
    EXPECT_EQ(grpc.body().value_case(), opentelemetry::proto::common::v1::AnyValue::VALUE_NOT_SET);
  }
  EXPECT_NE(otelOf(hcmLogs(out, kBackendOutbound)[0]).attributes().values(0).value().string_value(),
            otelOf(tcpLogs(out, kDbOutbound)[0]).attributes().values(0).value().string_value());

  // The collector clusters: HTTP/2 unless the backend's protocol is http; STRICT_DNS for a name.
  using envoy::config::cluster::v3::Cluster;
  const Cluster http = testing::decode<Cluster>(out, kClusterType, "meshaccesslog:opentelemetry:0");
  EXPECT_EQ(http.type(), Cluster::STRICT_DNS);
  EXPECT_EQ(http.load_assignment()
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .address(),
            "collector.example");
  EXPECT_TRUE(http.typed_extension_protocol_options().empty());
  const Cluster inlineCluster =
      testing::decode<Cluster>(out, kClusterType, "meshaccesslog:opentelemetry:1");
  EXPECT_EQ(inlineCluster.type(), Cluster::STATIC);
  EXPECT_EQ(inlineCluster.load_assignment()
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .port_value(),
            4317u);
  EXPECT_FALSE(inlineCluster.typed_extension_protocol_options().empty());
  const Cluster grpcCluster =
      testing::decode<Cluster>(out, kClusterType, "meshaccesslog:opentelemetry:2");
  EXPECT_EQ(grpcCluster.load_assignment()
                .endpoints(0)
                .lb_endpoints(0)
                .endpoint()
                .address()
                .socket_address()
                .address(),
            "127.0.0.9");
  std::vector<std::string> collectors;
  for (const std::string& name : testing::namesOf(out, kClusterType)) {
    if (name.starts_with("meshaccesslog:")) {
      collectors.push_back(name);
    }
  }
  EXPECT_EQ(collectors.size(), 3u);
}

TEST(MeshAccessLogXds, NoPolicyNoAccessLog) {
  const GeneratedResources out = generateFor({});
  EXPECT_TRUE(hcmLogs(out, kWebInbound).empty());
  EXPECT_TRUE(hcmLogs(out, kBackendOutbound).empty());
  EXPECT_TRUE(tcpLogs(out, kDbOutbound).empty());
}

TEST(MeshAccessLogXds, KumaValuesAndSocketNames) {
  mal::KumaValues v{.sourceService = "a",
                    .sourceIp = "fd00::1",
                    .destinationService = "b",
                    .mesh = "m",
                    .zone = "z",
                    .workloadKri = "kri_wl_m_z_ns_w_",
                    .trafficDirection = "INBOUND"};
  EXPECT_EQ(mal::interpolateKumaValues("%KUMA_SOURCE_ADDRESS%|%KUMA_SOURCE_ADDRESS_WITHOUT_PORT%|"
                                       "%KUMA_SOURCE_SERVICE%|%KUMA_DESTINATION_SERVICE%|"
                                       "%KUMA_MESH%|%KUMA_TRAFFIC_DIRECTION%|%KUMA_ZONE%|"
                                       "%KUMA_WORKLOAD%|%KUMA_OTHER%",
                                       v),
            "[fd00::1]:0|fd00::1|a|b|m|INBOUND|z|kri_wl_m_z_ns_w_|%KUMA_OTHER%");
  EXPECT_EQ(mal::accessLogSocketPath("/tmp/x/", "web", "default"),
            "/tmp/x/kuma-al-web-default.sock");
  EXPECT_EQ(mal::accessLogSocketPath("", "web", "default"), "kuma-al-web-default.sock");
  const std::string longPath = mal::accessLogSocketPath("/tmp", std::string(200, 'n'), "m");
  EXPECT_EQ(longPath.size(), 98u + 5u);
  EXPECT_TRUE(longPath.ends_with("nnn.sock"));
}

}  // namespace
}  // namespace kuma::xds
