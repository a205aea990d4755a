#pragma once

// File: leader_elector.h
// The contract of a leader election backend (Kuma's component.LeaderElector): PostgreSQL's lock
// row (plugins/resources/postgres) or a Kubernetes Lease (plugins/runtime/kubernetes). The
// backend reports elected/lost through the callbacks it was built with, from its own thread;
// kuma-cp's LeaderGate runs the leader-only components between the two.

namespace kuma::runtime {

class LeaderElector {
 public:
  virtual ~LeaderElector() = default;

  /** Starts competing in the background. */
  virtual void start() = 0;
  /** Stops competing; leadership held is given up (and its loss reported) before this returns. */
  virtual void stop() = 0;
  /** Whether this instance holds the leadership now. Any thread. */
  virtual bool isLeader() const = 0;
};

}  // namespace kuma::runtime
