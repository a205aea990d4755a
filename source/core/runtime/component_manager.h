#pragma once

// File: component_manager.h
// Starts components in order, stops them in reverse; answers readiness for /ready.

#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "kuma/runtime/component.h"

namespace kuma::runtime {

class ComponentManager {
 public:
  /** Adds a component; only before start(). */
  void add(ComponentPtr component);

  /** Starts every component in order; on the first failure stops the started ones and returns it.
   */
  absl::Status start();

  /** Stops the started components in reverse order. Idempotent. */
  void stop();

  /** True once start() succeeded and every readiness-reporting component is ready. Any thread. */
  bool ready() const;

 private:
  std::vector<ComponentPtr> components_;
  size_t started_ = 0;
  std::atomic<bool> running_{false};
};

}  // namespace kuma::runtime
