// End to end with our kuma-dp and a real Envoy: MeshAccessLog (issue 14). A sidecar `web-1`
// calls `backend` (a second sidecar) through its outbound listener; a MeshAccessLog `to` Mesh with
// three backends (File with Kuma's default HTTP format, Tcp with a plain format, Tcp with a JSON
// format) makes Envoy write the request's line into the file, and kuma-dp forwards the two Tcp
// lines it reads from its FIFO `kuma-al-web-1-default.sock` to a TCP listener of the test, with
// Kuma's placeholders resolved. Then a Tcp destination that is down, up, down and up again:
// kuma-dp drops the lines it cannot deliver and (re)connects once the destination is up.

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <thread>

#include "test/integration/kuma_dp_start.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {
namespace {

// A TCP listener on 127.0.0.1 that collects every byte sent to it (one thread, one connection at
// a time, which is how kuma-dp uses it).
class LineSink {
 public:
  LineSink() : LineSink(0) {}
  explicit LineSink(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 4), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LineSink() {
    stopping_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::string received() {
    std::lock_guard<std::mutex> lock(mu_);
    return data_;
  }

 private:
  void serve() {
    while (!stopping_) {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) {
        return;
      }
      timeval tv{0, 200000};
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      char buf[4096];
      while (!stopping_) {
        const ssize_t n = read(c, buf, sizeof(buf));
        if (n == 0) {
          break;
        }
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            continue;
          }
          break;
        }
        std::lock_guard<std::mutex> lock(mu_);
        data_.append(buf, static_cast<size_t>(n));
      }
      close(c);
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::mutex mu_;
  std::string data_;
};

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class MeshAccessLogE2eTest : public XdsEnvoyTest {
 protected:
  void TearDown() override {
    if (backend_.process) {
      EXPECT_EQ(backend_.process->stop(SIGTERM, std::chrono::seconds(15)), 0)
          << backend_.process->output();
    }
    if (web_.process) {
      EXPECT_EQ(web_.process->stop(SIGTERM, std::chrono::seconds(15)), 0) << web_.process->output();
    }
  }
  std::string diagnostics() const {
    const auto clusters = httpGet(adminPort_, "/clusters");
    return "kuma-cp:\n" + cp_->output() + "\nkuma-dp:\n" +
           (web_.process ? web_.process->output() : "") + "\nEnvoy clusters:\n" +
           clusters.value_or("(no answer)");
  }
  std::optional<std::string> callBackend(const std::string& path = "/hello") const {
    httplib::Client client("127.0.0.1", outbound_);
    client.set_connection_timeout(1s);
    client.set_read_timeout(2s);
    auto res = client.Get(path, {{"User-Agent", "mal-e2e"}, {"x-request-id", "req-42"}});
    if (!res || res->status != 200) {
      return std::nullopt;
    }
    return res->body;
  }

  // backend-1: a sidecar in front of the `backend` app (kuma-cp's outbound clusters speak HTTP/2
  // to the peer's inbound listener).
  void startBackend(const std::string& dir, uint16_t appPort) {
    backend_ = startKumaDp(
        *cp_, envoy_, dir, "backend-1",
        "type: Dataplane\nmesh: default\nname: backend-1\nnetworking:\n  address: 127.0.0.1\n"
        "  admin:\n    port: " +
            std::to_string(freePort()) + "\n  inbound:\n  - port: " + std::to_string(freePort()) +
            "\n    servicePort: " + std::to_string(appPort) +
            "\n    tags:\n      kuma.io/service: backend\n      kuma.io/protocol: http\n");
    ASSERT_NO_FATAL_FAILURE(expectKumaDpReady(backend_, *cp_));
  }

  // web-1: the proxy under test, in front of the `web` app, with an outbound to backend.
  void startWeb(const std::string& dir, uint16_t appPort) {
    outbound_ = freePort();
    adminPort_ = freePort();
    web_ = startKumaDp(
        *cp_, envoy_, dir, "web-1",
        "type: Dataplane\nmesh: default\nname: web-1\nnetworking:\n  address: 127.0.0.1\n"
        "  admin:\n    port: " +
            std::to_string(adminPort_) + "\n  inbound:\n  - port: " + std::to_string(freePort()) +
            "\n    servicePort: " + std::to_string(appPort) +
            "\n    tags:\n      kuma.io/service: web\n      kuma.io/protocol: http\n"
            "  outbound:\n  - port: " +
            std::to_string(outbound_) + "\n    tags:\n      kuma.io/service: backend\n");
    ASSERT_NO_FATAL_FAILURE(expectKumaDpReady(web_, *cp_));
  }

  KumaDpProcess backend_;
  KumaDpProcess web_;
  uint16_t outbound_ = 0;
  uint16_t adminPort_ = 0;
};

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
