#pragma once

// File: synthetic_mesh.h
// A generated mesh for the xDS microbenchmarks: `services` http services with
// `dataplanesPerService` Dataplanes each, every Dataplane with one inbound and
// `outboundsPerProxy` outbounds to the next services (wrapping around), plus the default
// policies Kuma creates in a mesh. The resources go through the REST codec and the memory store,
// exactly like resources created over the API, so loadMeshResources reads realistic objects.
//
//   KUMA_ASSIGN_OR_RETURN(auto store, newSyntheticMeshStore(registry, {.services = 100}));
//   KUMA_ASSIGN_OR_RETURN(auto resources, xds::loadMeshResources(*store, registry, kBenchMesh));

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "kuma/store/resource_store.h"
#include "source/core/model/registry.h"

namespace kuma::bench {

inline constexpr char kBenchMesh[] = "default";

/** How a proxy reaches the other services. */
enum class OutboundMode {
  /** `networking.outbound` lists the destinations (no transparent proxying). */
  Explicit,
  /** Transparent proxying; `reachableServices` lists the destinations. */
  TransparentReachable,
  /** Transparent proxying without `reachableServices`: one outbound per service VIP. */
  TransparentAll,
};

/** Short name used in benchmark names: "outbounds", "tp_reachable", "tp_all". */
const char* outboundModeName(OutboundMode mode);

struct SyntheticMeshOptions {
  size_t services = 10;
  size_t dataplanesPerService = 2;
  /** Destinations per proxy (clamped to services - 1). */
  size_t outboundsPerProxy = 3;
  OutboundMode mode = OutboundMode::Explicit;
  /** Create the four default policies (MeshTimeout ×2, MeshCircuitBreaker, MeshRetry). */
  bool defaultPolicies = true;
};

/** `svc-0042`: zero-padded so that the sorted order is the numeric order. */
std::string serviceName(size_t index);

/** `svc-0042-1`: the `replica`-th Dataplane of service `index`. */
std::string dataplaneName(size_t index, size_t replica);

/**
 * A memory store holding the Mesh `kBenchMesh` and the synthetic resources.
 * @return InvalidArgument for zero services or Dataplanes, or the codec's/store's error.
 */
absl::StatusOr<store::ResourceStorePtr> newSyntheticMeshStore(const model::TypeRegistry& registry,
                                                              const SyntheticMeshOptions& options);

}  // namespace kuma::bench
