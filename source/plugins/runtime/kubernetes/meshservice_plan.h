#pragma once

// File: meshservice_plan.h
// Kuma 2.14's MeshService controller for Kubernetes (pkg/plugins/runtime/k8s/controllers/
// meshservice_controller.go), its decisions as a pure function: what a Service of the mesh
// becomes. The controller (controllers.h) reads the objects from its informers, writes the result
// and records the Events.
//
//   MeshServicePlan plan = planMeshService({service, ns, "default", MeshServicesMode::kExclusive});
//   if (plan.action == MeshServicePlan::Action::kUpsert) { PUT/POST plan.object; }
//
// A ClusterIP Service of a namespace labelled kuma.io/sidecar-injection (or a Service labelled
// kuma.io/mesh) in a mesh whose meshServices.mode is not Disabled gets a MeshService of the same
// name and namespace: the Service's labels plus kuma.io/mesh, k8s.kuma.io/service-name,
// kuma.io/managed-by: k8s-controller, kuma.io/env: kubernetes and
// k8s.kuma.io/is-headless-service: "false"; one port per TCP port (name or number, port,
// targetPort, appProtocol or `tcp`; others are listed as unsupported); the selector
// `dataplaneTags` (or, with experimental.inboundTagsDisabled, `dataplaneLabels.matchLabels`):
// the Service's selector plus k8s.kuma.io/namespace; status.vips the cluster IP; an owner
// reference to the Service. A headless Service gets one MeshService per endpoint Pod instead
// (perPodMeshService).

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "source/plugins/runtime/kubernetes/pod_converter.h"

namespace kuma::k8s::runtime {

struct MeshServicePlanInput {
  const Json& service;
  const Json& ns;
  std::string mesh;
  /** The mesh's meshServices.mode; nullopt when the Mesh does not exist. */
  std::optional<MeshServicesMode> mode;
  bool inboundTagsDisabled = false;
  /** The Service's first endpoint Pod is a gateway's (kuma.io/gateway annotation). */
  bool backsGatewayPods = false;
};

struct MeshServicePlan {
  enum class Action {
    kNone,    // leave any MeshService alone (gateway Service, no cluster IP)
    kDelete,  // delete the MeshService of the Service's name, if any
    kUpsert,  // create or update it to `object` (metadata.labels, ownerReferences, spec, status)
    // A headless Service: one MeshService per endpoint Pod (perPodMeshService), `object` holds
    // their common labels and ports; the Pods' MeshServices no longer among the endpoints go.
    kUpsertPerPod,
  };
  Action action = Action::kNone;
  /** Why (for the logs). */
  std::string reason;
  Json object;
  /** kDelete of a headless Service: its per-Pod MeshServices go too. */
  bool deletePerPod = false;
  /** Ports left out (not TCP), by name or number. */
  std::vector<std::string> unsupportedPorts;
};

/**
 * Kuma's MeshServiceReconciler decision for one Service. @return InvalidArgument for a
 * kuma.io/sidecar-injection or kuma.io/ignore value Kuma refuses.
 */
absl::StatusOr<MeshServicePlan> planMeshService(const MeshServicePlanInput& input);

/**
 * The name of a headless Service's MeshService for one Pod, as Kuma's: `<pod>-<hash>` (the Pod's
 * name cut so that the whole fits 63 characters), the hash fnv-32a of the Service's name and
 * namespace (and the Pod's name when cut) in apimachinery's SafeEncodeString of its decimal.
 */
std::string perPodMeshServiceName(const std::string& pod, const std::string& service,
                                  const std::string& ns);

/**
 * A headless Service's MeshService for one EndpointSlice endpoint (targetRef a Pod) of a
 * kUpsertPerPod plan: the plan's labels (plus the Pod's StatefulSet pod-name and pod-index
 * labels, when `pod` is known), its ports, the selector `dataplaneRef` `<pod>.<namespace>`, the
 * endpoint's addresses as VIPs, an owner reference to the Pod.
 */
Json perPodMeshService(const MeshServicePlan& plan, const Json& service, const Json& endpoint,
                       const Json* pod);

/**
 * `desired` (a planned object) applied to `existing` as Kuma's CreateOrUpdate mutation does:
 * labels, spec.ports, spec.selector and status.vips replaced, the Service's owner reference set,
 * everything else of `existing` kept. @return the object to write, or nullopt when it equals
 * `existing`.
 */
std::optional<Json> mergeMeshService(const Json& existing, const Json& desired);

}  // namespace kuma::k8s::runtime
