#pragma once

// File: leader_gate.h
// Runs kuma-cp's leader-only components (default resources, ...) only while this instance is
// leader (spec §12.5). A leader elector reports elected()/lost() from its own thread; the gate
// starts/stops the components on a thread of its own, so a slow start (RSA key generation, a
// database that is slow to answer) never delays the elector's heartbeats. A component whose
// start fails is retried every `retryInterval` for as long as the instance stays leader (Kuma's
// leader components are resilient in the same way).
//
//   LeaderGate gate;
//   gate.add(std::make_unique<defaults::DefaultsComponent>(...));
//   gate.start();
//   elector callbacks: [&] { gate.elected(); }, [&] { gate.lost(); }
//   gate.stop();   // stops whatever runs, joins the thread

#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kuma/runtime/component.h"

namespace kuma::server {

class LeaderGate {
 public:
  explicit LeaderGate(absl::Duration retryInterval = absl::Seconds(5));
  /** Calls stop(). */
  ~LeaderGate();
  LeaderGate(const LeaderGate&) = delete;
  LeaderGate& operator=(const LeaderGate&) = delete;

  /** Registers a leader-only component (before start()); started in registration order. */
  void add(runtime::ComponentPtr component);
  /** Starts the gate's thread. Nothing runs until elected(). */
  void start();
  /** Stops the running components (reverse order) and the thread. Idempotent. */
  void stop();

  /** This instance became leader: start the components (asynchronously). Any thread. */
  void elected();
  /** Leadership was lost: stop the components (asynchronously). Any thread. */
  void lost();

  /** True while the gate wants the components running (between elected() and lost()). */
  bool leader() const;
  /** Number of components currently started (for tests and logs). */
  size_t running() const;

 private:
  void loop();

  const absl::Duration retryInterval_;
  std::vector<runtime::ComponentPtr> components_;

  mutable absl::Mutex mu_;
  bool leader_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Components [0, started_) are running; owned by the gate thread, read under mu_.
  size_t started_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace kuma::server
