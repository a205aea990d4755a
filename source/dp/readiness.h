#pragma once

// File: readiness.h
// kuma-dp's readiness endpoint (spec §7.4): `GET /ready` on 127.0.0.1:<KUMA_READINESS_PORT>
// (::1 when the Dataplane's address is IPv6). The CP routes the admin listener's `/ready` here.
//   200 "READY"        Envoy's admin /ready says LIVE
//   503 <Envoy state>  anything else (PRE_INITIALIZING, admin unreachable: "not ready")
//   503 "terminating"  once kuma-dp got SIGTERM
//   503 "not ready"    the DNS proxy has no config from Envoy yet (setDnsGate; Kuma 2.14 gives
//                      up waiting after 15 s and logs a warning)

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
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
  /**
   * Call before start(): /ready is also gated on `ready()` until it turns true or `timeout`
   * from now has passed (then a warning is logged once and the gate is bypassed).
   */
  void setDnsGate(std::function<bool()> ready, std::chrono::milliseconds timeout);
  /** From now on /ready answers 503 "terminating". */
  void setTerminating() { terminating_ = true; }

 private:
  EnvoyAdminAddress admin_;
  std::string bindAddress_;
  uint16_t port_;
  std::atomic<bool> terminating_{false};
  std::function<bool()> dnsReady_;
  std::chrono::steady_clock::time_point dnsDeadline_;
  std::atomic<bool> dnsBypassed_{false};
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
};

}  // namespace kuma::dp
