#pragma once

// File: component.h
// A long-running part of kuma-cp (store, API server, diagnostics, ...). The component manager
// starts components in registration order and stops them in reverse (Kuma's component.Component).

#include <memory>
#include <string>

#include "absl/status/status.h"

namespace kuma::runtime {

class Component {
 public:
  virtual ~Component() = default;

  /** Short name for logs ("api-server"). */
  virtual std::string name() const = 0;

  /**
   * Starts the component without blocking (own threads or none). Called once, on the main thread.
   * @return an error to abort start-up (e.g. a port that cannot be bound).
   */
  virtual absl::Status start() = 0;

  /** Stops the component and joins its threads. Called once, on the main thread, after start(). */
  virtual void stop() = 0;

  /** Whether this component counts for /ready (true: it must report ready()). */
  virtual bool reportsReadiness() const { return false; }

  /** Ready to serve. Any thread. */
  virtual bool ready() const { return true; }
};
using ComponentPtr = std::unique_ptr<Component>;

}  // namespace kuma::runtime
