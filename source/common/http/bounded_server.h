#pragma once

// File: bounded_server.h
// cpp-httplib's server with a bounded request head. Debian's cpp-httplib 0.11 limits each header
// line to 8 KiB but not their number or their total, nor the time a client may take to send them:
// a client that streams header lines makes the server keep all of them (hundreds of MB), and one
// that trickles them holds a worker thread indefinitely. BoundedServer reads each connection
// through its own stream that allows at most `maxHeadBytes` of request line and headers, sent
// within `headTimeout`; past either, it answers 431 (or 408) with the configured body and closes
// the connection. Everything else is httplib's own request handling.
//
//   http::BoundedServer server({.maxHeadBytes = 64 * 1024});
//   server.setLimitAnswer([](int status, std::string_view reason) { return jsonError(...); });
//   server.Get(".*", handler);

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "httplib.h"

namespace kuma::http {

struct HeadLimits {
  /** Request line plus headers, CRLFs included. Envoy's default is 60 KiB, Go's 1 MiB. */
  size_t maxHeadBytes = 64 * 1024;
  /** From the first byte of a request until its blank line (Go's ReadHeaderTimeout). */
  std::chrono::milliseconds headTimeout = std::chrono::seconds(10);
};

/** The body of a limit answer: content type and text. */
struct LimitAnswer {
  std::string contentType = "text/plain";
  std::string body;
};

class BoundedServer : public httplib::Server {
 public:
  explicit BoundedServer(HeadLimits limits = {});

  /** Renders the answer to a request that broke a limit (status 431 or 408, and the reason). */
  void setLimitAnswer(std::function<LimitAnswer(int status, std::string_view reason)> render);

  const HeadLimits& limits() const { return limits_; }

 private:
  // httplib::Server: the per-connection loop (keep-alive), reading through HeadBoundedStream.
  bool process_and_close_socket(socket_t sock) override;

  const HeadLimits limits_;
  std::function<LimitAnswer(int, std::string_view)> render_;
};

}  // namespace kuma::http
