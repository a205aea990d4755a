#pragma once

// File: http_listener.h
// Runs a cpp-httplib server on its own accept thread (handlers run on httplib's bounded pool):
// binds exclusively (no SO_REUSEPORT, so a second control plane fails instead of sharing the
// port), listens, and stops/joins on demand. Shared by the API and diagnostics servers.

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"

namespace httplib {
class Server;
}

namespace kuma::http {

class HttpListener {
 public:
  /** @param server configured server (routes, limits); must outlive this listener. */
  HttpListener(httplib::Server& server, std::string component);
  ~HttpListener();

  /**
   * Binds `interface:port` (0: any free port; an empty interface: every interface, IPv4 and IPv6)
   * and starts serving. Unavailable if it cannot bind.
   */
  absl::Status start(const std::string& interface, uint16_t port);
  /** Stops serving and joins the accept thread. Idempotent. */
  void stop();

  uint16_t port() const { return port_; }
  bool running() const;

 private:
  httplib::Server& server_;
  const std::string component_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace kuma::http
