#pragma once

// File: readiness.h
// kuma-dp's readiness endpoint (spec §7.4): `GET /ready` on 127.0.0.1:<KUMA_READINESS_PORT>
// (::1 when the Dataplane's address is IPv6). The CP routes the admin listener's `/ready` here.
//   200 "READY"        Envoy's admin /ready says LIVE
//   503 <Envoy state>  anything else (PRE_INITIALIZING, admin unreachable: "not ready")
//   503 "terminating"  once kuma-dp got SIGTERM

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "source/dp/envoy_admin.h"

namespace httplib {
class Server;
}

namespace kuma::dp {

class ReadinessReporter {
 public:
  ReadinessReporter(EnvoyAdminAddress admin, std::string bindAddress, uint16_t port);
  ~ReadinessReporter();

  /** Binds and serves on two fixed threads. Error when the port is taken. */
  absl::Status start();
  void stop();
  /** From now on /ready answers 503 "terminating". */
  void setTerminating() { terminating_ = true; }

 private:
  EnvoyAdminAddress admin_;
  std::string bindAddress_;
  uint16_t port_;
  std::atomic<bool> terminating_{false};
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace kuma::dp
