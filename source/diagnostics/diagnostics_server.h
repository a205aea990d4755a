#pragma once

// File: diagnostics_server.h
// The diagnostics port (diagnostics.serverPort, 5680; spec §13.3), no authentication, like Kuma:
//   /ready           200 once every readiness-reporting component is ready (503 before), empty;
//                    503 with a text body when `unreadyReason` names a problem (store down)
//   /healthy         always 200
//   /metrics         Prometheus text exposition (options.metrics, see source/core/metrics)
//   /logging         GET / PUT {component, level} / DELETE: runtime log levels (§13.4)
//   /logging/{name}  DELETE one override
//   /debug/pprof/    only with debugEndpoints: index, `profile?seconds=N` (CPU, gperftools format),
//                    `heap` (tcmalloc heap sample); 501 when the build has no profiler
// anything else `404 page not found`. Served over TLS when `tlsEnabled`.
// Routes live in DiagnosticsServer::route (one `if` per path) so that new ones are one line.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "kuma/runtime/component.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace kuma::http {
class HttpListener;
}

namespace kuma::diagnostics {

struct DiagnosticsOptions {
  std::string interface = "0.0.0.0";
  uint16_t port = 5680;  // 0: any free port (tests)
  /** Readiness of the whole control plane; any thread. */
  std::function<bool()> ready;
  /**
   * Why the control plane cannot serve although its components started (e.g. the PostgreSQL store
   * is unreachable); empty when it can. Non-empty → /ready answers 503 with this text, so an
   * operator sees the cause. Unset: not consulted. Any thread; must not block.
   */
  std::function<std::string()> unreadyReason;
  /** Body of /metrics (Prometheus text format); unset: 404. Any thread. */
  std::function<std::string()> metrics;
  /** diagnostics.debugEndpoints: mounts /debug/pprof/ (profiles can expose sensitive data). */
  bool debugEndpoints = false;
  /** diagnostics.tlsEnabled: HTTPS with the PEM files below (already resolved to general.* by the
   * config loader when empty). */
  bool tlsEnabled = false;
  std::string tlsCertFile;
  std::string tlsKeyFile;
  /** TLSv1_0 … TLSv1_3; empty max = no upper bound. */
  std::string tlsMinVersion = "TLSv1_2";
  std::string tlsMaxVersion;
};

class DiagnosticsServer : public runtime::Component {
 public:
  explicit DiagnosticsServer(DiagnosticsOptions options);
  ~DiagnosticsServer() override;

  /** The bound port (after start()). */
  uint16_t port() const;

  // kuma::runtime::Component
  std::string name() const override { return "diagnostics"; }
  /** InvalidArgument for unusable TLS settings/files; Unavailable when the port cannot be bound. */
  absl::Status start() override;
  void stop() override;

 private:
  void route(const httplib::Request& req, httplib::Response& res);
  void handleLogging(const httplib::Request& req, httplib::Response& res);
  void handleLoggingComponent(const std::string& component, const httplib::Request& req,
                              httplib::Response& res);
  void handlePprof(const std::string& name, const httplib::Request& req, httplib::Response& res);
  void handleCpuProfile(const httplib::Request& req, httplib::Response& res);

  const DiagnosticsOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::unique_ptr<http::HttpListener> listener_;
  /** One CPU profile at a time (gperftools has one profiler per process). */
  std::atomic<bool> profiling_{false};
  /** Wakes a running CPU profile on stop() so that shutdown does not wait N seconds. */
  absl::Notification stopping_;
};

}  // namespace kuma::diagnostics
