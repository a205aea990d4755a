// End to end with our kuma-dp and a real Envoy: MeshAccessLog (issue 14). A sidecar `web-1`
// calls `backend` (a second sidecar) through its outbound listener; a MeshAccessLog `to` Mesh with
// three backends (File with Kuma's default HTTP format, Tcp with a plain format, Tcp with a JSON
// format) makes Envoy write the request's line into the file, and kuma-dp forwards the two Tcp
// lines it reads from its FIFO `kuma-al-web-1-default.sock` to a TCP listener of the test, with
// Kuma's placeholders resolved. Then a Tcp destination that is down, up, down and up again:
// kuma-dp drops the lines it cannot deliver and (re)connects once the destination is up.

#include <sys/stat.h>

#include <memory>
#include <regex>

#include "test/integration/access_log_fixture.h"

namespace kuma::test {
namespace {

class MeshAccessLogE2eTest : public AccessLogE2eTest {};

TEST_F(MeshAccessLogE2eTest, FileAndTcpBackendsWriteKumaFormattedLines) {
  const std::string dir = makeTempDir("mal-e2e");
  const std::string logFile = dir + "/access.log";
  LineSink plainSink;
  LineSink jsonSink;
  App backend("backend");

  put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  put("/meshes/default/meshaccesslogs/all", json::parse(R"({
    "type": "MeshAccessLog", "mesh": "default", "name": "all",
    "spec": {"targetRef": {"kind": "Mesh"}, "to": [{
      "targetRef": {"kind": "Mesh"},
      "default": {"backends": [
        {"type": "File", "file": {"path": ")" + logFile +
                                                        R"("}},
        {"type": "Tcp", "tcp": {"address": "127.0.0.1:)" +
                                                        std::to_string(plainSink.port()) + R"(",
          "format": {"type": "Plain", "plain": "%KUMA_SOURCE_SERVICE%->%KUMA_DESTINATION_SERVICE% %KUMA_MESH% %KUMA_TRAFFIC_DIRECTION% %RESPONSE_CODE% %REQ(:PATH)%"}}},
        {"type": "Tcp", "tcp": {"address": "127.0.0.1:)" +
                                                        std::to_string(jsonSink.port()) + R"(",
          "format": {"type": "Json", "json": [
            {"key": "route", "value": "%KUMA_SOURCE_SERVICE%->%KUMA_DESTINATION_SERVICE%"},
            {"key": "code", "value": "%RESPONSE_CODE%"}]}}}]}}]}})"));

  App webApp("web");
  ASSERT_NO_FATAL_FAILURE(startBackend(dir, backend.port()));
  ASSERT_NO_FATAL_FAILURE(startWeb(dir, webApp.port()));
  // kuma-dp's FIFO, where kuma-cp pointed the Tcp backends.
  struct stat st {};
  ASSERT_EQ(stat((web_.workDir + "/kuma-al-web-1-default.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));

  ASSERT_TRUE(eventually(
      [&] { return callBackend() == std::optional<std::string>("hello from backend"); }, 30s))
      << diagnostics();

  // File backend: Kuma's default HTTP format, the Kuma values substituted by kuma-cp.
  const std::regex fileLine(
      R"(\[\d{4}-\d\d-\d\dT[^\]]+\] default "GET /hello HTTP/1.1" 200 - 0 18 \d+ \d+ "-" "mal-e2e" "-" "req-42" "127.0.0.1:\d+" "web" "backend" "127.0.0.1" "127.0.0.1:\d+")");
  ASSERT_TRUE(eventually([&] { return std::regex_search(readFile(logFile), fileLine); }, 20s))
      << "file: " << readFile(logFile) << "\n"
      << diagnostics();

  // Tcp backends through kuma-dp.
  ASSERT_TRUE(eventually(
      [&] {
        return plainSink.received().find("web->backend default OUTBOUND 200 /hello\n") !=
               std::string::npos;
      },
      20s))
      << "plain sink: " << plainSink.received() << "\n"
      << diagnostics();
  ASSERT_TRUE(eventually(
      [&] {
        return jsonSink.received().find(R"({"code":"200","route":"web->backend"})"
                                        "\n") != std::string::npos ||
               jsonSink.received().find(R"({"code":200,"route":"web->backend"})"
                                        "\n") != std::string::npos;
      },
      20s))
      << "json sink: " << jsonSink.received() << "\n"
      << diagnostics();
}

TEST_F(MeshAccessLogE2eTest, TcpDestinationDownUpDownUp) {
  const std::string dir = makeTempDir("mal-e2e-reconnect");
  App backend("backend");
  const uint16_t sinkPort = freePort();

  put("/meshes/default", {{"type", "Mesh"}, {"name", "default"}});
  put("/meshes/default/meshaccesslogs/tcp", json::parse(R"({
    "type": "MeshAccessLog", "mesh": "default", "name": "tcp",
    "spec": {"targetRef": {"kind": "Mesh"}, "to": [{
      "targetRef": {"kind": "Mesh"},
      "default": {"backends": [
        {"type": "Tcp", "tcp": {"address": "127.0.0.1:)" +
                                                        std::to_string(sinkPort) + R"(",
          "format": {"type": "Plain", "plain": "%REQ(:PATH)%"}}}]}}]}})"));

  App webApp("web");
  ASSERT_NO_FATAL_FAILURE(startBackend(dir, backend.port()));
  ASSERT_NO_FATAL_FAILURE(startWeb(dir, webApp.port()));
  ASSERT_TRUE(eventually([&] { return callBackend().has_value(); }, 30s)) << diagnostics();

  // Nobody listens: the line is dropped (kuma-dp logs it), kuma-dp keeps running.
  ASSERT_TRUE(callBackend().has_value());
  ASSERT_TRUE(eventually(
      [&] {
        return web_.process->output().find("could not connect to TCP log destination") !=
               std::string::npos;
      },
      20s))
      << diagnostics();

  // The destination comes up: the next requests' lines arrive.
  auto sink = std::make_unique<LineSink>(sinkPort);
  ASSERT_TRUE(eventually(
      [&] {
        callBackend("/after");
        return sink->received().find("/after\n") != std::string::npos;
      },
      20s))
      << "sink: " << sink->received() << "\n"
      << diagnostics();

  // It goes away: kuma-dp's send fails, it drops the connection; it comes back on the same port:
  // kuma-dp connects again.
  sink.reset();
  ASSERT_TRUE(eventually(
      [&] {
        callBackend("/down");
        return web_.process->output().find("could not send the log") != std::string::npos;
      },
      20s))
      << diagnostics();
  sink = std::make_unique<LineSink>(sinkPort);
  ASSERT_TRUE(eventually(
      [&] {
        callBackend("/back");
        return sink->received().find("/back\n") != std::string::npos;
      },
      20s))
      << "sink: " << sink->received() << "\n"
      << diagnostics();
}

}  // namespace
}  // namespace kuma::test
