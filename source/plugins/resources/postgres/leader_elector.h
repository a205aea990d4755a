#pragma once

// File: leader_elector.h
// Leader election over PostgreSQL with Kuma's lock semantics (spec §12.5, cirello.io/pglock as
// used by Kuma 2.14): one row `kuma-cp-lock` in the `locks` table whose record_version_number
// (rvn) the leader bumps every heartbeat. A candidate takes the row only if its rvn is NULL or
// unchanged since the candidate's previous attempt one lease earlier, i.e. the holder stopped
// heart-beating for a whole lease. Kuma 2.14 and this implementation can therefore compete for
// the same database without two leaders.
//
//   LeaderElector elector(options, [] { startLeaderOnly(); }, [] { stopLeaderOnly(); });
//   elector.start();
//   ...
//   elector.stop();   // releases the lock (DELETE ... WHERE rvn = mine) so a peer wins at once
//
// The elector owns one dedicated connection (not from the store pool); when it breaks, the
// leader loses leadership (onLost), reconnects and competes again after retryInterval.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kuma/runtime/leader_elector.h"
#include "source/plugins/resources/postgres/connection.h"

namespace kuma::store::postgres {

struct LeaderElectorOptions {
  ConnectionSettings connection;
  std::string lockName = "kuma-cp-lock";
  /** This instance's id (Kuma: `<hostname>-<4 chars>`), written to locks.owner. */
  std::string owner;
  /** A holder silent for this long may be replaced (Kuma: 5s). */
  absl::Duration leaseDuration = absl::Seconds(5);
  /** How often the leader bumps its rvn (Kuma: 1s). */
  absl::Duration heartbeatInterval = absl::Seconds(1);
  /** Pause after losing the lock or an error before competing again (Kuma: 5s). */
  absl::Duration retryInterval = absl::Seconds(5);
  /** Server-side limit of every statement (Kuma: 5s). */
  absl::Duration statementTimeout = absl::Seconds(5);
};

class LeaderElector : public runtime::LeaderElector {
 public:
  /** Callbacks run on the elector thread; they must not call stop(). */
  LeaderElector(LeaderElectorOptions options, std::function<void()> onElected,
                std::function<void()> onLost);
  /** Calls stop(). */
  ~LeaderElector() override;
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  /** Starts competing in a background thread. */
  void start() override;
  /** Stops competing; a held lock is released and onLost runs before this returns. */
  void stop() override;

  bool isLeader() const override;
  /** Times this instance became leader. */
  uint64_t electedCount() const;

 private:
  void loop();
  /** One acquisition attempt. @return true when this instance now holds the lock. */
  bool tryAcquire(pqxx::connection& conn);
  bool sleepUnlessStopping(absl::Duration d);

  const LeaderElectorOptions options_;
  const std::function<void()> onElected_;
  const std::function<void()> onLost_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool leader_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t elected_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;

  // Elector-thread state.
  std::optional<int64_t> observedRvn_;
  int64_t myRvn_ = 0;
};

}  // namespace kuma::store::postgres
