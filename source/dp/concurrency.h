#pragma once

// File: concurrency.h
// How many worker threads kuma-dp gives Envoy. One pure decision (tests feed it fixture cgroup
// directories), mapped to Envoy's command line:
//
//   1. --concurrency N > 0 (how Kubernetes' kuma.io/sidecar-proxy-concurrency annotation
//      arrives): N, no clamp.
//   2. A CPU limit in the cgroup (v2 `cpu.max`, else v1 `cpu/cpu.cfs_quota_us` +
//      `cpu/cpu.cfs_period_us`): quota/period rounded UP, at least 1 (1500m → 2, 7000m → 7);
//      on Kubernetes clamped to [2, 10].
//   3. No limit (`max`, -1, or no cgroup CPU files): `--cpuset-threads`, Envoy sizes itself from
//      the CPUs it may run on (Kuma's behaviour on Linux).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kuma::dp {

struct ConcurrencyInputs {
  /** --concurrency / KUMA_DATAPLANE_RUNTIME_CONCURRENCY; 0 means unset. */
  uint32_t explicitConcurrency = 0;
  /** The cgroup directory of this process, normally /sys/fs/cgroup. */
  std::string cgroupRoot = "/sys/fs/cgroup";
  /** KUBERNETES_SERVICE_HOST is set. */
  bool onKubernetes = false;
};

struct ConcurrencyDecision {
  enum class Source { Explicit, CpuLimit, CpusetThreads };
  Source source = Source::CpusetThreads;
  /** Worker threads; 0 with CpusetThreads. */
  uint32_t workers = 0;
  /** Human-readable reason, for kuma-dp's log. */
  std::string reason;

  /** `--concurrency N` or `--cpuset-threads`. */
  std::vector<std::string> envoyArgs() const;
};

inline constexpr uint32_t kKubernetesMinConcurrency = 2;
inline constexpr uint32_t kKubernetesMaxConcurrency = 10;

/**
 * Decides Envoy's concurrency. Reads only files under inputs.cgroupRoot.
 * @return the decision, or InvalidArgument naming the cgroup file when it exists but cannot be
 *         parsed (the caller logs it and falls back to --cpuset-threads).
 */
absl::StatusOr<ConcurrencyDecision> decideConcurrency(const ConcurrencyInputs& inputs);

/** The cgroup v2 directory of this process when it has one of its own, else /sys/fs/cgroup. */
std::string processCgroupRoot();

}  // namespace kuma::dp
