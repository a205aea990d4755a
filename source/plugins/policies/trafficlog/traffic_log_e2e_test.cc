// End to end with our kuma-dp and a real Envoy: the legacy TrafficLog (issue 14). A sidecar
// `web-1` calls `backend` (a second sidecar) through its outbound on Kuma's legacy path (a
// route-all TrafficRoute). A TrafficLog from web to backend names the Mesh's `tcp` logging
// backend: kuma-dp reads Envoy's `<address>;<line>` lines from its FIFO
// `kuma-al-web-1-default.sock` and forwards them to a TCP listener of the test, with Kuma's
// placeholders resolved by the control plane. Changed to the Mesh's default `file` backend, the
// file receives Kuma's default HTTP format.

#include <regex>

#include "test/integration/access_log_fixture.h"

namespace kuma::test {
namespace {

class TrafficLogE2eTest : public AccessLogE2eTest {
 protected:
  void putTrafficLog(const std::string& backend) {
    put("/meshes/default/traffic-logs/web-to-backend", json::parse(R"({
      "type": "TrafficLog", "mesh": "default", "name": "web-to-backend",
      "sources": [{"match": {"kuma.io/service": "web"}}],
      "destinations": [{"match": {"kuma.io/service": "backend"}}],
      "conf": {"backend": ")" + backend + R"("}})"));
  }
};

TEST_F(TrafficLogE2eTest, TcpAndFileBackendsWriteKumaFormattedLines) {
  const std::string dir = makeTempDir("tl-e2e");
  const std::string logFile = dir + "/access.log";
  LineSink sink;
  App backend("backend");

  put("/meshes/default", json::parse(R"({"type": "Mesh", "name": "default",
    "logging": {"defaultBackend": "file", "backends": [
      {"name": "file", "type": "file", "conf": {"path": ")" +
                                     logFile + R"("}},
      {"name": "tcp", "type": "tcp",
       "format": "%KUMA_SOURCE_SERVICE%->%KUMA_DESTINATION_SERVICE% %KUMA_MESH% %KUMA_TRAFFIC_DIRECTION% %RESPONSE_CODE% %REQ(:PATH)%",
       "conf": {"address": "127.0.0.1:)" +
                                     std::to_string(sink.port()) + R"("}}]}})"));
  put("/meshes/default/traffic-routes/route-all", json::parse(R"({
    "type": "TrafficRoute", "mesh": "default", "name": "route-all",
    "sources": [{"match": {"kuma.io/service": "*"}}],
    "destinations": [{"match": {"kuma.io/service": "*"}}],
    "conf": {"destination": {"kuma.io/service": "*"}}})"));
  putTrafficLog("tcp");

  App webApp("web");
  ASSERT_NO_FATAL_FAILURE(startBackend(dir, backend.port()));
  ASSERT_NO_FATAL_FAILURE(startWeb(dir, webApp.port()));
  ASSERT_TRUE(eventually(
      [&] { return callBackend() == std::optional<std::string>("hello from backend"); }, 30s))
      << diagnostics();

  // The tcp backend through kuma-dp's FIFO.
  ASSERT_TRUE(eventually(
      [&] {
        callBackend("/legacy");
        return sink.received().find("web->backend default OUTBOUND 200 /legacy\n") !=
               std::string::npos;
      },
      20s))
      << "sink: " << sink.received() << "\n"
      << diagnostics();

  // The Mesh's default backend: Envoy writes the file, in Kuma's default HTTP format.
  putTrafficLog("");
  const std::regex fileLine(
      R"(\[\d{4}-\d\d-\d\dT[^\]]+\] default "GET /hello HTTP/1.1" 200 - 0 18 \d+ \d+ "-" "mal-e2e" "-" "req-42" "127.0.0.1:\d+" "web" "backend" "127.0.0.1" "127.0.0.1:\d+")");
  ASSERT_TRUE(eventually(
      [&] {
        callBackend();
        return std::regex_search(readFile(logFile), fileLine);
      },
      20s))
      << "file: " << readFile(logFile) << "\n"
      << diagnostics();
}

}  // namespace
}  // namespace kuma::test
