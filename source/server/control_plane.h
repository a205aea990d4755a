#pragma once

// File: control_plane.h
// kuma-cp assembled from its configuration: store → manager → defaults → API server →
// diagnostics, started in that order and stopped in reverse (architecture.md).

#include <memory>

#include "absl/status/statusor.h"
#include "source/core/config/config.h"
#include "source/core/manager/resource_manager.h"
#include "source/core/runtime/component_manager.h"

namespace kuma::server {

class ControlPlane {
 public:
  /**
   * Builds every component. InvalidArgument / Unimplemented for configurations this build
   * cannot serve (e.g. a store type not implemented yet).
   */
  static absl::StatusOr<std::unique_ptr<ControlPlane>> create(
      std::shared_ptr<const config::KumaCpConfig> config);
  ~ControlPlane();

  absl::Status start() { return components_.start(); }
  void stop() { components_.stop(); }
  bool ready() const { return components_.ready(); }

  manager::ResourceManager& manager() { return *manager_; }

 private:
  ControlPlane() = default;

  std::shared_ptr<const config::KumaCpConfig> config_;
  std::unique_ptr<store::ResourceStore> store_;
  std::unique_ptr<manager::ResourceManager> manager_;
  runtime::ComponentManager components_;
};

}  // namespace kuma::server
