// End to end with our kuma-dp and a real Envoy: MeshAccessLog's OpenTelemetry backend (issue 14).
// A sidecar `web-1` calls `backend` through its outbound listener; a MeshAccessLog `to` Mesh
// sends the request's log record to an OTLP logs collector of the test, once through a
// MeshOpenTelemetryBackend (backendRef; Kuma's default HTTP format as the body, the attributes
// with placeholders) and once through an inline endpoint with a structured body. The records
// carry Kuma's resource attributes and the log name Kuma sets (`MeshAccessLog`, Envoy's builtin
// `log_name` label).

#include <algorithm>
#include <map>
#include <regex>

#include "test/integration/access_log_fixture.h"
#include "test/integration/otlp_logs_collector.h"

namespace kuma::test {
namespace {

class OtelAccessLogE2eTest : public AccessLogE2eTest {};

using KeyValues = google::protobuf::RepeatedPtrField<opentelemetry::proto::common::v1::KeyValue>;

std::map<std::string, std::string> stringsOf(const KeyValues& kvs) {
  std::map<std::string, std::string> out;
  for (const auto& kv : kvs) {
    out[kv.key()] = kv.value().string_value();
  }
  return out;
}

TEST_F(OtelAccessLogE2eTest, RecordsReachTheCollectorInKumasShape) {
  const std::string dir = makeTempDir("mal-otel-e2e");
  OtlpLogsCollector viaBackendRef;
  OtlpLogsCollector inline_;
  App backend("backend");

  put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  put("/meshes/default/meshopentelemetrybackends/collector",
      json::parse(R"({"type": "MeshOpenTelemetryBackend", "mesh": "default", "name": "collector",
        "labels": {"team": "obs"},
        "spec": {"endpoint": {"address": "127.0.0.1", "port": )" +
                  std::to_string(viaBackendRef.port()) + R"(}, "protocol": "grpc"}})"));
  put("/meshes/default/meshaccesslogs/otel", json::parse(R"({
    "type": "MeshAccessLog", "mesh": "default", "name": "otel",
    "spec": {"targetRef": {"kind": "Mesh"}, "to": [{
      "targetRef": {"kind": "Mesh"},
      "default": {"backends": [
        {"type": "OpenTelemetry", "openTelemetry": {
          "backendRef": {"kind": "MeshOpenTelemetryBackend", "labels": {"team": "obs"}},
          "attributes": [{"key": "route", "value": "%KUMA_SOURCE_SERVICE%->%KUMA_DESTINATION_SERVICE%"},
                         {"key": "code", "value": "%RESPONSE_CODE%"}]}},
        {"type": "OpenTelemetry", "openTelemetry": {
          "endpoint": "127.0.0.1:)" + std::to_string(inline_.port()) +
                                                         R"(",
          "body": {"kvlistValue": {"values": [
            {"key": "%KUMA_TRAFFIC_DIRECTION%", "value": {"stringValue": "%KUMA_MESH% %REQ(:PATH)%"}}]}}}}
      ]}}]}})"));

  App webApp("web");
  ASSERT_NO_FATAL_FAILURE(startBackend(dir, backend.port()));
  ASSERT_NO_FATAL_FAILURE(startWeb(dir, webApp.port()));
  ASSERT_TRUE(eventually(
      [&] { return callBackend() == std::optional<std::string>("hello from backend"); }, 30s))
      << diagnostics();

  // Through the MeshOpenTelemetryBackend: Kuma's default HTTP format (placeholders resolved by
  // kuma-cp, Envoy's by Envoy) as the body; the attributes; Kuma's resource attributes.
  const std::regex defaultBody(
      R"(^\[\d{4}-\d\d-\d\dT[^\]]+\] default "GET /hello HTTP/1.1" 200 - 0 18 \d+ \d+ "-" "mal-e2e" "-" "req-42" "127.0.0.1:\d+" "web" "backend" "127.0.0.1" "127.0.0.1:\d+"$)");
  ASSERT_TRUE(eventually([&] { return !viaBackendRef.records().empty(); }, 20s)) << diagnostics();
  {
    const auto [resource, record] = viaBackendRef.records().front();
    EXPECT_TRUE(std::regex_search(record.body().string_value(), defaultBody))
        << record.DebugString();
    const auto attributes = stringsOf(record.attributes());
    EXPECT_EQ(attributes.at("route"), "web->backend");
    EXPECT_EQ(attributes.at("code"), "200");
    const auto resourceAttributes = stringsOf(resource.attributes());
    EXPECT_EQ(resourceAttributes.at("kuma.mesh"), "default") << resource.DebugString();
    EXPECT_EQ(resourceAttributes.at("log_name"), "MeshAccessLog") << resource.DebugString();
  }

  // Through the inline endpoint: the structured body, placeholders in keys and values.
  ASSERT_TRUE(eventually([&] { return !inline_.records().empty(); }, 20s)) << diagnostics();
  {
    const auto [resource, record] = inline_.records().front();
    ASSERT_TRUE(record.body().has_kvlist_value()) << record.DebugString();
    EXPECT_EQ(stringsOf(record.body().kvlist_value().values()),
              (std::map<std::string, std::string>{{"OUTBOUND", "default /hello"}}));
    EXPECT_EQ(stringsOf(resource.attributes()).at("log_name"), "MeshAccessLog");
  }
}

}  // namespace
}  // namespace kuma::test
