#pragma once

// File: hds_server.h
// Envoy's Health Discovery Service on the DP server, as Kuma 2.14 serves it (pkg/hds,
// dpServer.hds.*): every Envoy whose bootstrap carries `hdsConfig` opens a StreamHealthCheck
// stream; kuma-cp authenticates its node as the ADS server does, sends it the checks of its
// Dataplane (health_checks.h) at once and again whenever they change (looked at every
// `refreshInterval`), and turns the EndpointHealthResponse reports Envoy sends every `interval`
// into the Dataplane's inbound states (Ready / NotReady), written through the ResourceManager
// only when they change. Endpoints of NotReady inbounds are left out of other proxies' configs.
//
// Threads: gRPC callback reactors (no thread per stream) for the stream I/O; one worker thread
// (a TimerQueue) for everything that touches the store: authentication, refreshes and reports,
// in order per stream.
//
//   HdsServer hds(manager, registry, options);
//   dpServer.addGrpcService(&hds);
//   ... hds.shutdown() before the gRPC server shuts down.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "envoy/service/health/v3/hds.grpc.pb.h"
#include "source/core/manager/resource_manager.h"
#include "source/hds/health_checks.h"

namespace kuma::hds {

struct HdsServerOptions {
  /** dpServer.hds.refreshInterval: how often a stream's checks are recomputed. */
  std::chrono::nanoseconds refreshInterval = std::chrono::seconds(10);
  /** The checks' settings (dpServer.hds.interval and checkDefaults). */
  SpecifierOptions specifier;
  /**
   * Authenticates the proxy `mesh`.`name` with its stream's gRPC metadata against its stored
   * Dataplane, once it is stored (until then the stream waits, up to `dataplaneWait`, as
   * Kuma's DPNotFoundRetry); an error ends the stream with that status. Unset: every proxy is
   * accepted.
   */
  std::function<absl::Status(const std::string& mesh, const std::string& name,
                             const std::multimap<std::string, std::string>& metadata)>
      authenticate;
  /** How long a stream waits for its Dataplane to be stored before it is ended. */
  std::chrono::nanoseconds dataplaneWait = std::chrono::seconds(60);
};

class HdsServer : public envoy::service::health::v3::HealthDiscoveryService::CallbackService {
 public:
  HdsServer(manager::ResourceManager& manager, const model::TypeRegistry& registry,
            HdsServerOptions options);
  ~HdsServer() override;

  /** Ends every stream with UNAVAILABLE and refuses new ones. */
  void shutdown();

  // HealthDiscoveryService::CallbackService
  grpc::ServerBidiReactor<envoy::service::health::v3::HealthCheckRequestOrEndpointHealthResponse,
                          envoy::service::health::v3::HealthCheckSpecifier>*
  StreamHealthCheck(grpc::CallbackServerContext* context) override;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace kuma::hds
