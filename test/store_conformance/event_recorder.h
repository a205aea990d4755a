#pragma once

// File: event_recorder.h
// Subscribes to a store and records its change events; waits for them with a timeout because a
// backend may deliver events from another thread (postgres LISTEN/NOTIFY).

#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kuma/store/resource_store.h"

namespace kuma::store::conformance {

class EventRecorder {
 public:
  explicit EventRecorder(ResourceStore& store);

  /** Waits until at least `count` events arrived. @return false on timeout. */
  bool waitForCount(size_t count, absl::Duration timeout = absl::Seconds(10));

  /**
   * Waits for the `count` events of a test's set-up writes and forgets them, so that what is
   * recorded next is the test's own. A store may report a write after the write returned (the
   * Kubernetes store's informer does), so a recorder started after the set-up could still see it.
   * @return false on timeout.
   */
  bool consumeSetUp(size_t count, absl::Duration timeout = absl::Seconds(10));

  std::vector<ChangeEvent> events() const;
  size_t count() const;

  /** Unsubscribes (destroys the subscription); later events are not recorded. */
  void stop() { subscription_.reset(); }

 private:
  mutable absl::Mutex mu_;
  std::vector<ChangeEvent> events_ ABSL_GUARDED_BY(mu_);
  SubscriptionPtr subscription_;
};

}  // namespace kuma::store::conformance
