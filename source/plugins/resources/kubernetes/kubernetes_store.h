#pragma once

// File: kubernetes_store.h
// The Kubernetes ResourceStore (Kuma's `store.type: kubernetes`, docs/kubernetes.md): every Kuma
// resource is an object of the Kubernetes API, in Kuma 2.14's shape.
//   - Types with a CRD (source/plugins/k8s/crds.h) are kuma.io/v1alpha1 custom resources.
//     Cluster-scoped ones (Mesh, legacy policies, TestMesh/TestItem of the conformance suite) keep
//     the core name; a mesh-scoped one carries its mesh in the top-level `mesh` field.
//     Namespaced ones (Mesh*, Dataplane, ...) are named `name.namespace` in the core model
//     (Kuma's util_k8s.CoreNameToK8sName); a name without a dot goes to the system namespace.
//     Mesh* (spec/status) types carry the mesh as the `kuma.io/mesh` label, protobuf-based ones
//     in the top-level `mesh` field. The spec is the object's `spec` (and `status`).
//   - Secret / GlobalSecret are Kubernetes Secrets of type system.kuma.io/secret and
//     system.kuma.io/global-secret in the system namespace, the value under data.value; the system
//     Config is a ConfigMap there with data.config.
//   - version = metadata.resourceVersion (update is optimistic: 409 → Aborted);
//     creationTime = modificationTime = metadata.creationTimestamp (Kuma does the same);
//     the label kuma.io/display-name is kept as an annotation (label values are limited to 63).
//   - owners are metadata.ownerReferences (apiVersion, kind, name, uid, as controller-runtime's
//     SetOwnerReference). remove() deletes the dependents itself, level by level, because no
//     garbage collector (kube-controller-manager) may be running, and the suite expects the
//     cascade at once. A dependent created while its owner is deleted removes itself again.
//   - events: one informer per type (list, then watch from the list's resourceVersion with
//     bookmarks; 410 Gone or a periodic resync → relist and diff), delivered from the informer
//     threads in each type's order. Nothing is buffered beyond one watch event.
//   - get/list read the API server (no cache); every request is throttled by the client.

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kuma/store/resource_store.h"
#include "source/plugins/resources/kubernetes/kube_client.h"

namespace kuma::k8s {

struct KubernetesStoreOptions {
  std::shared_ptr<KubeClient> client;
  /** store.kubernetes.systemNamespace (Kuma: kuma-system). */
  std::string systemNamespace = "kuma-system";
  /** Types stored (and watched, and scanned for owned resources on remove). */
  std::vector<const model::ResourceTypeDescriptor*> types;
  /** Relist-and-diff period of each informer. */
  absl::Duration resyncPeriod = absl::Minutes(5);
  /** Watch requests end after this (server-side timeoutSeconds) and resume. */
  absl::Duration watchTimeout = absl::Minutes(5);
};

class KubernetesStore : public store::ResourceStore {
 public:
  /** Waits until every informer has listed once (or `timeout`). */
  virtual absl::Status waitForSync(absl::Duration timeout) = 0;

  struct InformerStats {
    uint64_t relists = 0;
    uint64_t watchesStarted = 0;
    uint64_t goneRelists = 0;
  };
  virtual InformerStats informerStats() const = 0;

  /** The client (its throttling counters). */
  virtual const KubeClient* client() const = 0;

  /**
   * The number of resources of `type` in the informer's view (every mesh), without a request:
   * what Kuma's `resources_count` reads from its cache. Nullopt before the type's informer listed
   * once, or for a type this store does not keep.
   */
  virtual std::optional<size_t> cachedCount(const model::ResourceTypeDescriptor& type) const = 0;

  /**
   * A Kuma custom resource object (as an admission review carries it) read as the store reads
   * its objects: name, mesh, labels, spec. InvalidArgument when the spec does not parse (with
   * the violations as ValidationError::fromStatus reads them, when the parser names paths).
   */
  virtual absl::StatusOr<model::ResourceConstSharedPtr> decode(
      const model::ResourceTypeDescriptor& type, const nlohmann::json& object) const = 0;
};

/** Starts the store's informers. InvalidArgument for a type it cannot map. */
absl::StatusOr<std::unique_ptr<KubernetesStore>> newKubernetesStore(KubernetesStoreOptions options);

}  // namespace kuma::k8s
