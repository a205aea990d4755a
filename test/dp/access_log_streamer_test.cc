#include "source/dp/access_log_streamer.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "spdlog/sinks/null_sink.h"
#include "spdlog/spdlog.h"

namespace kuma::dp {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<spdlog::logger> quietLogger() {
  return std::make_shared<spdlog::logger>("al-test",
                                          std::make_shared<spdlog::sinks::null_sink_mt>());
}

TEST(AccessLogStreamerTest, ParsesKumaLineForms) {
  std::string address, payload;
  ASSERT_TRUE(AccessLogStreamer::parseLine(R"({"address":"1.2.3.4:5","message":"hi there\n"})",
                                           address, payload));
  EXPECT_EQ(address, "1.2.3.4:5");
  EXPECT_EQ(payload, "hi there\n");
  ASSERT_TRUE(AccessLogStreamer::parseLine(R"({"message":{"b":"x","a":200},"address":"h:1"})",
                                           address, payload));
  EXPECT_EQ(address, "h:1");
  EXPECT_EQ(payload, "{\"a\":200,\"b\":\"x\"}\n");
  // Legacy TrafficLog: address;message (the message may hold ';').
  ASSERT_TRUE(AccessLogStreamer::parseLine("10.0.0.1:9000;a;b", address, payload));
  EXPECT_EQ(address, "10.0.0.1:9000");
  EXPECT_EQ(payload, "a;b\n");
  EXPECT_FALSE(AccessLogStreamer::parseLine("no separator", address, payload));
  EXPECT_FALSE(AccessLogStreamer::parseLine("[1,2]", address, payload));
}

// A one-connection-at-a-time TCP server on loopback collecting what it receives.
class Collector {
 public:
  Collector() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(fd_, 4), 0);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Collector() { close(fd_); }
  uint16_t port() const { return port_; }
  // Accepts one connection and reads until `n` bytes came or 5 s passed.
  std::string read(size_t n) {
    const int c = accept(fd_, nullptr, nullptr);
    timeval tv{5, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    std::string out;
    char buf[4096];
    while (out.size() < n) {
      const ssize_t got = ::read(c, buf, sizeof(buf));
      if (got <= 0) {
        break;
      }
      out.append(buf, static_cast<size_t>(got));
    }
    close(c);
    return out;
  }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

TEST(AccessLogStreamerTest, ForwardsFifoLinesAndDropsUnreachableOrOverlong) {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("al-streamer-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string fifo = dir + "/kuma-al-web-default.sock";
  {
    std::ofstream stale(fifo);  // a stale regular file is replaced
  }
  AccessLogStreamer streamer(fifo, quietLogger());
  ASSERT_TRUE(streamer.start().ok());
  struct stat st {};
  ASSERT_EQ(stat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0666u);

  Collector collector;
  const std::string to = "127.0.0.1:" + std::to_string(collector.port());
  // An unreachable destination (a closed port): dropped, the streamer goes on.
  const std::string lines = R"({"address":"127.0.0.1:1","message":"lost\n"})"
                            "\n" +
                            std::string(AccessLogStreamer::kMaxLineBytes + 10, 'x') + "\n" +
                            R"({"address":")" + to + R"(","message":"first\n"})" + "\n" + to +
                            ";second\n";
  const int w = open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(w, 0);
  std::thread writer([&] {
    size_t off = 0;
    while (off < lines.size()) {
      const ssize_t n = write(w, lines.data() + off, lines.size() - off);
      if (n <= 0) {
        break;
      }
      off += static_cast<size_t>(n);
    }
  });
  EXPECT_EQ(collector.read(13), "first\nsecond\n");
  writer.join();
  close(w);
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (streamer.forwarded() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(streamer.forwarded(), 2u);
  EXPECT_EQ(streamer.dropped(), 2u);  // the unreachable one and the over-long one
  streamer.stop();
  EXPECT_FALSE(std::filesystem::exists(fifo));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kuma::dp
