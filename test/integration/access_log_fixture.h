#pragma once

// File: access_log_fixture.h
// The fixture of the access-log end-to-end tests (MeshAccessLog, legacy TrafficLog): our kuma-dp
// with a real Envoy for a sidecar `web-1` (the proxy under test, an outbound to `backend`) and a
// sidecar `backend-1`, plus LineSink, a TCP destination that collects what kuma-dp forwards.
//
//   class MyTest : public AccessLogE2eTest {};
//   TEST_F(MyTest, X) {
//     LineSink sink;
//     put(...);                        // Mesh, policies
//     startBackend(dir, backendApp.port());
//     startWeb(dir, webApp.port());
//     eventually([&] { return callBackend().has_value(); }, 30s);
//   }

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "test/integration/kuma_dp_start.h"
#include "test/integration/xds_envoy_fixture.h"

namespace kuma::test {

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

inline std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class AccessLogE2eTest : public XdsEnvoyTest {
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

}  // namespace kuma::test
