#pragma once

// File: sidecar_injector.h
// Kuma 2.14's sidecar injector (pkg/plugins/runtime/k8s/webhooks/injector, containers/factory.go,
// probes/, transparentproxy/kubernetes) as one pure function: from a Pod being created and its
// Namespace it decides whether Kuma injects (pod label, else namespace label
// `kuma.io/sidecar-injection`; exceptions; an existing kuma-sidecar), and returns the Pod with
// the kuma-sidecar container (a restartable init container when sidecar containers are on, as
// on Kubernetes ≥ 1.29), the kuma-init container (or the CNI validation container), the
// volumes, Kuma's annotations and the `kuma.io/mesh` label, and the application probes routed
// through kuma-dp's probe proxy (or rewritten as virtual probes).
//
// The Envoy concurrency follows Kuma 2.14 to the letter: `kuma.io/sidecar-proxy-concurrency`
// gives `--concurrency=<n>` unchanged; otherwise the sidecar's configured CPU limit
// (runtime.kubernetes.injector.sidecarContainer.resources.limits.cpu) gives max(limit, 2) whole
// CPUs, and no limit (Kuma's default "0") gives no flag, so kuma-dp decides from its cgroup
// (docs/kubernetes.md "Sidecar injection").
//
//   absl::StatusOr<InjectionResult> r = injectSidecar(pod, ns, options, lookups);
//   if (r.ok() && r->injected) answer(jsonPatch(pod, r->pod));

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "source/core/config/config.h"

namespace kuma::k8s::webhooks {

using Json = nlohmann::json;

inline constexpr char kSidecarInjectionLabel[] = "kuma.io/sidecar-injection";
inline constexpr char kSidecarConcurrencyAnnotation[] = "kuma.io/sidecar-proxy-concurrency";
inline constexpr char kInitContainerName[] = "kuma-init";
inline constexpr char kValidationContainerName[] = "kuma-validation";

struct InjectorOptions {
  /** runtime.kubernetes.injector. */
  config::InjectorConfig injector;
  /** https://<controlPlaneServiceName>.<systemNamespace>:<dpServer.port>. */
  std::string controlPlaneUrl;
  /** Contents of injector.caCertFile ("" when not set). */
  std::string caCert;
  /** bootstrapServer.params.adminPort / readinessPort / envoyAdminUnixSocket. */
  uint32_t envoyAdminPort = 9901;
  uint32_t readinessPort = 9902;
  bool envoyAdminUnixSocket = true;
  /** experimental.sidecarContainers, and the API server is at least Kubernetes 1.29. */
  bool sidecarContainersEnabled = true;
  /** experimental.deltaXds. */
  bool deltaXds = false;
};

/** Cluster state the injector reads. */
struct InjectorLookups {
  /** Whether the Mesh exists (an error for anything but "it does not"). */
  std::function<absl::StatusOr<bool>(const std::string& mesh)> meshExists;
  /** The Services of a namespace (to tell a zone-proxy Pod whose Mesh is missing). */
  std::function<absl::StatusOr<std::vector<Json>>(const std::string& ns)> servicesOf;
  /**
   * The spec of ContainerPatch `name` in the system namespace, nullopt when there is none.
   */
  std::function<absl::StatusOr<std::optional<Json>>(const std::string& name)> containerPatch;
};

struct InjectionResult {
  /** The Pod to admit (the input unchanged when not injected). */
  Json pod;
  bool injected = false;
  /** The mesh the sidecar joins (empty when not injected). */
  std::string mesh;
};

/**
 * Kuma's InjectKuma. Errors carry Kuma's messages; NotFound when the Pod's Mesh does not exist
 * (Kuma's metric reason "mesh_not_found"), InvalidArgument for a bad annotation or Pod.
 */
absl::StatusOr<InjectionResult> injectSidecar(const Json& pod, const Json& ns,
                                              const InjectorOptions& options,
                                              const InjectorLookups& lookups);

/**
 * The `--concurrency` Kuma's injector gives the sidecar: the annotation's value, else
 * max(cpu limit in whole CPUs, 2) for a non-zero configured limit; nullopt for no flag.
 */
absl::StatusOr<std::optional<int64_t>> sidecarConcurrency(const Json& podAnnotations,
                                                          const std::string& cpuLimit);

/**
 * A Kubernetes quantity ("500m", "2", "1.5", "64Mi", "1e3") in milli-units, rounded up as
 * resource.Quantity.MilliValue(); InvalidArgument for anything else.
 */
absl::StatusOr<int64_t> quantityMilliValue(const std::string& quantity);

/**
 * A JSON Patch (RFC 6902) that turns `before` into `after`: one `add` per changed member of
 * `metadata` and `spec` (an `add` of an existing member replaces it), one `remove` per dropped
 * member. Enough for admission answers, where the API server applies it to `before`.
 */
Json jsonPatch(const Json& before, const Json& after);

}  // namespace kuma::k8s::webhooks
