#include "source/dp/access_log_streamer.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace kuma::dp {
namespace {

using namespace std::chrono_literals;

constexpr int kConnectTimeoutMs = 5000;  // Kuma's defaultConnectTimeout
constexpr int kSendTimeoutSeconds = 5;
constexpr size_t kReadChunk = 64 * 1024;

// `host:port` (IPv6 hosts in brackets) → host, port; false when malformed.
bool splitHostPort(const std::string& address, std::string& host, std::string& port) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 >= address.size()) {
    return false;
  }
  host = address.substr(0, colon);
  port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return true;
}

// A TCP connection to `address` within kConnectTimeoutMs; -1 and `error` on failure.
int connectTo(const std::string& address, std::string& error) {
  std::string host, port;
  if (!splitHostPort(address, host, port)) {
    error = "address must be host:port";
    return -1;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), port.c_str(), &hints, &result);
      rc != 0) {
    error = gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = std::strerror(errno);
      continue;
    }
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const int ready = poll(&p, 1, kConnectTimeoutMs);
      if (ready == 1) {
        int soError = 0;
        socklen_t len = sizeof(soError);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len);
        rc = soError == 0 ? 0 : -1;
        errno = soError;
      } else {
        rc = -1;
        if (ready == 0) {
          errno = ETIMEDOUT;
        }
      }
    }
    if (rc == 0) {
      // Blocking from now on, each send bounded in time.
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      timeval tv{kSendTimeoutSeconds, 0};
      setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      break;
    }
    error = std::strerror(errno);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(result);
  return fd;
}

bool sendAll(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

AccessLogStreamer::AccessLogStreamer(std::string fifoPath, std::shared_ptr<spdlog::logger> log)
    : path_(std::move(fifoPath)), log_(std::move(log)) {}

AccessLogStreamer::~AccessLogStreamer() {
  stop();
}

bool AccessLogStreamer::parseLine(std::string_view line, std::string& address,
                                  std::string& payload) {
  nlohmann::json doc = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object()) {
    const auto a = doc.find("address");
    if (a == doc.end() || a->is_string() || a->is_null()) {
      address = a != doc.end() && a->is_string() ? a->get<std::string>() : std::string();
      const auto m = doc.find("message");
      if (m != doc.end() && m->is_string()) {
        payload = m->get<std::string>();
      } else {
        payload = (m != doc.end() ? m->dump() : std::string("null")) + "\n";
      }
      return true;
    }
  }
  // Legacy TrafficLog lines: `address;message`.
  const size_t semi = line.find(';');
  if (semi == std::string_view::npos) {
    return false;
  }
  address = std::string(line.substr(0, semi));
  payload = std::string(line.substr(semi + 1)) + "\n";
  return true;
}

absl::Status AccessLogStreamer::start() {
  if (unlink(path_.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(
        absl::StrCat("error removing existing fifo ", path_, ": ", std::strerror(errno)));
  }
  const mode_t old = umask(0);
  const int rc = mkfifo(path_.c_str(), 0666);
  umask(old);
  if (rc != 0) {
    return absl::InternalError(
        absl::StrCat("error creating fifo ", path_, ": ", std::strerror(errno)));
  }
  // Read-write: the FIFO never reports EOF when Envoy closes or reopens its end.
  fifo_ = open(path_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fifo_ < 0) {
    const std::string error = std::strerror(errno);
    unlink(path_.c_str());
    return absl::InternalError(absl::StrCat("error opening fifo ", path_, ": ", error));
  }
  if (pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    close(fifo_);
    fifo_ = -1;
    unlink(path_.c_str());
    return absl::InternalError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  log_->info("access log streamer listening on {}", path_);
  thread_ = std::thread([this] { run(); });
  return absl::OkStatus();
}

void AccessLogStreamer::stop() {
  if (thread_.joinable()) {
    const char c = 'x';
    [[maybe_unused]] ssize_t n = write(wake_[1], &c, 1);
    thread_.join();
  }
  for (int* fd : {&fifo_, &wake_[0], &wake_[1]}) {
    if (*fd >= 0) {
      close(*fd);
      *fd = -1;
      if (fd == &fifo_) {
        unlink(path_.c_str());
      }
    }
  }
}

void AccessLogStreamer::run() {
  // Open connections, most recently used first.
  std::list<std::pair<std::string, int>> destinations;
  auto closeAll = [&] {
    for (auto& [address, fd] : destinations) {
      close(fd);
    }
    destinations.clear();
  };
  auto forward = [&](std::string_view line) {
    std::string address, payload;
    if (!parseLine(line, address, payload)) {
      log_->error("log format invalid: expected 2 components separated by ';' or a JSON object");
      ++dropped_;
      return;
    }
    auto it = destinations.begin();
    while (it != destinations.end() && it->first != address) {
      ++it;
    }
    if (it == destinations.end()) {
      std::string error;
      const int fd = connectTo(address, error);
      if (fd < 0) {
        log_->error("could not connect to TCP log destination {}: {}. Dropping the log", address,
                    error);
        ++dropped_;
        return;
      }
      log_->info("connected to TCP log destination {}", address);
      if (destinations.size() >= kMaxDestinations) {
        close(destinations.back().second);
        destinations.pop_back();
      }
      destinations.emplace_front(address, fd);
    } else if (it != destinations.begin()) {
      destinations.splice(destinations.begin(), destinations, it);
    }
    if (!sendAll(destinations.front().second, payload)) {
      log_->error("could not send the log to TCP log destination {}: {}. Dropping the log", address,
                  std::strerror(errno));
      close(destinations.front().second);
      destinations.pop_front();
      ++dropped_;
      return;
    }
    ++forwarded_;
  };

  std::string buffer;
  bool discarding = false;  // inside an over-long line, until its '\n'
  std::string chunk(kReadChunk, '\0');
  while (true) {
    pollfd fds[2] = {{fifo_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      log_->error("access log streamer: poll: {}", std::strerror(errno));
      break;
    }
    if (fds[1].revents != 0) {
      break;
    }
    if ((fds[0].revents & POLLIN) == 0) {
      continue;
    }
    const ssize_t n = read(fifo_, chunk.data(), chunk.size());
    if (n <= 0) {
      continue;
    }
    std::string_view data(chunk.data(), static_cast<size_t>(n));
    while (!data.empty()) {
      const size_t nl = data.find('\n');
      if (nl == std::string_view::npos) {
        if (!discarding) {
          buffer.append(data);
          if (buffer.size() > kMaxLineBytes) {
            log_->error("access log line longer than {} bytes: dropped", kMaxLineBytes);
            ++dropped_;
            buffer.clear();
            discarding = true;
          }
        }
        break;
      }
      if (discarding) {
        discarding = false;
      } else {
        buffer.append(data.substr(0, nl));
        if (buffer.size() > kMaxLineBytes) {
          ++dropped_;
        } else if (!buffer.empty()) {
          forward(buffer);
        }
      }
      buffer.clear();
      data.remove_prefix(nl + 1);
    }
  }
  closeAll();
}

}  // namespace kuma::dp
