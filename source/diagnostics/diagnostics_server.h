#pragma once

// File: diagnostics_server.h
// The diagnostics port (diagnostics.serverPort, 5680; spec §13.3): `/ready` answers 200 once every
// readiness-reporting component is ready (503 before, empty body), `/healthy` always 200, anything
// else `404 page not found`. No authentication, like Kuma.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "kuma/runtime/component.h"

namespace httplib {
class Server;
}

namespace kuma::http {
class HttpListener;
}

namespace kuma::diagnostics {

struct DiagnosticsOptions {
  std::string interface = "0.0.0.0";
  uint16_t port = 5680;  // 0: any free port (tests)
  /** Readiness of the whole control plane; any thread. */
  std::function<bool()> ready;
};

class DiagnosticsServer : public runtime::Component {
 public:
  explicit DiagnosticsServer(DiagnosticsOptions options);
  ~DiagnosticsServer() override;

  uint16_t port() const;

  // kuma::runtime::Component
  std::string name() const override { return "diagnostics"; }
  absl::Status start() override;
  void stop() override;

 private:
  const DiagnosticsOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<http::HttpListener> listener_;
};

}  // namespace kuma::diagnostics
