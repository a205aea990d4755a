#include "source/common/http/http_listener.h"

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "source/common/logging.h"

namespace kuma::http {

HttpListener::HttpListener(httplib::Server& server, std::string component)
    : server_(server), component_(std::move(component)) {}

HttpListener::~HttpListener() {
  stop();
}

absl::Status HttpListener::start(const std::string& interface, uint16_t port) {
  // httplib's default options add SO_REUSEPORT; keep only SO_REUSEADDR.
  server_.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
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
