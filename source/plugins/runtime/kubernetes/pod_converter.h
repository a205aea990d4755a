#pragma once

// File: pod_converter.h
// Kuma 2.14's Pod → Dataplane conversion (pkg/plugins/runtime/k8s/controllers/pod_converter.go,
// inbound_converter.go, probes.go) for sidecar Pods: inbounds per Service port (tags, protocol
// from appProtocol or `<port>.service.kuma.io/protocol`, Ready/NotReady/Ignored), the service-less
// inbound on port 49151, transparent proxying and reachable services/backends from annotations,
// the Prometheus metrics backend, virtual probes, the Envoy admin port, and the labels of the
// Dataplane object. Kubernetes objects are their JSON as the API server serves them.
//
//   PodConversionInput in{pod, services, namespace, "default", MeshServicesMode::kDisabled};
//   absl::StatusOr<ConvertedDataplane> dp = convertPod(in, options, lookups);

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/mesh/v1alpha1/dataplane.pb.h"
#include "nlohmann/json.hpp"

namespace kuma::k8s::runtime {

using Json = nlohmann::json;

/** Annotations and labels Kuma's pod controller reads (pkg/plugins/runtime/k8s/metadata). */
inline constexpr char kSidecarInjectedAnnotation[] = "kuma.io/sidecar-injected";
inline constexpr char kMeshLabel[] = "kuma.io/mesh";
inline constexpr char kSidecarContainerName[] = "kuma-sidecar";
/** The port of the inbound of a Pod that no Service selects (Kuma's TCPPortReserved). */
inline constexpr uint32_t kServicelessInboundPort = 49151;

/** Mesh.meshServices.mode as the converter needs it. */
enum class MeshServicesMode { kDisabled, kEverywhere, kReachableBackends, kExclusive };

struct PodConverterOptions {
  /** multizone.zone.name: the kuma.io/zone tag and label (none when empty). */
  std::string zone;
  /** store.kubernetes.systemNamespace. */
  std::string systemNamespace = "kuma-system";
  /** experimental.inboundTagsDisabled. */
  bool inboundTagsDisabled = false;
  /** runtime.kubernetes.injector.nodeLabelsToCopy. */
  std::vector<std::string> nodeLabelsToCopy;
  /** runtime.kubernetes.workloadLabels: pod labels naming the workload, in order. */
  std::vector<std::string> workloadLabels;
};

/** Reads the cluster state the conversion needs beyond the Pod and its Services. */
struct PodConverterLookups {
  /** A namespaced object (ReplicaSet, Job) for Kuma's name extractor; NotFound when missing. */
  std::function<absl::StatusOr<Json>(const std::string& kind, const std::string& ns,
                                     const std::string& name)>
      getOwner;
  /** A Node's labels (only called when nodeLabelsToCopy is not empty and the Pod has a node). */
  std::function<absl::StatusOr<std::map<std::string, std::string>>(const std::string& node)>
      nodeLabels;
};

struct PodConversionInput {
  const Json& pod;
  /** The Services that select the Pod, sorted by name (selectingServices()). */
  const std::vector<Json>& services;
  const std::string& mesh;
  MeshServicesMode meshServicesMode = MeshServicesMode::kDisabled;
  /** Labels of the Dataplane object as stored (kept unless recomputed), empty when new. */
  std::map<std::string, std::string> existingLabels;
};

struct ConvertedDataplane {
  mesh::v1alpha1::Dataplane spec;
  /** The Dataplane object's labels (Kuma's resource_labels.Compute for a Pod on a zone). */
  std::map<std::string, std::string> labels;
};

/**
 * Kuma's Annotations.GetEnabled on labels or annotations: true for yes/true/enabled, false for
 * no/false/disabled or when absent; InvalidArgument with Kuma's message for other values.
 */
absl::StatusOr<bool> annotationEnabled(const std::map<std::string, std::string>& values,
                                       const std::string& key);

/** Whether Kuma's pod controller makes a Dataplane for this Pod (kuma.io/sidecar-injected). */
absl::StatusOr<bool> sidecarInjected(const Json& pod);

/**
 * The mesh of a Pod: its kuma.io/mesh label, else its (deprecated) kuma.io/mesh annotation, else
 * the namespace's label, else the namespace's annotation, else `default`.
 */
std::string meshOfPod(const Json& pod, const Json& ns);

/**
 * The Services of the Pod's namespace that select it (non-empty selector matching the Pod's
 * labels, `runtime.kubernetes.serviceSelectorIgnoredLabels`-free), without the ones annotated
 * kuma.io/ignore, sorted by name. Services without a selector are matched through
 * EndpointSlices by Kuma; kuma-cpp does not watch EndpointSlices and leaves them out.
 */
std::vector<Json> selectingServices(const Json& pod,
                                    const std::vector<const Json*>& servicesOfNamespace,
                                    const std::vector<std::string>& ignoredSelectorLabels);
std::vector<Json> selectingServices(const Json& pod, const std::vector<Json>& servicesOfNamespace,
                                    const std::vector<std::string>& ignoredSelectorLabels);

/** Whether a Service's selector (ignoring `ignoredSelectorLabels`) selects the Pod's labels. */
bool serviceSelectsPod(const Json& service, const Json& pod,
                       const std::vector<std::string>& ignoredSelectorLabels);

/** The Dataplane for the Pod, or InvalidArgument with Kuma's message. */
absl::StatusOr<ConvertedDataplane> convertPod(const PodConversionInput& input,
                                              const PodConverterOptions& options,
                                              const PodConverterLookups& lookups);

/** A string→string map of a JSON object member (labels, annotations, selector). */
std::map<std::string, std::string> stringMap(const Json& object);

}  // namespace kuma::k8s::runtime
