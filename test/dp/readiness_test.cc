#include "source/dp/readiness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"

namespace kuma::dp {
namespace {

using namespace std::chrono_literals;

// Stands in for Envoy's admin /ready.
class FakeAdmin {
 public:
  FakeAdmin() {
    server_.Get("/ready", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mu_);
      res.status = state_ == "LIVE" ? 200 : 503;
      res.set_content(state_ + "\n", "text/plain");
    });
    port_ = static_cast<uint16_t>(server_.bind_to_any_port("127.0.0.1"));
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) {
      std::this_thread::sleep_for(1ms);
    }
  }
  ~FakeAdmin() { stop(); }
  void stop() {
    server_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  void setState(const std::string& s) {
    std::lock_guard lock(mu_);
    state_ = s;
  }
  EnvoyAdminAddress address() const { return {"", "127.0.0.1", port_}; }

 private:
  httplib::Server server_;
  std::mutex mu_;
  std::string state_ = "PRE_INITIALIZING";
  uint16_t port_ = 0;
  std::thread thread_;
};

// A loopback port that was free a moment ago (bound, then closed).
uint16_t unusedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(addr.sin_port);
}

std::pair<int, std::string> getReady(uint16_t port, const std::string& path = "/ready") {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(5s);
  auto res = client.Get(path);
  return res ? std::make_pair(res->status, res->body) : std::make_pair(0, std::string());
}

TEST(ReadinessTest, FollowsEnvoyAndTermination) {
  FakeAdmin admin;
  const uint16_t port = unusedPort();
  ReadinessReporter reporter(admin.address(), "127.0.0.1", port);
  ASSERT_TRUE(reporter.start().ok());
  EXPECT_EQ(getReady(port), std::make_pair(503, std::string("PRE_INITIALIZING")));
  admin.setState("LIVE");
  EXPECT_EQ(getReady(port), std::make_pair(200, std::string("READY")));
  EXPECT_EQ(getReady(port, "/other").first, 404) << "only /ready, as in Kuma";
  reporter.setTerminating();
  EXPECT_EQ(getReady(port), std::make_pair(503, std::string("terminating")));
  reporter.stop();
  EXPECT_EQ(getReady(port).first, 0);
}

TEST(ReadinessTest, AdminUnreachableIsNotReady) {
  FakeAdmin admin;
  admin.setState("LIVE");
  const EnvoyAdminAddress address = admin.address();
  admin.stop();
  const uint16_t port = unusedPort();
  ReadinessReporter reporter(address, "127.0.0.1", port);
  ASSERT_TRUE(reporter.start().ok());
  EXPECT_EQ(getReady(port), std::make_pair(503, std::string("not ready")));
}

TEST(ReadinessTest, PortInUseIsAClearError) {
  FakeAdmin admin;
  const uint16_t port = unusedPort();
  ReadinessReporter first(admin.address(), "127.0.0.1", port);
  ASSERT_TRUE(first.start().ok());
  ReadinessReporter second(admin.address(), "127.0.0.1", port);
  const absl::Status s = second.start();
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("KUMA_READINESS_PORT"));
}

}  // namespace
}  // namespace kuma::dp
