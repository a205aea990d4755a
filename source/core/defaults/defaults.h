#pragma once

// File: defaults.h
// The resources Kuma 2.14 creates by itself (spec §10): on start the `default` Mesh and the
// control plane's global secrets; for every Mesh created, its dataplane-token signing key and the
// default policies (unless the Mesh skips them via skipCreatingInitialPolicies).

#include <string>
#include <vector>

#include "kuma/runtime/component.h"
#include "nlohmann/json.hpp"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"

namespace kuma::defaults {

struct DefaultsOptions {
  bool skipMeshCreation = false;            // defaults.skipMeshCreation
  bool skipTenantResources = false;         // defaults.skipTenantResources: skips everything
  bool createMeshRoutingResources = false;  // defaults.createMeshRoutingResources
  bool skipHostnameGenerators = false;      // defaults.SkipHostnameGenerators
  bool kubernetes = false;                  // environment: kubernetes
  std::string zone = "default";             // multizone.zone.name: the one Zone resource
};

/**
 * Hooks the per-mesh defaults into `manager` (call once, before any Mesh can be created).
 * The hook creates Secret `dataplane-token-signing-key-<mesh>-1` and the default MeshTimeouts,
 * MeshCircuitBreaker and MeshRetry (and, if configured, TrafficPermission/TrafficRoute).
 */
void installMeshDefaults(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                         const DefaultsOptions& options);

/**
 * Creates the start-up defaults when they are missing: the global secrets, the Zone resource of
 * this zone (Kuma's EnsureOnlyOneZoneExists: Zones of other names are deleted), the default
 * HostnameGenerators and the default Mesh.
 */
class DefaultsComponent : public runtime::Component {
 public:
  DefaultsComponent(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                    DefaultsOptions options);

  // kuma::runtime::Component
  std::string name() const override { return "defaults"; }
  absl::Status start() override;
  void stop() override {}

 private:
  absl::Status ensureOnlyOneZone();

  manager::ResourceManager& manager_;
  const model::TypeRegistry& registry_;
  const DefaultsOptions options_;
};

/**
 * The default policies Kuma 2.14 creates with a Mesh (spec §10; unless its
 * skipCreatingInitialPolicies skips them), as REST JSON: MeshTimeouts for sidecars and gateways,
 * MeshCircuitBreaker and MeshRetry. The one definition of them (tests and benchmarks use it too).
 */
std::vector<nlohmann::json> defaultPolicies(const std::string& mesh);

/** Builds a resource of type `typeName` from its REST JSON through the registered descriptor. */
absl::StatusOr<model::Resource> resourceFromJson(const model::TypeRegistry& registry,
                                                 const std::string& typeName,
                                                 const nlohmann::json& json);

}  // namespace kuma::defaults
