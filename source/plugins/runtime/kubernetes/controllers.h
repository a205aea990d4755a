#pragma once

// File: controllers.h
// Kuma 2.14's Kubernetes controllers of a zone (pkg/plugins/runtime/k8s/controllers) on shared
// informers, one component:
//
// The pod status controller (pod_status_controller.go): a Pod not restarted Always (a Job's) whose
// application containers terminated while kuma-sidecar runs gets its Envoy told to quit, so
// that the Pod completes. One worker, as Kuma's.
//
// The namespace controller (namespace_controller.go), with runtime.kubernetes.injector.cniEnabled:
// Multus's NetworkAttachmentDefinition `kuma-cni` in every namespace labelled
// kuma.io/sidecar-injection, removed when the label goes. One worker, as Kuma's.
//
// The MeshService controller (meshservice_controller.go, with `meshservices` enabled): a
// ClusterIP Service of the mesh gets a MeshService of its name (meshservice_plan.h), kept in step
// with the Service, its namespace's labels and its Mesh; deleted with the Service or when the
// mesh's meshServices.mode is Disabled. Headless Services get none (Kuma makes one per Pod from
// the EndpointSlices). One worker, as Kuma's; Events on the Service
// (CreatedMeshService, UpdatedMeshService, FailedToGenerateMeshService, IgnoredUnsupportedPort).
//
// The service controller (service_controller.go): a Service of a namespace labelled
// kuma.io/sidecar-injection: enabled (not ExternalName, not kuma.io/ignore, not a builtin
// gateway's) gets the annotations ingress.kubernetes.io/service-upstream and
// nginx.ingress.kubernetes.io/service-upstream "true", so that ingress controllers send to the
// Service's cluster IP (through the mesh) rather than to the Pods. One worker, as Kuma's.
//
// The pod controller (pod_controller.go) for sidecar
// Pods: every Pod annotated kuma.io/sidecar-injected gets a Dataplane object of the same name and
// namespace (kuma.io/v1alpha1, controller reference to the Pod), converted by pod_converter.h;
// one that succeeded, was evicted or has no IP loses it. Informers (list+watch) cache Pods,
// Services and Namespaces; Pod events queue the Pod, Service events the Pods the Service selects
// (before and after the change), Mesh events (meshServices.mode changes) the Pods of the mesh.
// Reconciliation runs in a WorkQueue with runtime.kubernetes.controllersConcurrency.podController
// workers. A deleted Pod's Dataplane is deleted by the controller itself (Kuma leaves it to the
// garbage collector of kube-controller-manager, which a cluster may not run).
//
// Writes go to the Kubernetes API directly, as Kuma's controller does; the resource store's
// informer then sees the Dataplane like any other change. As in Kuma, the Dataplane is not
// validated (Kuma's validating webhook lets the control plane's own writes through unchecked).

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "kuma/runtime/component.h"
#include "prometheus/metric_family.h"
#include "source/plugins/resources/kubernetes/kube_client.h"
#include "source/plugins/runtime/kubernetes/pod_converter.h"

namespace kuma::k8s::runtime {

struct KubernetesControllersOptions {
  /** Its own client (KubeClient::sibling() of the store's: one rate limit, own watches). */
  std::shared_ptr<KubeClient> client;
  /** Writes the Events (KubeClient::withOwnRateLimit(), as Kuma's recorder); `client` if null. */
  std::shared_ptr<KubeClient> eventsClient;
  PodConverterOptions converter;
  /** runtime.kubernetes.injector.ignoredServiceSelectorLabels. */
  std::vector<std::string> ignoredServiceSelectorLabels;
  /** runtime.kubernetes.controllersConcurrency.podController. */
  int workers = 10;
  absl::Duration resyncPeriod = absl::Minutes(5);
  absl::Duration watchTimeout = absl::Minutes(5);
  /** This host's name: the reportingInstance of the Events (client-go: <controller>-<host>). */
  std::string hostname = "kuma-cp";
  /**
   * Kuma's mesh controller: the CAs, signing key and default policies of a Mesh (idempotent),
   * for Meshes created with kubectl; called until the Mesh carries
   * `k8s.kuma.io/mesh-defaults-generated: "true"`, which the controller then sets. Null: none.
   */
  std::function<absl::Status(const std::string& mesh)> ensureMeshDefaults;
  /**
   * Kuma's pod status controller: POSTs /quitquitquit to the Envoy of Dataplane `name` of
   * `mesh` (Kuma's EnvoyAdminClient.PostQuit). Null: the controller does not run.
   */
  std::function<absl::Status(const std::string& mesh, const std::string& name)> quitEnvoy;
  /** runtime.kubernetes.injector.cniEnabled: the namespace controller runs (Kuma's). */
  bool cniEnabled = false;
  /**
   * Kuma's MeshService controller (meshservice_plan.h) runs: `meshservices` is among
   * coreResources.enabled.
   */
  bool meshServices = false;
  /** experimental.inboundTagsDisabled: MeshService selectors by Dataplane labels, not tags. */
  bool inboundTagsDisabled = false;
  /** The mesh's meshServices.mode; NotFound when the Mesh does not exist (retried). */
  std::function<absl::StatusOr<MeshServicesMode>(const std::string& mesh)> meshServicesMode;
};

class KubernetesControllers : public kuma::runtime::Component {
 public:
  explicit KubernetesControllers(KubernetesControllersOptions options);
  ~KubernetesControllers() override;

  std::string name() const override { return "kubernetes-controllers"; }
  /**
   * Starts the informers, waits (at most 60 s) until they listed once, then the workers. May run
   * again after stop() (a leader that lost its Lease and won it back): each run starts afresh.
   */
  absl::Status start() override;
  void stop() override;

  /**
   * A Mesh changed or was deleted (store event; does not block): its meshServices.mode is read
   * again (the pod controller's copy), and its Pods are queued when it is new or the mode turned
   * Exclusive or back.
   */
  void onMeshChanged(const std::string& mesh);

  /** The work queues' and reconcilers' metrics (work_queue.h), per controller. */
  void collect(std::vector<prometheus::MetricFamily>& out) const;

  /** Until the queues are idle (tests, benchmarks). */
  bool waitIdle(absl::Duration timeout) const;

  /** Reconciles one Pod key `namespace/name` (public for tests). */
  absl::Status reconcile(const std::string& key);

 private:
  class Impl;
  std::shared_ptr<Impl> current() const;

  const KubernetesControllersOptions options_;
  mutable absl::Mutex mu_;
  /** The running controllers (null when stopped); shared with callers of the forwarders. */
  std::shared_ptr<Impl> impl_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kuma::k8s::runtime
