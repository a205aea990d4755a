#pragma once

// File: ads_server.h
// Envoy's Aggregated Discovery Service, state-of-the-world and delta, on the gRPC callback API:
// no thread per stream. Each stream serves the snapshot the SnapshotCache holds for its node id.
// See docs/adr/0005-ads-server.md for the threading model and the protocol rules.
//
//   SnapshotCache cache;
//   AdsServer ads(cache, {.controlPlaneId = "cp-1"}, &callbacks);
//   grpc::ServerBuilder builder;
//   builder.RegisterService(&ads);
//   ... server->Shutdown() after ads.shutdown().

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "source/xds/cache/snapshot_cache.h"
#include "source/xds/server/stream_callbacks.h"

namespace kuma::xds::server {

struct AdsServerOptions {
  /** Sent as control_plane.identifier in every response (Kuma: the CP instance id). */
  std::string controlPlaneId;
  /** Delay of a stream's next response after it NACKed (Kuma xdsServer.nackBackoff, 5s). */
  std::chrono::milliseconds nackBackoff{5000};
  /**
   * Optional: the serialized size of every response about to be written (metrics). Unset, the
   * size is not computed. Runs on the writing thread with no lock held; must be thread-safe.
   */
  std::function<void(const std::string& typeUrl, size_t bytes)> onResponseBytes;
};

/** Monotonic counters since construction (streamsActive is a gauge). */
struct AdsServerStats {
  uint64_t streamsActive = 0;
  uint64_t streamsOpened = 0;    // onStreamOpen succeeded
  uint64_t streamsRejected = 0;  // no node id, duplicate node, hook error, shutting down
  uint64_t requests = 0;         // every request read, stale ones included
  uint64_t acks = 0;
  uint64_t nacks = 0;
  uint64_t staleRequests = 0;
  uint64_t responses = 0;
};

namespace internal {
struct ServerState;
}

/**
 * The ADS gRPC service. Register it on a grpc::ServerBuilder. Thread-safe.
 * Enforces one active stream per node id: a second stream for a node that is streaming is ended
 * with "there is already an active stream from this node, try again later".
 */
class AdsServer
    : public envoy::service::discovery::v3::AggregatedDiscoveryService::CallbackService {
 public:
  /**
   * @param cache must outlive the gRPC server this service is registered on.
   * @param callbacks optional (may be null); must outlive the gRPC server.
   */
  AdsServer(cache::SnapshotCache& cache, AdsServerOptions options,
            StreamCallbacks* callbacks = nullptr);
  ~AdsServer() override;

  /**
   * Ends every stream with UNAVAILABLE and rejects new ones. Returns without waiting for the
   * streams to be done; call grpc::Server::Shutdown() afterwards.
   */
  void shutdown();

  AdsServerStats stats() const;

  // AggregatedDiscoveryService::CallbackService
  grpc::ServerBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                          envoy::service::discovery::v3::DiscoveryResponse>*
  StreamAggregatedResources(grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                          envoy::service::discovery::v3::DeltaDiscoveryResponse>*
  DeltaAggregatedResources(grpc::CallbackServerContext* context) override;

 private:
  std::shared_ptr<internal::ServerState> state_;
};

}  // namespace kuma::xds::server
