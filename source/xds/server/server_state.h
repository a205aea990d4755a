#pragma once

// File: server_state.h (internal to the ADS server)
// What every stream shares: options, hooks, the snapshot cache, the backoff timer, the registry
// of active node ids (one stream per node) and of live streams (for shutdown), counters.

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "grpcpp/support/status.h"
#include "source/xds/cache/snapshot_cache.h"
#include "source/xds/server/ads_server.h"
#include "source/xds/server/stream_callbacks.h"
#include "source/xds/server/timer_queue.h"

namespace kuma::xds::server::internal {

/** The part of a stream the server needs to end it. */
class StreamControl {
 public:
  virtual ~StreamControl() = default;
  /** Ends the stream with status once no write is in flight; idempotent, non-blocking. */
  virtual void requestFinish(grpc::Status status) = 0;
};

struct ServerCounters {
  std::atomic<uint64_t> streamsActive{0};
  std::atomic<uint64_t> streamsOpened{0};
  std::atomic<uint64_t> streamsRejected{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> acks{0};
  std::atomic<uint64_t> nacks{0};
  std::atomic<uint64_t> staleRequests{0};
  std::atomic<uint64_t> responses{0};
};

struct ServerState {
  ServerState(cache::SnapshotCache& snapshotCache, AdsServerOptions serverOptions,
              StreamCallbacks* streamCallbacks)
      : cache(snapshotCache), options(std::move(serverOptions)), callbacks(streamCallbacks) {}

  /** @return false when the server is shutting down (the stream must end). */
  bool registerStream(int64_t streamId, std::weak_ptr<StreamControl> stream) {
    std::lock_guard<std::mutex> lock(mu);
    if (shuttingDown) {
      return false;
    }
    streams.emplace(streamId, std::move(stream));
    return true;
  }

  void unregisterStream(int64_t streamId) {
    std::lock_guard<std::mutex> lock(mu);
    streams.erase(streamId);
  }

  /** @return false if another stream serves nodeId. */
  bool claimNode(const std::string& nodeId, int64_t streamId) {
    std::lock_guard<std::mutex> lock(mu);
    return activeNodes.emplace(nodeId, streamId).second;
  }

  void releaseNode(const std::string& nodeId, int64_t streamId) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = activeNodes.find(nodeId);
    if (it != activeNodes.end() && it->second == streamId) {
      activeNodes.erase(it);
    }
  }

  cache::SnapshotCache& cache;
  const AdsServerOptions options;
  StreamCallbacks* const callbacks;
  TimerQueue timer;
  std::atomic<int64_t> nextStreamId{0};
  ServerCounters counters;

  std::mutex mu;
  bool shuttingDown = false;
  std::unordered_map<std::string, int64_t> activeNodes;
  std::unordered_map<int64_t, std::weak_ptr<StreamControl>> streams;
};

/** Ordered-ADS response order: clusters (and their endpoints) before listeners and routes. */
int typeOrder(const std::string& typeUrl);

/** Per-resource version used by delta xDS: the content hash as 16 hex digits. */
std::string resourceVersion(const Resource& resource);

/** absl and gRPC share canonical code numbers. */
grpc::Status toGrpcStatus(const absl::Status& status);

}  // namespace kuma::xds::server::internal
