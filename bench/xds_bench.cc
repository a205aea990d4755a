// File: xds_bench.cc
// Google Benchmark microbenchmarks of the xDS hot paths of kuma-cp (docs/benchmarks.md):
//   mesh_context_build/services:N            loadMeshResources (memory store) + MeshContext::build
//   mesh_context_rebuild/services:N          the same after one Dataplane changed, incremental
//                                            (reusing the previous context, as the reconciler does)
//   generate_proxy/<mode>/services:N         xds::generate for one proxy, shared cache warm
//   version_snapshot_unchanged/<mode>/...    versionSnapshot of a regenerated, unchanged snapshot
//   hash_of/cluster                          xds::hashOf of a serialized outbound cluster
//   generate_mesh/<mode>/services:N          xds::generate for every proxy of a fresh context
// <mode> is how proxies reach their 3 destinations: explicit `outbound`s, transparent proxying
// with `reachableServices`, or transparent proxying with every VIP (bench/synthetic_mesh.h).
//
// A benchmark whose set-up or run fails is reported with an error and makes the binary exit 1,
// so the ctest smoke run catches a broken generator.

#include <atomic>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/synthetic_mesh.h"
#include "benchmark/benchmark.h"
#include "source/server/all_types.h"
#include "source/xds/context/mesh_context.h"
#include "source/xds/envoy/envoy_util.h"
#include "source/xds/generator/generator.h"
#include "source/xds/sync/reconciler.h"
#include "source/plugins/policies/xds_plugins.h"

namespace kuma::bench {
namespace {

// What the control plane generates with: every registered policy plugin.
xds::ProxyOptions proxyOptions() {
  static const xds::PolicyPluginListConstSharedPtr plugins = policies::makeXdsPolicyPlugins();
  xds::ProxyOptions options;
  options.plugins = plugins;
  return options;
}

constexpr size_t kSizes[] = {10, 100, 1000};
constexpr OutboundMode kModes[] = {OutboundMode::Explicit, OutboundMode::TransparentReachable,
                                   OutboundMode::TransparentAll};
// generate_mesh with every VIP at 1000 services is 2000 proxies × ~3000 resources per iteration:
// quadratic, minutes per run. Its per-proxy cost is already shown by generate_proxy/tp_all.
constexpr size_t kMaxTransparentAllMesh = 100;

std::atomic<bool> failed{false};

void fail(benchmark::State& state, const absl::Status& status) {
  failed = true;
  const std::string message = status.ToString();
  std::fprintf(stderr, "%s\n", message.c_str());
  state.SkipWithError(message.c_str());
}

/** A synthetic mesh, built once per (size, mode) and reused by every benchmark of the run. */
struct MeshFixture {
  store::ResourceStorePtr store;
  /** What loadMeshResources returned: the input of the fresh contexts of generate_mesh. */
  xds::MeshResources resources;
  /** Shared by generate_proxy and version_snapshot_unchanged (its shared cache gets warm). */
  xds::MeshContextConstSharedPtr context;
  /** The proxy generated alone: the first Dataplane of the first service. */
  model::ResourceConstSharedPtr proxy;
};

absl::StatusOr<std::unique_ptr<MeshFixture>> buildFixture(size_t services, OutboundMode mode) {
  const model::TypeRegistry& registry = server::allTypes();
  auto fixture = std::make_unique<MeshFixture>();
  SyntheticMeshOptions options;
  options.services = services;
  options.mode = mode;
  auto store = newSyntheticMeshStore(registry, options);
  if (!store.ok()) {
    return store.status();
  }
  fixture->store = std::move(*store);
  auto resources = xds::loadMeshResources(*fixture->store, registry, kBenchMesh);
  if (!resources.ok()) {
    return resources.status();
  }
  fixture->resources = *resources;
  auto context = xds::MeshContext::build(std::move(*resources));
  if (!context.ok()) {
    return context.status();
  }
  fixture->context = std::move(*context);
  const std::string proxyName = dataplaneName(0, 0);
  for (const auto& dp : fixture->context->dataplanes()) {
    if (dp->meta.name == proxyName) {
      fixture->proxy = dp;
    }
  }
  if (fixture->proxy == nullptr) {
    return absl::InternalError(absl::StrCat("synthetic mesh lacks Dataplane ", proxyName));
  }
  return fixture;
}

absl::StatusOr<const MeshFixture*> fixture(size_t services, OutboundMode mode) {
  // Leaked on purpose: fixtures live for the whole process (benchmarks run on one thread).
  static auto* fixtures =
      new std::map<std::pair<size_t, OutboundMode>, std::unique_ptr<MeshFixture>>();
  auto& slot = (*fixtures)[{services, mode}];
  if (slot == nullptr) {
    auto built = buildFixture(services, mode);
    if (!built.ok()) {
      return built.status();
    }
    slot = std::move(*built);
  }
  return slot.get();
}

struct ResourceTotals {
  size_t resources = 0;
  size_t bytes = 0;
  std::map<std::string, size_t> perType;
};

ResourceTotals totalsOf(const xds::GeneratedResources& generated) {
  ResourceTotals totals;
  for (const auto& [type, resources] : generated.types) {
    totals.perType[type] += resources.size();
    for (const auto& [name, resource] : resources) {
      ++totals.resources;
      totals.bytes += resource->serialized.size();
    }
  }
  return totals;
}

size_t countOf(const ResourceTotals& totals, const char* type) {
  auto it = totals.perType.find(type);
  return it == totals.perType.end() ? 0 : it->second;
}

void setResourceCounters(benchmark::State& state, const ResourceTotals& totals) {
  state.counters["resources"] = static_cast<double>(totals.resources);
  state.counters["bytes_per_proxy"] = static_cast<double>(totals.bytes);
  state.counters["listeners"] = static_cast<double>(countOf(totals, xds::kListenerType));
  state.counters["clusters"] = static_cast<double>(countOf(totals, xds::kClusterType));
  state.counters["endpoints"] = static_cast<double>(countOf(totals, xds::kEndpointType));
}

// `afterOneChange`: the reconciler's incremental path. One Dataplane was written again (a new
// stored object, which the build cannot reuse); the previous context and its VIP view are passed
// in, and the result must hash as before.
void benchMeshContextBuild(benchmark::State& state, size_t services, bool afterOneChange) {
  auto f = fixture(services, OutboundMode::Explicit);
  if (!f.ok()) {
    return fail(state, f.status());
  }
  const model::TypeRegistry& registry = server::allTypes();
  size_t dataplanes = 0;
  for (auto _ : state) {
    auto resources = xds::loadMeshResources(*(*f)->store, registry, kBenchMesh);
    if (!resources.ok()) {
      fail(state, resources.status());
      break;
    }
    dataplanes = resources->dataplanes.size();
    const xds::MeshContext* previous = nullptr;
    if (afterOneChange) {
      resources->dataplanes[0] = std::make_shared<model::Resource>(*resources->dataplanes[0]);
      resources->vipView = (*f)->context->vipAllocation();
      previous = (*f)->context.get();
    }
    auto context = xds::MeshContext::build(std::move(*resources), previous);
    if (!context.ok()) {
      fail(state, context.status());
      break;
    }
    if (afterOneChange && (*context)->hash() != (*f)->context->hash()) {
      fail(state, absl::InternalError("an incremental build changed the content hash"));
      break;
    }
    benchmark::DoNotOptimize((*context)->hash());
  }
  state.counters["dataplanes"] = static_cast<double>(dataplanes);
  state.counters["per_dataplane"] = benchmark::Counter(
      static_cast<double>(dataplanes),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void benchGenerateProxy(benchmark::State& state, size_t services, OutboundMode mode) {
  auto f = fixture(services, mode);
  if (!f.ok()) {
    return fail(state, f.status());
  }
  const xds::ProxyOptions options = proxyOptions();
  // Warm-up: the shared clusters/CLAs exist, as they do once the mesh's other proxies ran.
  auto first = xds::generate(*(*f)->context, *(*f)->proxy, options);
  if (!first.ok()) {
    return fail(state, first.status());
  }
  for (auto _ : state) {
    auto out = xds::generate(*(*f)->context, *(*f)->proxy, options);
    if (!out.ok()) {
      fail(state, out.status());
      break;
    }
    benchmark::DoNotOptimize(out->types);
  }
  setResourceCounters(state, totalsOf(*first));
}

void benchVersionSnapshotUnchanged(benchmark::State& state, size_t services, OutboundMode mode) {
  auto f = fixture(services, mode);
  if (!f.ok()) {
    return fail(state, f.status());
  }
  const xds::ProxyOptions options = proxyOptions();
  auto previousResources = xds::generate(*(*f)->context, *(*f)->proxy, options);
  if (!previousResources.ok()) {
    return fail(state, previousResources.status());
  }
  const xds::SnapshotConstSharedPtr previous =
      xds::sync::versionSnapshot(*previousResources, nullptr);
  // A second generation: proxy-specific resources are new objects with equal bytes.
  auto current = xds::generate(*(*f)->context, *(*f)->proxy, options);
  if (!current.ok()) {
    return fail(state, current.status());
  }
  const xds::SnapshotConstSharedPtr check = xds::sync::versionSnapshot(*current, previous);
  for (const auto& [type, typeSnapshot] : check->types) {
    if (typeSnapshot.version != previous->types.at(type).version) {
      return fail(state, absl::InternalError(
                             absl::StrCat("version of ", type, " changed without a change")));
    }
  }
  for (auto _ : state) {
    auto snapshot = xds::sync::versionSnapshot(*current, previous);
    benchmark::DoNotOptimize(snapshot);
  }
  state.counters["resources"] = static_cast<double>(current->size());
}

void benchHashOfCluster(benchmark::State& state) {
  auto f = fixture(10, OutboundMode::Explicit);
  if (!f.ok()) {
    return fail(state, f.status());
  }
  auto generated = xds::generate(*(*f)->context, *(*f)->proxy, proxyOptions());
  if (!generated.ok()) {
    return fail(state, generated.status());
  }
  // The EDS cluster of the first destination: HTTP/2 options, timeouts, circuit breakers.
  const xds::ResourceConstSharedPtr cluster = generated->find(xds::kClusterType, serviceName(1));
  if (cluster == nullptr) {
    return fail(state, absl::InternalError("no outbound cluster " + serviceName(1)));
  }
  const std::string& bytes = cluster->serialized;
  for (auto _ : state) {
    benchmark::DoNotOptimize(xds::hashOf(bytes));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
  state.counters["cluster_bytes"] = static_cast<double>(bytes.size());
}

void benchGenerateMesh(benchmark::State& state, size_t services, OutboundMode mode) {
  auto f = fixture(services, mode);
  if (!f.ok()) {
    return fail(state, f.status());
  }
  const xds::ProxyOptions options = proxyOptions();
  xds::MeshContextConstSharedPtr context;
  std::vector<xds::GeneratedResources> outputs;
  for (auto _ : state) {
    // A fresh context per iteration (its shared cache empty, as after a mesh change); the
    // previous iteration's snapshots are dropped here too, outside the measurement.
    state.PauseTiming();
    outputs.clear();
    auto built = xds::MeshContext::build((*f)->resources);
    if (!built.ok()) {
      fail(state, built.status());
      break;
    }
    context = std::move(*built);
    outputs.reserve(context->dataplanes().size());
    state.ResumeTiming();
    for (const auto& dp : context->dataplanes()) {
      auto out = xds::generate(*context, *dp, options);
      if (!out.ok()) {
        fail(state, out.status());
        break;
      }
      outputs.push_back(std::move(*out));  // kept, as the snapshot cache keeps them
    }
  }
  // Sharing: bytes of distinct Resource objects over every proxy versus bytes sent.
  size_t total = 0;
  size_t unique = 0;
  size_t resources = 0;
  std::set<const xds::Resource*> seen;
  for (const auto& out : outputs) {
    for (const auto& [type, byName] : out.types) {
      for (const auto& [name, resource] : byName) {
        ++resources;
        total += resource->serialized.size();
        if (seen.insert(resource.get()).second) {
          unique += resource->serialized.size();
        }
      }
    }
  }
  const double proxies = static_cast<double>(outputs.size());
  if (proxies == 0) {
    return;
  }
  state.counters["proxies"] = proxies;
  state.counters["per_proxy"] = benchmark::Counter(
      proxies, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["resources"] = static_cast<double>(resources) / proxies;
  state.counters["bytes_per_proxy"] = static_cast<double>(total) / proxies;
  state.counters["unique_bytes_per_proxy"] = static_cast<double>(unique) / proxies;
}

std::string sized(const std::string& prefix, size_t services) {
  return absl::StrCat(prefix, "/services:", services);
}

void registerBenchmarks() {
  for (size_t services : kSizes) {
    benchmark::RegisterBenchmark(sized("mesh_context_build", services).c_str(),
                                 benchMeshContextBuild, services, /*afterOneChange=*/false)
        ->Unit(benchmark::kMicrosecond);
  }
  for (size_t services : kSizes) {
    benchmark::RegisterBenchmark(sized("mesh_context_rebuild", services).c_str(),
                                 benchMeshContextBuild, services, /*afterOneChange=*/true)
        ->Unit(benchmark::kMicrosecond);
  }
  for (OutboundMode mode : kModes) {
    for (size_t services : kSizes) {
      const std::string name =
          sized(absl::StrCat("generate_proxy/", outboundModeName(mode)), services);
      benchmark::RegisterBenchmark(name.c_str(), benchGenerateProxy, services, mode)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  for (OutboundMode mode : kModes) {
    for (size_t services : kSizes) {
      const std::string name =
          sized(absl::StrCat("version_snapshot_unchanged/", outboundModeName(mode)), services);
      benchmark::RegisterBenchmark(name.c_str(), benchVersionSnapshotUnchanged, services, mode)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RegisterBenchmark("hash_of/cluster", benchHashOfCluster);
  for (OutboundMode mode : kModes) {
    for (size_t services : kSizes) {
      if (mode == OutboundMode::TransparentAll && services > kMaxTransparentAllMesh) {
        continue;
      }
      const std::string name =
          sized(absl::StrCat("generate_mesh/", outboundModeName(mode)), services);
      benchmark::RegisterBenchmark(name.c_str(), benchGenerateMesh, services, mode)
          ->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace
}  // namespace kuma::bench

int main(int argc, char** argv) {
  kuma::bench::registerBenchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return kuma::bench::failed ? 1 : 0;
}
