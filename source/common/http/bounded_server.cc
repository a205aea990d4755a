#include "source/common/http/bounded_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/strings/str_cat.h"

namespace kuma::http {
namespace {

using Clock = std::chrono::steady_clock;

int millis(time_t sec, time_t usec) {
  return static_cast<int>(sec * 1000 + usec / 1000);
}

bool waitFor(int fd, short events, int timeoutMs) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeoutMs);
  } while (r < 0 && errno == EINTR);
  return r > 0 && (p.revents & (events | POLLHUP | POLLERR)) != 0;
}

void addressOf(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  const int r = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                     : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (r != 0) {
    return;
  }
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    port = ntohs(in->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text));
    port = ntohs(in6->sin6_port);
  }
  ip = text;
}

// A socket stream that watches the request head: it counts bytes until the blank line that ends
// the headers and fails the read (after answering) when the head is too large or too slow.
class HeadBoundedStream : public httplib::Stream {
 public:
  HeadBoundedStream(int fd, int readTimeoutMs, int writeTimeoutMs, const HeadLimits& limits,
                    const std::function<LimitAnswer(int, std::string_view)>& render)
      : fd_(fd),
        readTimeoutMs_(readTimeoutMs),
        writeTimeoutMs_(writeTimeoutMs),
        limits_(limits),
        render_(render) {}

  /** A new request starts: its head is counted from here. */
  void startRequest() {
    inHead_ = true;
    headBytes_ = 0;
    matched_ = 0;
    started_ = Clock::now();
  }
  bool tripped() const { return tripped_; }

  bool is_readable() const override { return !tripped_ && waitFor(fd_, POLLIN, readTimeout()); }
  bool is_writable() const override { return !tripped_ && waitFor(fd_, POLLOUT, writeTimeoutMs_); }

  ssize_t read(char* ptr, size_t size) override {
    if (tripped_ || !waitFor(fd_, POLLIN, readTimeout())) {
      // A head that started but did not end in time; a plain read timeout is httplib's case.
      if (!tripped_ && inHead_ && headBytes_ > 0 && headExpired()) {
        trip(408, "the request head was not sent within the time allowed");
      }
      return -1;
    }
    if (inHead_) {
      // Never read past what the head may still take, so the limit is exact.
      size = std::min(size, limits_.maxHeadBytes + 1 - headBytes_);
    }
    ssize_t n;
    do {
      n = ::recv(fd_, ptr, size, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0 && inHead_) {
      scanHead(ptr, static_cast<size_t>(n));
    }
    return tripped_ ? -1 : n;
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (tripped_ || !waitFor(fd_, POLLOUT, writeTimeoutMs_)) {
      return -1;
    }
    ssize_t n;
    do {
      n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    addressOf(fd_, true, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    addressOf(fd_, false, ip, port);
  }
  socket_t socket() const override { return fd_; }

 private:
  bool headExpired() const { return Clock::now() - started_ >= limits_.headTimeout; }

  int readTimeout() const {
    if (!inHead_ || headBytes_ == 0) {
      return readTimeoutMs_;
    }
    // Rounded up, so that a wait cut short by the deadline ends past it.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(limits_.headTimeout -
                                                                   (Clock::now() - started_));
    return static_cast<int>(std::clamp<int64_t>(left.count() + 1, 0, readTimeoutMs_));
  }

  void scanHead(const char* p, size_t n) {
    static constexpr char kEnd[] = "\r\n\r\n";
    for (size_t i = 0; i < n; ++i) {
      matched_ = p[i] == kEnd[matched_] ? matched_ + 1 : (p[i] == '\r' ? 1 : 0);
      if (matched_ == 4) {
        inHead_ = false;  // the rest is body: httplib bounds it (payload_max_length)
        return;
      }
      if (++headBytes_ > limits_.maxHeadBytes) {
        trip(431, absl::StrCat("request line and headers exceed the maximum of ",
                               limits_.maxHeadBytes, " bytes"));
        return;
      }
    }
    if (headExpired()) {
      trip(408, "the request head was not sent within the time allowed");
    }
  }

  // Answers once and stops the stream: httplib's own error answer is then not written.
  void trip(int status, std::string_view reason) {
    const LimitAnswer a = render_ ? render_(status, reason) : LimitAnswer{"text/plain", ""};
    const char* text = status == 431 ? "Request Header Fields Too Large" : "Request Timeout";
    const std::string answer = absl::StrCat(
        "HTTP/1.1 ", status, " ", text, "\r\nContent-Type: ", a.contentType,
        "\r\nContent-Length: ", a.body.size(), "\r\nConnection: close\r\n\r\n", a.body);
    (void)write(answer.data(), answer.size());
    tripped_ = true;
  }

  const int fd_;
  const int readTimeoutMs_;
  const int writeTimeoutMs_;
  const HeadLimits& limits_;
  const std::function<LimitAnswer(int, std::string_view)>& render_;
  bool inHead_ = true;
  size_t headBytes_ = 0;
  size_t matched_ = 0;  // how much of "\r\n\r\n" the last bytes matched
  Clock::time_point started_ = Clock::now();
  bool tripped_ = false;
};

}  // namespace

BoundedServer::BoundedServer(HeadLimits limits) : limits_(limits) {}

void BoundedServer::setLimitAnswer(
    std::function<LimitAnswer(int status, std::string_view reason)> render) {
  render_ = std::move(render);
}

bool BoundedServer::process_and_close_socket(socket_t sock) {
  // httplib's own timeouts and keep-alive policy (its protected settings).
  HeadBoundedStream stream(sock, millis(read_timeout_sec_, read_timeout_usec_),
                           millis(write_timeout_sec_, write_timeout_usec_), limits_, render_);
  bool ok = false;
  for (size_t served = 0; served < keep_alive_max_count_ && is_running(); ++served) {
    // Keep-alive: wait for the next request.
    if (!waitFor(sock, POLLIN, millis(keep_alive_timeout_sec_, 0))) {
      break;
    }
    stream.startRequest();
    bool closed = false;
    // httplib calls this only for a request whose line and headers parsed; after one that did
    // not (answered 400 or 414) the rest of the connection cannot be framed: close it.
    bool parsed = false;
    ok = process_request(stream, served + 1 == keep_alive_max_count_, closed,
                         [&parsed](httplib::Request&) { parsed = true; });
    if (!ok || closed || !parsed || stream.tripped()) {
      break;
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace kuma::http
