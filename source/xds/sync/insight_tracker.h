#pragma once

// File: insight_tracker.h
// DataplaneInsight subscriptions (spec §6.4): what the control plane observed about each ADS
// stream of a proxy — when it connected and disconnected, which CP instance served it, and how
// many responses of each xDS type were sent, ACKed and NACKed. GET .../dataplanes/{name}/_overview
// shows it; "Online" in kumactl means the last subscription has no disconnectTime.
//
// The hooks run on gRPC threads, so they only update in-memory counters and mark the stream
// dirty; one flusher thread writes the DataplaneInsight (owned by the Dataplane, so deleting the
// Dataplane deletes it): promptly on connect and disconnect, and otherwise at most once per
// `flushInterval` per stream while it keeps changing.
//
//   InsightTracker tracker(manager, registry, {.controlPlaneInstanceId = "cp-1"});
//   CompositeCallbacks callbacks({&dataplaneCallbacks, &tracker});
//   ... on shutdown, after the ADS streams are gone: tracker.stop();

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "api/mesh/v1alpha1/dataplane_insight.pb.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"
#include "source/xds/server/stream_callbacks.h"

namespace kuma::xds::sync {

/** A proxy's identity certificate as the `mTLS` block of its insight shows it (Kuma's
 * secrets.Info). */
struct IdentityCertInfo {
  absl::Time generation;  // when the control plane issued it
  absl::Time expiration;  // its notAfter
  std::string issuedBackend;
  std::vector<std::string> supportedBackends;
};

struct InsightTrackerOptions {
  /**
   * The current identity certificate of a proxy (mesh, name), or nullopt when it has none (mTLS
   * off, or not issued yet): the insight's `mTLS` block is then removed, as Kuma does. Unset:
   * the tracker leaves `mTLS` alone.
   */
  std::function<std::optional<IdentityCertInfo>(const std::string& mesh, const std::string& name)>
      identityCert;
  /** Written as subscriptions[].controlPlaneInstanceId (the CP's instance id). */
  std::string controlPlaneInstanceId;
  /** xdsServer.dataplaneStatusFlushInterval: minimum time between two writes of a stream. */
  std::chrono::nanoseconds flushInterval = std::chrono::seconds(10);
  /** metrics.dataplane.subscriptionLimit: subscriptions kept per insight (the newest ones). */
  int subscriptionLimit = 2;
  /** How long stop() may spend writing what is still pending (disconnects). */
  std::chrono::nanoseconds stopTimeout = std::chrono::seconds(3);
};

/**
 * Kuma's DeploymentVersionCompatible: a kuma-dp of the control plane's major version and at
 * most two minor versions away (a preview or unparsable version counts as compatible), shown as
 * `version.kumaDp.kumaCpCompatible` in the insight.
 */
bool kumaDpVersionCompatible(std::string_view cpVersion, std::string_view dpVersion);

/** What the tracker did so far (tests, diagnostics). */
struct InsightTrackerStats {
  uint64_t streams = 0;        // streams tracked now (open, or closed but not yet written)
  uint64_t writes = 0;         // insight writes that succeeded
  uint64_t writeErrors = 0;    // insight writes that failed (other than a missing Dataplane)
  uint64_t skippedWrites = 0;  // writes skipped because the Dataplane does not exist
};

/**
 * StreamCallbacks that maintain DataplaneInsight subscriptions. Never refuses a stream.
 * Thread-safe. The manager must outlive the tracker.
 */
class InsightTracker : public server::StreamCallbacks {
 public:
  /** Starts the flusher thread. */
  InsightTracker(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                 InsightTrackerOptions options);
  /** stop(). */
  ~InsightTracker() override;

  /**
   * Stops the flusher, then writes what is pending — streams still open are recorded as
   * disconnected now — spending at most `stopTimeout`. Idempotent; hooks called afterwards are
   * ignored.
   */
  void stop();

  /**
   * Writes every stream with unwritten changes now, ignoring the flush interval, on the calling
   * thread (serialised with the flusher). For tests and diagnostics.
   */
  void flush();

  InsightTrackerStats stats() const;

  // kuma::xds::server::StreamCallbacks
  absl::Status onStreamOpen(int64_t streamId, const envoy::config::core::v3::Node& node,
                            const server::StreamInfo& info) override;
  void onRequest(int64_t streamId, const std::string& typeUrl, bool isAck, bool isNack,
                 const std::string& errorDetail) override;
  void onResponse(int64_t streamId, const std::string& typeUrl, const std::string& version,
                  size_t resourceCount) override;
  void onStreamClosed(int64_t streamId, const std::string& nodeId) override;

 private:
  struct Stream {
    std::string mesh;
    std::string name;
    mesh::v1alpha1::DiscoverySubscription subscription;
    google::protobuf::Struct metadata;  // the node metadata (the insight's `metadata`)
    bool dirty = true;                  // changed since the last write
    bool urgent = true;    // connect/disconnect: write without waiting for the interval
    bool closed = false;   // onStreamClosed() seen; dropped once written
    int failedWrites = 0;  // consecutive failures (a closed stream is dropped after a few)
    std::chrono::steady_clock::time_point lastWrite{};
  };
  /** A copy of a stream's state taken for one write. */
  struct Pending {
    int64_t streamId = 0;
    std::string mesh;
    std::string name;
    mesh::v1alpha1::DiscoverySubscription subscription;
    google::protobuf::Struct metadata;
    bool closed = false;
  };

  void flushLoop();
  bool wakeUp() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopping_ || urgent_; }
  /** Takes the streams due for a write (all dirty ones with `force`) and clears their flags. */
  std::vector<Pending> collectLocked(bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  /** Writes `pending` (writeMu_ held) and records the outcome on the streams. */
  void writeAll(const std::vector<Pending>& pending,
                std::chrono::steady_clock::time_point deadline);
  /** Read-modify-write of the insight of one stream. NotFound: the Dataplane does not exist. */
  absl::Status write(const Pending& pending);
  std::chrono::nanoseconds nextWaitLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  manager::ResourceManager& manager_;
  const model::ResourceTypeDescriptor* const dataplaneType_;
  const model::ResourceTypeDescriptor* const insightType_;
  const InsightTrackerOptions options_;

  mutable absl::Mutex mu_;
  std::map<int64_t, Stream> streams_ ABSL_GUARDED_BY(mu_);
  bool urgent_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  InsightTrackerStats stats_ ABSL_GUARDED_BY(mu_);

  // Held for the duration of writes: one writer at a time (flusher, flush(), stop()), so
  // read-modify-writes of the same insight from this tracker never race each other.
  absl::Mutex writeMu_;
  std::thread flusher_;
};

}  // namespace kuma::xds::sync
