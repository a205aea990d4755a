#include "source/common/http/http_listener.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "source/common/logging.h"

namespace kuma::http {

HttpListener::HttpListener(httplib::Server& server, std::string component)
    : server_(server), component_(std::move(component)) {}

HttpListener::~HttpListener() {
  stop();
}

absl::Status HttpListener::start(const std::string& configured, uint16_t port) {
  // An empty address means every interface, as Go's ":port" (Kuma's admission server default):
  // "::" listens dual-stack. httplib would resolve "" to the loopback [::1] only.
  const std::string interface = configured.empty() ? "::" : configured;
  // httplib's default options add SO_REUSEPORT; keep only SO_REUSEADDR. The callback only runs
  // on the listening socket, so it also tells us that socket.
  auto listenFd = std::make_shared<socket_t>(INVALID_SOCKET);
  server_.set_socket_options([listenFd](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    *listenFd = sock;
  });
  // Small JSON responses must not wait for Nagle + delayed ACKs (~40 ms per keep-alive request).
  server_.set_tcp_nodelay(true);
  int bound = port;
  if (port == 0) {
    bound = server_.bind_to_any_port(interface);
    if (bound < 0) {
      return absl::UnavailableError(absl::StrCat(component_, ": cannot bind to any port"));
    }
  } else if (!server_.bind_to_port(interface, port)) {
    return absl::UnavailableError(
        absl::StrCat(component_, ": cannot bind to ", interface, ":", port));
  }
  // httplib listens with a backlog of 5, compiled into Debian's library: a burst of clients (200
  // REST writers at once) overflows it and the kernel drops connections. Calling listen() again
  // on the bound socket raises the backlog.
  if (*listenFd != INVALID_SOCKET && ::listen(*listenFd, SOMAXCONN) != 0) {
    logging::logger(component_)
        ->warn("could not raise the listen backlog: {}", std::strerror(errno));
  }
  port_ = static_cast<uint16_t>(bound);
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  logging::logger(component_)->info("listening on {}:{}", interface, port_);
  return absl::OkStatus();
}

void HttpListener::stop() {
  if (thread_.joinable()) {
    server_.stop();
    thread_.join();
  }
}

bool HttpListener::running() const {
  return thread_.joinable() && server_.is_running();
}

}  // namespace kuma::http
