#pragma once

// File: lease_elector.h
// Leader election through a coordination.k8s.io/v1 Lease, as Kuma 2.14 runs it on Kubernetes
// (controller-runtime's manager with client-go's leaderelection: Lease `cp-leader-lease` in the
// system namespace, runtime.kubernetes.leaderElection.leaseDuration / renewDeadline, a retry
// period of 2 s). The record is client-go's, so kuma-cpp and Kuma 2.14 instances can compete for
// the same Lease without ever both leading:
//
// - A candidate reads the Lease every retry period (jittered by up to 1.2×). It takes a Lease
//   that does not exist, has no holder, or whose record has not changed for a whole
//   leaseDuration of the candidate's own clock (client-go's observedTime: clocks are never
//   compared across instances). Taking or renewing is a PUT with the read resourceVersion, so
//   of two candidates only one wins.
// - The leader renews every retry period; when no renewal succeeds for renewDeadline
//   (< leaseDuration) it steps down before any candidate may take over.
// - stop() gives the Lease up (no holder, leaseDurationSeconds 1), so that a peer takes over
//   at once. Kuma leaves it to expire (controller-runtime's LeaderElectionReleaseOnCancel is
//   off); a Kuma candidate takes a released Lease at once all the same.
// - Losing leadership makes Kuma's process exit (controller-runtime: "leader election lost") and
//   Kubernetes restart it; kuma-cpp stops its leader-only components and competes again.
//
// As client-go's resourcelock, the elector records Events "<identity> became leader" and
// "<identity> stopped leading" (reason LeaderElection) regarding the Lease (its uid and the
// resourceVersion last written).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kuma/runtime/leader_elector.h"
#include "nlohmann/json.hpp"
#include "source/plugins/resources/kubernetes/kube_client.h"

namespace kuma::k8s::runtime {

struct LeaseElectorOptions {
  /** A client of its own (the elector's requests must not queue behind the controllers'). */
  std::shared_ptr<KubeClient> client;
  std::string ns = "kuma-system";
  std::string name = "cp-leader-lease";
  /** client-go: unique per process; controller-runtime: `<hostname>_<uuid>`. */
  std::string identity;
  absl::Duration leaseDuration = absl::Seconds(15);
  absl::Duration renewDeadline = absl::Seconds(10);
  absl::Duration retryPeriod = absl::Seconds(2);
  /** Give the Lease up on stop() (tests turn it off to play a crashed leader). */
  bool releaseOnStop = true;
  /** Record client-go's LeaderElection Events on the Lease's namespace. */
  bool recordEvents = true;
};

/** controller-runtime's identity for this process: `<hostname>_<random UUID>`. */
std::string leaseIdentity(const std::string& hostname);

class LeaseElector : public kuma::runtime::LeaderElector {
 public:
  /** Callbacks run on the elector's thread; they must not call stop(). */
  LeaseElector(LeaseElectorOptions options, std::function<void()> onElected,
               std::function<void()> onLost);
  ~LeaseElector() override;
  LeaseElector(const LeaseElector&) = delete;
  LeaseElector& operator=(const LeaseElector&) = delete;

  void start() override;
  void stop() override;
  bool isLeader() const override;

  const std::string& identity() const { return options_.identity; }

 private:
  void loop();
  /** client-go's tryAcquireOrRenew. @return true when this instance holds the Lease now. */
  bool tryAcquireOrRenew();
  void release();
  /** Keeps the Lease as the API server answered it (for renewals, release and Events). */
  void remember(nlohmann::json lease);
  void recordEvent(const std::string& what);
  bool sleepUnlessStopping(absl::Duration d);
  std::string path() const;

  const LeaseElectorOptions options_;
  const std::function<void()> onElected_;
  const std::function<void()> onLost_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool leader_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;

  // Elector-thread state (client-go's observedRecord / observedTime).
  std::optional<nlohmann::json> observedSpec_;
  absl::Time observedTime_;
  /** The Lease as last read or written (metadata with its resourceVersion). */
  std::optional<nlohmann::json> lease_;
  /** The Lease's uid and resourceVersion last seen: the Events' involvedObject. */
  std::string leaseUid_;
  std::string leaseVersion_;
};

}  // namespace kuma::k8s::runtime
