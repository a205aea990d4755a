#include "source/plugins/runtime/kubernetes/controllers.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "source/common/json_yaml.h"
#include "source/common/logging.h"
#include "source/common/status_macros.h"
#include "source/plugins/resources/kubernetes/list_watch.h"
#include "source/plugins/runtime/kubernetes/annotations.h"
#include "source/plugins/runtime/kubernetes/meshservice_plan.h"
#include "source/plugins/runtime/kubernetes/object_cache.h"
#include "source/plugins/runtime/kubernetes/work_queue.h"

namespace kuma::k8s::runtime {
namespace {

namespace mesh = ::kuma::mesh::v1alpha1;

constexpr char kDataplaneApiVersion[] = "kuma.io/v1alpha1";
/** Kuma's events recorder of the pod controller. */
constexpr char kReportingController[] = "k8s.kuma.io/dataplane-generator";
constexpr char kMeshServiceReportingController[] = "k8s.kuma.io/mesh-service-generator";
constexpr char kServiceNameLabel[] = "kubernetes.io/service-name";

std::string keyOf(const Json& object) {
  const Json& meta = common::jsonMember(object, "metadata");
  return absl::StrCat(common::jsonString(meta, "namespace"), "/", common::jsonString(meta, "name"));
}

/** `namespace/name` of a queue key; nullopt for a malformed one. */
std::optional<std::pair<std::string, std::string>> splitKey(const std::string& key) {
  std::vector<std::string> parts = absl::StrSplit(key, absl::MaxSplits('/', 1));
  if (parts.size() != 2) {
    return std::nullopt;
  }
  return std::make_pair(std::move(parts[0]), std::move(parts[1]));
}

std::string dataplanePath(const std::string& ns, const std::string& name) {
  return absl::StrCat("/apis/kuma.io/v1alpha1/namespaces/", ns, "/dataplanes",
                      name.empty() ? "" : "/", name);
}

/** The Pod's controller reference on its Dataplane (controller-runtime's SetControllerReference).
 */
Json controllerReference(const Json& pod) {
  const Json& meta = common::jsonMember(pod, "metadata");
  return Json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"name", common::jsonString(meta, "name")},
              {"uid", common::jsonString(meta, "uid")},
              {"controller", true},
              {"blockOwnerDeletion", true}};
}

// Multus's NetworkAttachmentDefinition, which Kuma's namespace controller writes for its CNI.
constexpr char kCrdsPath[] = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
constexpr char kNadCrd[] = "network-attachment-definitions.k8s.cni.cncf.io";
constexpr char kNadApi[] = "/apis/k8s.cni.cncf.io/v1";
constexpr char kKumaCni[] = "kuma-cni";

/** Kuma's mark of a Mesh whose default resources exist (common_k8s.K8sMeshDefaultsGenerated). */
constexpr char kMeshDefaultsGenerated[] = "k8s.kuma.io/mesh-defaults-generated";

/**
 * Kuma's onlySidecarContainerRunning predicate: a Pod not restarted Always whose kuma-sidecar
 * container runs while every other container terminated (successfully, unless the Pod is never
 * restarted).
 */
bool sidecarOutlivesItsApplication(const Json& pod) {
  const std::string policy = common::jsonString(common::jsonMember(pod, "spec"), "restartPolicy");
  if (policy.empty() || policy == "Always") {  // the API server defaults it to Always
    return false;
  }
  const Json& statuses = common::jsonMember(common::jsonMember(pod, "status"), "containerStatuses");
  bool sidecarRunning = false;
  for (const Json& status : statuses.is_array() ? statuses : Json::array()) {
    const Json& terminated = common::jsonMember(common::jsonMember(status, "state"), "terminated");
    if (common::jsonString(status, "name") == "kuma-sidecar") {
      if (terminated.is_object()) {
        return false;
      }
      sidecarRunning = true;
    } else if (!terminated.is_object()) {
      return false;  // an application container still runs
    } else if (policy != "Never") {
      const Json& code = common::jsonMember(terminated, "exitCode");
      if (!code.is_number_integer() || code.get<int64_t>() != 0) {
        return false;  // it will be restarted
      }
    }
  }
  return sidecarRunning;
}

/** Whether the Dataplane object is controlled by a Pod named `name`. */
bool controlledByPod(const Json& dataplane, const std::string& name) {
  const Json& owners =
      common::jsonMember(common::jsonMember(dataplane, "metadata"), "ownerReferences");
  if (!owners.is_array()) {
    return false;
  }
  for (const Json& owner : owners) {
    if (common::jsonString(owner, "kind") == "Pod" && common::jsonString(owner, "name") == name &&
        common::jsonMember(owner, "controller").is_boolean() && owner["controller"].get<bool>()) {
      return true;
    }
  }
  return false;
}

}  // namespace

class KubernetesControllers::Impl {
 public:
  enum class Written { kUnchanged, kCreated, kUpdated };

  explicit Impl(KubernetesControllersOptions options)
      : options_(std::move(options)),
        pods_([this](const JsonConstSharedPtr& before, const JsonConstSharedPtr& after) {
          queue_.add(keyOf(after ? *after : *before));
          // Kuma's pod status controller: creates and updates of a Pod whose sidecar outlived
          // its application containers.
          if (after && options_.quitEnvoy && sidecarOutlivesItsApplication(*after)) {
            statusQueue_.add(keyOf(*after));
          }
          // Kuma's MeshService controller: the Services selecting a Pod created, deleted, or
          // whose kuma.io/gateway annotation came or went (gateway Services have none).
          if (options_.meshServices &&
              (!before || !after || isGateway(*before) != isGateway(*after))) {
            const Json& pod = after ? *after : *before;
            for (const JsonConstSharedPtr& service : services_.list(
                     common::jsonString(common::jsonMember(pod, "metadata"), "namespace"))) {
              if (!stringMap(common::jsonMember(common::jsonMember(*service, "spec"), "selector"))
                       .empty() &&
                  serviceSelectsPod(*service, pod, {})) {
                meshServiceQueue_.add(keyOf(*service));
              }
            }
          }
        }),
        services_([this](const JsonConstSharedPtr& before, const JsonConstSharedPtr& after) {
          std::set<std::string> keys;
          for (const JsonConstSharedPtr& service : {before, after}) {
            if (service) {
              podsSelectedBy(*service, keys);
            }
          }
          for (const std::string& key : keys) {
            queue_.add(key);
          }
          if (after) {  // Kuma's service controller: creates and updates
            serviceQueue_.add(keyOf(*after));
          }
          meshServiceQueue_.add(keyOf(after ? *after : *before));
        }),
        // Kuma's namespace controller: creates and updates (not deletions), with CNI only.
        namespaces_([this](const JsonConstSharedPtr& before, const JsonConstSharedPtr& after) {
          if (after && options_.cniEnabled) {
            namespaceQueue_.add(common::jsonString(common::jsonMember(*after, "metadata"), "name"));
          }
          // Kuma's MeshService controller: the namespace's Services when its labels change.
          if (after && options_.meshServices &&
              (!before ||
               common::jsonMember(common::jsonMember(*before, "metadata"), "labels") !=
                   common::jsonMember(common::jsonMember(*after, "metadata"), "labels"))) {
            for (const JsonConstSharedPtr& service : services_.list(
                     common::jsonString(common::jsonMember(*after, "metadata"), "name"))) {
              meshServiceQueue_.add(keyOf(*service));
            }
          }
        }),
        meshServices_([](const JsonConstSharedPtr&, const JsonConstSharedPtr&) {}),
        // Kuma's MeshService controller watches EndpointSlices (headless Services, gateways).
        endpointSlices_([this](const JsonConstSharedPtr& before, const JsonConstSharedPtr& after) {
          const Json& meta = common::jsonMember(after ? *after : *before, "metadata");
          const std::string service =
              common::jsonString(common::jsonMember(meta, "labels"), kServiceNameLabel);
          if (!service.empty()) {
            meshServiceQueue_.add(
                absl::StrCat(common::jsonString(meta, "namespace"), "/", service));
          }
        }),
        // Kuma's controller Owns() its Dataplanes: one deleted by someone else is made again.
        dataplanes_([this](const JsonConstSharedPtr& before, const JsonConstSharedPtr& after) {
          if (before && !after &&
              controlledByPod(
                  *before, common::jsonString(common::jsonMember(*before, "metadata"), "name"))) {
            queue_.add(keyOf(*before));
          }
        }),
        queue_({"kuma-pod-controller", options_.workers},
               [this](const std::string& key) { return reconcile(key); }),
        serviceQueue_({"kuma-service-controller", 1},
                      [this](const std::string& key) { return reconcileService(key); }),
        namespaceQueue_({"kuma-namespace-controller", 1},
                        [this](const std::string& name) { return reconcileNamespace(name); }),
        statusQueue_({"kuma-pod-status-controller", 1},
                     [this](const std::string& key) { return reconcilePodStatus(key); }),
        meshServiceQueue_({"kuma-mesh-service-controller", 1},
                          [this](const std::string& key) { return reconcileMeshService(key); }),
        // Store events must not block (they come from the store's informers): a Mesh change is
        // read and mapped to its Pods here, on a worker of its own.
        meshQueue_({"kuma-mesh-to-pods", 1}, [this](const std::string& mesh) {
          queueForMesh(mesh);
          return reconcileMeshDefaults(mesh);
        }) {}

  ~Impl() { stop(); }

  absl::Status start() {
    if (!options_.client) {
      return absl::InvalidArgumentError("pod controller: no Kubernetes client");
    }
    auto run = [this](std::string path, ObjectCache* cache) {
      threads_.emplace_back([this, path = std::move(path), cache] {
        ListWatchOptions lw;
        lw.path = path;
        lw.resyncPeriod = options_.resyncPeriod;
        lw.watchTimeout = options_.watchTimeout;
        runListWatch(
            *options_.client, lw, *cache,
            [this](absl::Duration d) { return sleepUnlessStopped(d); }, stats_);
      });
    };
    // Namespaces and Services first: the first Pod events reconcile against them.
    run("/api/v1/namespaces", &namespaces_);
    run("/api/v1/services", &services_);
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    while (!(namespaces_.synced() && services_.synced())) {
      if (absl::Now() > deadline || !sleepUnlessStopped(absl::Milliseconds(20))) {
        return absl::DeadlineExceededError("pod controller: informers did not sync within 60 s");
      }
    }
    // The Dataplanes are read from their informer, as Kuma's cached client does (no GET per
    // reconcile); a create that finds one the cache did not have yet reads it from the API.
    run(absl::StrCat("/apis/", kDataplaneApiVersion, "/dataplanes"), &dataplanes_);
    while (!dataplanes_.synced()) {
      if (absl::Now() > deadline || !sleepUnlessStopped(absl::Milliseconds(20))) {
        return absl::DeadlineExceededError("pod controller: informers did not sync within 60 s");
      }
    }
    if (options_.meshServices) {
      run(absl::StrCat("/apis/", kDataplaneApiVersion, "/meshservices"), &meshServices_);
      run("/apis/discovery.k8s.io/v1/endpointslices", &endpointSlices_);
      while (!meshServices_.synced() || !endpointSlices_.synced()) {
        if (absl::Now() > deadline || !sleepUnlessStopped(absl::Milliseconds(20))) {
          return absl::DeadlineExceededError("pod controller: informers did not sync within 60 s");
        }
      }
      meshServiceQueue_.start();
    }
    run("/api/v1/pods", &pods_);
    queue_.start();
    serviceQueue_.start();
    namespaceQueue_.start();
    statusQueue_.start();
    meshQueue_.start();
    // Every Mesh once, as the mesh controller's informer lists them when it starts (Mesh events
    // of the store arrive only for changes, and none while these controllers are not running).
    absl::StatusOr<KubeResponse> meshes =
        options_.client->request("GET", absl::StrCat("/apis/", kDataplaneApiVersion, "/meshes"));
    if (meshes.ok() && meshes->status == 200) {
      const Json list = Json::parse(meshes->body, nullptr, false);
      const Json& items = common::jsonMember(list, "items");
      for (const Json& mesh : items.is_array() ? items : Json::array()) {
        meshQueue_.add(common::jsonString(common::jsonMember(mesh, "metadata"), "name"));
      }
    } else {
      logging::logger("k8s")->warn(
          "mesh controller: could not list the Meshes: {}",
          meshes.ok() ? kubeApiMessage(*meshes) : std::string(meshes.status().message()));
    }
    return absl::OkStatus();
  }

  void stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) {
        return;
      }
      stopping_ = true;
    }
    if (options_.client) {
      options_.client->cancelWatches();
    }
    if (options_.eventsClient) {
      options_.eventsClient->cancelWatches();  // no new Event writes once stopping
    }
    for (std::thread& t : threads_) {
      t.join();
    }
    threads_.clear();
    queue_.stop();
    serviceQueue_.stop();
    namespaceQueue_.stop();
    statusQueue_.stop();
    meshServiceQueue_.stop();
    meshQueue_.stop();
  }

  void onMeshChanged(const std::string& meshName) { meshQueue_.add(meshName); }

  /** Kuma's MeshReconciler: defaults once per Mesh object, marked by an annotation. */
  absl::Status reconcileMeshDefaults(const std::string& meshName) {
    if (!options_.ensureMeshDefaults) {
      return absl::OkStatus();
    }
    const std::string path = absl::StrCat("/apis/", kDataplaneApiVersion, "/meshes/", meshName);
    KUMA_ASSIGN_OR_RETURN(KubeResponse answer, options_.client->request("GET", path));
    if (answer.status == 404) {
      return absl::OkStatus();
    }
    if (answer.status != 200) {
      return kubeApiError("get Mesh", answer);
    }
    KUMA_ASSIGN_OR_RETURN(Json mesh, common::parseJson(answer.body));
    if (common::jsonString(common::jsonMember(common::jsonMember(mesh, "metadata"), "annotations"),
                           kMeshDefaultsGenerated) == "true") {
      return absl::OkStatus();
    }
    logging::logger("k8s")->info("ensuring that default mesh resources exist (mesh {})", meshName);
    KUMA_RETURN_IF_ERROR(options_.ensureMeshDefaults(meshName));
    const Json patch = {{"metadata", {{"annotations", {{kMeshDefaultsGenerated, "true"}}}}}};
    KUMA_ASSIGN_OR_RETURN(
        KubeResponse patched,
        options_.client->request("PATCH", path, patch.dump(), "application/merge-patch+json"));
    if (patched.status != 200 && patched.status != 404) {
      return kubeApiError("annotate Mesh", patched);
    }
    return absl::OkStatus();
  }

  /**
   * A Mesh event, on its worker: the mesh's meshServices.mode is read once and kept (the pod
   * controller's copy). Kuma's pod controller queues the mesh's Pods when the Mesh is new or its
   * mode turned Exclusive or back (Pods that waited for it retry at once); every Service is
   * queued for the MeshService controller when the mode changed in any way, the Mesh's creation
   * and deletion included (Kuma's reacts to every Mesh event).
   */
  void queueForMesh(const std::string& meshName) {
    if (!options_.meshServicesMode) {
      return;
    }
    absl::StatusOr<MeshServicesMode> read = options_.meshServicesMode(meshName);
    std::optional<MeshServicesMode> now;
    if (read.ok()) {
      now = *read;
    }
    std::optional<MeshServicesMode> before;
    bool seen = false;
    {
      absl::MutexLock lock(&mu_);
      if (auto it = meshModes_.find(meshName); it != meshModes_.end()) {
        seen = true;
        before = it->second;
      }
      meshModes_[meshName] = now;
    }
    if (options_.meshServices && (!seen || before != now)) {
      for (const JsonConstSharedPtr& service : services_.list("")) {
        meshServiceQueue_.add(keyOf(*service));
      }
    }
    if (!now.has_value() || (before.has_value() && ((*before == MeshServicesMode::kExclusive) ==
                                                    (*now == MeshServicesMode::kExclusive)))) {
      return;
    }
    for (const JsonConstSharedPtr& pod : pods_.list("")) {
      JsonConstSharedPtr ns = namespaces_.get(
          "", common::jsonString(common::jsonMember(*pod, "metadata"), "namespace"));
      if (meshOfPod(*pod, ns ? *ns : Json::object()) == meshName) {
        queue_.add(keyOf(*pod));
      }
    }
  }

  /** Kuma's MeshServiceReconciler for a Service (meshservice_plan.h). */
  absl::Status reconcileMeshService(const std::string& key) {
    const auto parts = splitKey(key);
    if (!parts) {
      return absl::OkStatus();
    }
    const auto& [ns, name] = *parts;
    JsonConstSharedPtr service = services_.get(ns, name);
    if (!service) {
      // Kuma leaves this to the garbage collector (owner reference); a cluster may not run it.
      // A headless Service's per-Pod MeshServices go too (Kuma's stay until their Pods go).
      KUMA_RETURN_IF_ERROR(deleteMeshServices(meshServicesOf(ns, name, /*podOwned=*/true),
                                              "its headless Service was deleted"));
      JsonConstSharedPtr existing = meshServices_.get(ns, name);
      if (existing && ownedByService(*existing, name)) {
        return deleteMeshService(ns, name, "its Service was deleted");
      }
      return absl::OkStatus();
    }
    JsonConstSharedPtr namespaceObject = namespaces_.get("", ns);
    if (!namespaceObject) {
      return absl::OkStatus();
    }
    const std::string meshName = meshOfPod(*service, *namespaceObject);
    std::optional<MeshServicesMode> mode;
    if (options_.meshServicesMode) {
      absl::StatusOr<MeshServicesMode> current = options_.meshServicesMode(meshName);
      if (current.ok()) {
        mode = *current;
      } else if (!absl::IsNotFound(current.status())) {
        return current.status();
      }
    }
    KUMA_ASSIGN_OR_RETURN(
        MeshServicePlan plan,
        planMeshService({*service, *namespaceObject, meshName, mode, options_.inboundTagsDisabled,
                         backsGatewayPods(ns, name)}));
    if (plan.action == MeshServicePlan::Action::kDelete) {
      if (plan.deletePerPod) {
        KUMA_RETURN_IF_ERROR(
            deleteMeshServices(meshServicesOf(ns, name, /*podOwned=*/false), plan.reason));
      }
      return meshServices_.get(ns, name) ? deleteMeshService(ns, name, plan.reason)
                                         : absl::OkStatus();
    }
    if (plan.action == MeshServicePlan::Action::kNone) {
      return absl::OkStatus();
    }
    if (plan.action == MeshServicePlan::Action::kUpsertPerPod) {
      return reconcileHeadless(*service, plan);
    }
    KUMA_ASSIGN_OR_RETURN(Written written, writeMeshService(*service, plan.object, "Service"));
    if (written != Written::kUnchanged) {
      // In Kuma's order: the ignored ports (inside its CreateOrUpdate), then the result.
      recordIgnoredPorts(*service, plan);
      const bool created = written == Written::kCreated;
      recordEvent(*service, "Normal", created ? "CreatedMeshService" : "UpdatedMeshService",
                  created ? "Create" : "Update",
                  absl::StrCat(created ? "Created" : "Updated", " Kuma MeshService: ", name),
                  "Service", kMeshServiceReportingController);
    }
    return absl::OkStatus();
  }

  void recordIgnoredPorts(const Json& service, const MeshServicePlan& plan) {
    if (!plan.unsupportedPorts.empty()) {
      recordEvent(
          service, "Normal", "IgnoredUnsupportedPort", "IgnoredPorts",
          absl::StrCat("Ignored unsupported ports: ", absl::StrJoin(plan.unsupportedPorts, ", ")),
          "Service", kMeshServiceReportingController);
    }
  }

  /**
   * Kuma's MeshService write (CreateOrUpdate with its mutation): `desired` merged into the
   * cached MeshService of its name, unless that one is owned by another object (Kuma's "already
   * exists and isn't owned by <ownerKind>", a Warning Event on the Service).
   */
  absl::StatusOr<Written> writeMeshService(const Json& service, const Json& desired,
                                           const std::string& ownerKind) {
    const Json& meta = common::jsonMember(desired, "metadata");
    const std::string ns = common::jsonString(meta, "namespace");
    const std::string name = common::jsonString(meta, "name");
    JsonConstSharedPtr existing = meshServices_.get(ns, name);
    if (existing) {
      const Json& owners =
          common::jsonMember(common::jsonMember(*existing, "metadata"), "ownerReferences");
      const Json& wanted = common::jsonMember(meta, "ownerReferences");
      const std::string uid =
          wanted.is_array() && !wanted.empty() ? common::jsonString(wanted[0], "uid") : "";
      if (!owners.is_array() || owners.empty() || common::jsonString(owners[0], "uid") != uid) {
        const std::string message =
            absl::StrCat("MeshService already exists and isn't owned by ", ownerKind);
        recordEvent(service, "Warning", "FailedToGenerateMeshService", "FailedToGenerate", message,
                    "Service", kMeshServiceReportingController);
        return absl::FailedPreconditionError(message);
      }
    }
    std::optional<Json> object = mergeMeshService(existing ? *existing : Json(), desired);
    if (!object) {
      return Written::kUnchanged;
    }
    const std::string base =
        absl::StrCat("/apis/", kDataplaneApiVersion, "/namespaces/", ns, "/meshservices");
    KUMA_ASSIGN_OR_RETURN(
        KubeResponse answer,
        existing ? options_.client->request("PUT", absl::StrCat(base, "/", name), object->dump())
                 : options_.client->request("POST", base, object->dump()));
    if (answer.status != 200 && answer.status != 201) {
      return kubeApiError(existing ? "update MeshService" : "create MeshService", answer);
    }
    if (absl::StatusOr<Json> written = common::parseJson(answer.body); written.ok()) {
      meshServices_.onEvent(existing ? "MODIFIED" : "ADDED", *written);
    }
    return existing ? Written::kUpdated : Written::kCreated;
  }

  /** Kuma's headless branch: a MeshService per endpoint Pod, the stale ones deleted. */
  absl::Status reconcileHeadless(const Json& service, const MeshServicePlan& plan) {
    const Json& meta = common::jsonMember(service, "metadata");
    const std::string ns = common::jsonString(meta, "namespace");
    const std::string name = common::jsonString(meta, "name");
    std::map<std::string, Json> desired;  // `namespace/name` -> MeshService
    const PodEndpoints podEndpoints = podEndpointsOf(ns, name);
    for (const Json* endpoint : podEndpoints.endpoints) {
      JsonConstSharedPtr pod = endpointPod(*endpoint, ns);
      Json object = perPodMeshService(plan, service, *endpoint, pod.get());
      const Json& objectMeta = object["metadata"];
      std::string key = absl::StrCat(common::jsonString(objectMeta, "namespace"), "/",
                                     common::jsonString(objectMeta, "name"));
      desired[std::move(key)] = std::move(object);
    }
    // The Pods' MeshServices of this Service no longer among its endpoints (Kuma leaves them to
    // the garbage collector once their Pod goes).
    for (const JsonConstSharedPtr& ms : meshServicesOf("", name, /*podOwned=*/true)) {
      const Json& msMeta = common::jsonMember(*ms, "metadata");
      const std::string msNamespace = common::jsonString(msMeta, "namespace");
      const std::string msName = common::jsonString(msMeta, "name");
      if (!desired.contains(absl::StrCat(msNamespace, "/", msName))) {
        KUMA_RETURN_IF_ERROR(deleteMeshService(msNamespace, msName, "its Pod left the Service"));
      }
    }
    int created = 0;
    int updated = 0;
    for (const auto& [key, object] : desired) {
      KUMA_ASSIGN_OR_RETURN(Written written, writeMeshService(service, object, "Pod"));
      created += written == Written::kCreated ? 1 : 0;
      updated += written == Written::kUpdated ? 1 : 0;
      if (written != Written::kUnchanged) {
        recordIgnoredPorts(service, plan);
      }
    }
    if (created > 0) {
      recordEvent(service, "Normal", "CreatedMeshService", "Create",
                  absl::StrCat("Created ", created, " MeshServices"), "Service",
                  kMeshServiceReportingController);
    }
    if (updated > 0) {
      recordEvent(service, "Normal", "UpdatedMeshService", "Update",
                  absl::StrCat("Updated ", updated, " MeshServices"), "Service",
                  kMeshServiceReportingController);
    }
    return absl::OkStatus();
  }

  static bool isGateway(const Json& pod) {
    return common::jsonMember(
               common::jsonMember(common::jsonMember(pod, "metadata"), "annotations"),
               "kuma.io/gateway")
        .is_string();
  }

  /** The endpoints (targetRef a Pod) of a Service's EndpointSlices, and the slices they are in. */
  struct PodEndpoints {
    std::vector<JsonConstSharedPtr> slices;
    std::vector<const Json*> endpoints;  // into `slices`
  };

  /** Kuma's filter of a Service's EndpointSlice endpoints: kind Pod, apiVersion v1 or none. */
  PodEndpoints podEndpointsOf(const std::string& ns, const std::string& service) const {
    PodEndpoints out;
    for (const JsonConstSharedPtr& slice : endpointSlices_.list(ns)) {
      if (common::jsonString(common::jsonMember(common::jsonMember(*slice, "metadata"), "labels"),
                             kServiceNameLabel) != service) {
        continue;
      }
      out.slices.push_back(slice);
      const Json& endpoints = common::jsonMember(*slice, "endpoints");
      if (!endpoints.is_array()) {
        continue;
      }
      // (Not `is_array() ? endpoints : Json::array()`: that copies, and the pointers kept below
      // would dangle.)
      for (const Json& endpoint : endpoints) {
        const Json& target = common::jsonMember(endpoint, "targetRef");
        const std::string apiVersion = common::jsonString(target, "apiVersion");
        if (common::jsonString(target, "kind") == "Pod" &&
            (apiVersion == "v1" || apiVersion.empty()) &&
            !common::jsonString(target, "name").empty()) {
          out.endpoints.push_back(&endpoint);
        }
      }
    }
    return out;
  }

  /** Kuma's isServiceForGateway: the first endpoint Pod that exists carries kuma.io/gateway. */
  bool backsGatewayPods(const std::string& ns, const std::string& service) const {
    const PodEndpoints podEndpoints = podEndpointsOf(ns, service);
    for (const Json* endpoint : podEndpoints.endpoints) {
      if (JsonConstSharedPtr pod = endpointPod(*endpoint, ns)) {
        return isGateway(*pod);
      }
    }
    return false;
  }

  /** The cached Pod an endpoint's targetRef names (its namespace defaults to the slice's). */
  JsonConstSharedPtr endpointPod(const Json& endpoint, const std::string& ns) const {
    const Json& target = common::jsonMember(endpoint, "targetRef");
    const std::string podNamespace = common::jsonString(target, "namespace");
    return pods_.get(podNamespace.empty() ? ns : podNamespace, common::jsonString(target, "name"));
  }

  absl::Status reconcile(const std::string& key) {
    const auto parts = splitKey(key);
    if (!parts) {
      return absl::OkStatus();
    }
    const auto& [ns, name] = *parts;
    JsonConstSharedPtr pod = pods_.get(ns, name);
    if (!pod) {
      {
        absl::MutexLock lock(&mu_);
        lastFailure_.erase(key);
      }
      return deleteIfControlled(ns, name, "pod deleted");
    }
    const auto annotations =
        stringMap(common::jsonMember(common::jsonMember(*pod, "metadata"), "annotations"));
    for (const char* zoneProxy : {"kuma.io/ingress", "kuma.io/egress"}) {
      if (auto it = annotations.find(zoneProxy);
          it != annotations.end() && (it->second == "enabled" || it->second == "true")) {
        logging::logger("k8s")->warn("Pod {}: {} Pods (zone proxies) are not supported yet", key,
                                     zoneProxy);
        return absl::OkStatus();
      }
    }
    if (auto it = annotations.find("kuma.io/gateway");
        it != annotations.end() && it->second == "builtin") {
      logging::logger("k8s")->warn("Pod {}: builtin gateway Pods are not supported yet", key);
      return absl::OkStatus();
    }
    absl::StatusOr<bool> injected = sidecarInjected(*pod);
    if (!injected.ok()) {
      return injected.status();
    }
    if (!*injected) {
      return absl::OkStatus();
    }
    JsonConstSharedPtr namespaceObject = namespaces_.get("", ns);
    if (!namespaceObject) {
      return absl::NotFoundError(
          absl::StrCat("unable to get Namespace for Pod: namespaces \"", ns, "\" not found"));
    }
    if (common::jsonString(common::jsonMember(*namespaceObject, "status"), "phase") ==
        "Terminating") {
      return absl::OkStatus();
    }
    const Json& status = common::jsonMember(*pod, "status");
    if (common::jsonString(status, "phase") == "Succeeded") {
      return deleteIfControlled(ns, name, "pod succeeded");
    }
    if (common::jsonString(status, "podIP").empty()) {
      return deleteIfControlled(ns, name, "pod IP is empty");
    }
    if (common::jsonString(status, "reason") == "Evicted") {
      return deleteIfControlled(ns, name, "pod was evicted");
    }
    // The cached Services are read in place; only the selecting ones are copied.
    const std::vector<JsonConstSharedPtr> cached = services_.list(ns);
    std::vector<const Json*> namespaceServices;
    namespaceServices.reserve(cached.size());
    for (const JsonConstSharedPtr& service : cached) {
      namespaceServices.push_back(service.get());
    }
    const std::vector<Json> services =
        selectingServices(*pod, namespaceServices, options_.ignoredServiceSelectorLabels);
    const std::string meshName = meshOfPod(*pod, *namespaceObject);
    MeshServicesMode mode = MeshServicesMode::kDisabled;
    std::optional<MeshServicesMode> known;
    {
      // As the Mesh events keep it (Kuma reads the Mesh from its informer cache): no request
      // per Pod. A mesh not seen yet is read.
      absl::MutexLock lock(&mu_);
      if (auto it = meshModes_.find(meshName); it != meshModes_.end()) {
        known = it->second;
      }
    }
    if (known.has_value()) {
      mode = *known;
    } else if (options_.meshServicesMode) {
      absl::StatusOr<MeshServicesMode> found = options_.meshServicesMode(meshName);
      if (!found.ok()) {
        return absl::Status(found.status().code(),
                            absl::StrCat("mesh \"", meshName, "\": ", found.status().message()));
      }
      mode = *found;
    }
    return createOrUpdate(*pod, services, meshName, mode);
  }

  void collect(std::vector<prometheus::MetricFamily>& out) const {
    std::vector<prometheus::MetricFamily> others;
    queue_.collect(out);
    serviceQueue_.collect(others);
    if (options_.cniEnabled) {
      namespaceQueue_.collect(others);
    }
    if (options_.quitEnvoy) {
      statusQueue_.collect(others);
    }
    if (options_.meshServices) {
      meshServiceQueue_.collect(others);
    }
    // One family per name, with every controller's samples.
    for (prometheus::MetricFamily& family : others) {
      auto it = std::find_if(out.begin(), out.end(), [&](const prometheus::MetricFamily& f) {
        return f.name == family.name;
      });
      if (it == out.end()) {
        out.push_back(std::move(family));
      } else {
        it->metric.insert(it->metric.end(), family.metric.begin(), family.metric.end());
      }
    }
  }
  bool waitIdle(absl::Duration timeout) const {
    return queue_.waitIdle(timeout) && serviceQueue_.waitIdle(timeout) &&
           namespaceQueue_.waitIdle(timeout) && statusQueue_.waitIdle(timeout) &&
           meshServiceQueue_.waitIdle(timeout);
  }

  /**
   * Kuma's PodStatusReconciler: a Pod that is not restarted (a Job's) whose application
   * containers ended while its kuma-sidecar runs would never finish; Envoy is told to quit.
   * An error (Envoy unreachable) is retried with back-off until the Pod is gone, as in Kuma.
   */
  absl::Status reconcilePodStatus(const std::string& key) {
    const auto parts = splitKey(key);
    if (!parts) {
      return absl::OkStatus();
    }
    const auto& [ns, name] = *parts;
    JsonConstSharedPtr pod = pods_.get(ns, name);
    JsonConstSharedPtr dataplane = dataplanes_.get(ns, name);
    if (!pod || !dataplane) {
      return absl::OkStatus();
    }
    logging::logger("k8s")->info("pod {}: sending request to terminate Envoy", key);
    absl::Status quit =
        options_.quitEnvoy(common::jsonString(*dataplane, "mesh"), absl::StrCat(name, ".", ns));
    if (!quit.ok()) {
      return absl::Status(quit.code(), absl::StrCat("envoy admin client failed. Most probably the "
                                                    "pod is already going down.: ",
                                                    quit.message()));
    }
    return absl::OkStatus();
  }

  /**
   * Kuma's NamespaceReconciler (with runtime.kubernetes.injector.cniEnabled): a namespace that
   * carries the kuma.io/sidecar-injection label (enabled or disabled) gets Multus's
   * NetworkAttachmentDefinition `kuma-cni`, one without it loses it. Nothing without Multus's
   * CRD, and nothing in a Terminating namespace.
   */
  absl::Status reconcileNamespace(const std::string& name) {
    KUMA_ASSIGN_OR_RETURN(KubeResponse crd,
                          options_.client->request("GET", absl::StrCat(kCrdsPath, "/", kNadCrd)));
    if (crd.status == 404) {
      return absl::OkStatus();
    }
    if (crd.status != 200) {
      return kubeApiError(absl::StrCat("get CRD ", kNadCrd), crd);
    }
    JsonConstSharedPtr ns = namespaces_.get("", name);
    if (!ns || common::jsonString(common::jsonMember(*ns, "status"), "phase") == "Terminating") {
      return absl::OkStatus();
    }
    const Annotations labels(
        stringMap(common::jsonMember(common::jsonMember(*ns, "metadata"), "labels")));
    absl::StatusOr<std::pair<bool, bool>> injection = labels.enabled("kuma.io/sidecar-injection");
    if (!injection.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unable to check sidecar injection label on namespace ", name, ": ",
                       injection.status().message()));
    }
    const std::string path =
        absl::StrCat(kNadApi, "/namespaces/", name, "/network-attachment-definitions/", kKumaCni);
    KUMA_ASSIGN_OR_RETURN(KubeResponse existing, options_.client->request("GET", path));
    if (existing.status != 200 && existing.status != 404) {
      return kubeApiError("get NetworkAttachmentDefinition", existing);
    }
    if (injection->second) {
      if (existing.status == 200) {
        return absl::OkStatus();  // CreateOrUpdate with nothing to change
      }
      const Json nad = {{"apiVersion", "k8s.cni.cncf.io/v1"},
                        {"kind", "NetworkAttachmentDefinition"},
                        {"metadata", {{"name", kKumaCni}, {"namespace", name}}},
                        {"spec", {{"config", ""}}}};
      KUMA_ASSIGN_OR_RETURN(
          KubeResponse created,
          options_.client->request(
              "POST",
              absl::StrCat(kNadApi, "/namespaces/", name, "/network-attachment-definitions"),
              nad.dump()));
      if (created.status != 201 && created.status != 409) {
        return kubeApiError("create NetworkAttachmentDefinition", created);
      }
      logging::logger("k8s")->info(
          "namespace {}: created NetworkAttachmentDefinition for CNI support", name);
      return absl::OkStatus();
    }
    if (existing.status == 404) {
      return absl::OkStatus();  // the namespace never had Kuma injected
    }
    KUMA_ASSIGN_OR_RETURN(KubeResponse deleted, options_.client->request("DELETE", path));
    if (deleted.status != 200 && deleted.status != 202 && deleted.status != 404) {
      return kubeApiError("delete NetworkAttachmentDefinition", deleted);
    }
    logging::logger("k8s")->info("namespace {}: deleted NetworkAttachmentDefinition", name);
    return absl::OkStatus();
  }

  /** Kuma's ServiceReconciler: the ingress upstream annotations on the mesh's Services. */
  absl::Status reconcileService(const std::string& key) {
    const auto parts = splitKey(key);
    if (!parts) {
      return absl::OkStatus();
    }
    const auto& [ns, name] = *parts;
    JsonConstSharedPtr service = services_.get(ns, name);
    if (!service) {
      return absl::OkStatus();
    }
    const Json& meta = common::jsonMember(*service, "metadata");
    const auto annotations = stringMap(common::jsonMember(meta, "annotations"));
    if (auto it = annotations.find("kuma.io/gateway");
        it != annotations.end() && it->second == "builtin") {
      return absl::OkStatus();
    }
    JsonConstSharedPtr namespaceObject = namespaces_.get("", ns);
    if (!namespaceObject) {
      return absl::OkStatus();
    }
    KUMA_ASSIGN_OR_RETURN(
        bool injected,
        annotationEnabled(stringMap(common::jsonMember(
                              common::jsonMember(*namespaceObject, "metadata"), "labels")),
                          "kuma.io/sidecar-injection"));
    if (!injected ||
        common::jsonString(common::jsonMember(*service, "spec"), "type") == "ExternalName") {
      return absl::OkStatus();
    }
    KUMA_ASSIGN_OR_RETURN(bool ignored, annotationEnabled(annotations, "kuma.io/ignore"));
    if (ignored) {
      return absl::OkStatus();
    }
    static constexpr const char* kUpstream[] = {"ingress.kubernetes.io/service-upstream",
                                                "nginx.ingress.kubernetes.io/service-upstream"};
    bool missing = false;
    for (const char* annotation : kUpstream) {
      auto it = annotations.find(annotation);
      missing = missing || it == annotations.end() || it->second != "true";
    }
    if (!missing) {
      return absl::OkStatus();
    }
    Json updated = *service;
    Json& updatedAnnotations = updated["metadata"]["annotations"];
    if (!updatedAnnotations.is_object()) {
      updatedAnnotations = Json::object();
    }
    for (const char* annotation : kUpstream) {
      updatedAnnotations[annotation] = "true";
    }
    logging::logger("k8s")->info("annotating service {} which is part of the mesh", key);
    KUMA_ASSIGN_OR_RETURN(
        KubeResponse answer,
        options_.client->request("PUT", absl::StrCat("/api/v1/namespaces/", ns, "/services/", name),
                                 updated.dump()));
    if (answer.status != 200) {
      return kubeApiError(
          absl::StrCat("unable to update ingress service upstream annotation on service ", name),
          answer);
    }
    return absl::OkStatus();
  }

 private:
  bool sleepUnlessStopped(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    auto stopped = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithTimeout(absl::Condition(&stopped), d);
    return !stopping_;
  }

  void podsSelectedBy(const Json& service, std::set<std::string>& keys) const {
    const std::string ns = common::jsonString(common::jsonMember(service, "metadata"), "namespace");
    if (stringMap(common::jsonMember(common::jsonMember(service, "spec"), "selector")).empty()) {
      return;
    }
    for (const JsonConstSharedPtr& pod : pods_.list(ns)) {
      if (serviceSelectsPod(service, *pod, {})) {
        keys.insert(keyOf(*pod));
      }
    }
  }

  /** The Dataplane object as the informer has it, nullopt when there is none. */
  std::optional<Json> cachedDataplane(const std::string& ns, const std::string& name) const {
    JsonConstSharedPtr cached = dataplanes_.get(ns, name);
    return cached ? std::optional<Json>(*cached) : std::optional<Json>();
  }

  /** The Dataplane object from the API server, nullopt when there is none. */
  absl::StatusOr<std::optional<Json>> getDataplane(const std::string& ns, const std::string& name) {
    KUMA_ASSIGN_OR_RETURN(KubeResponse answer,
                          options_.client->request("GET", dataplanePath(ns, name)));
    if (answer.status == 404) {
      return std::optional<Json>();
    }
    if (answer.status != 200) {
      return kubeApiError("get Dataplane", answer);
    }
    KUMA_ASSIGN_OR_RETURN(Json object, common::parseJson(answer.body));
    return std::optional<Json>(std::move(object));
  }

  absl::Status deleteIfControlled(const std::string& ns, const std::string& name,
                                  const std::string& cause) {
    std::optional<Json> existing = cachedDataplane(ns, name);
    if (!existing.has_value() || !controlledByPod(*existing, name)) {
      return absl::OkStatus();
    }
    Json preconditions = {
        {"kind", "DeleteOptions"},
        {"apiVersion", "v1"},
        {"preconditions",
         {{"uid", common::jsonString(common::jsonMember(*existing, "metadata"), "uid")}}}};
    KUMA_ASSIGN_OR_RETURN(
        KubeResponse answer,
        options_.client->request("DELETE", dataplanePath(ns, name), preconditions.dump()));
    if (answer.status == 404 || answer.status == 409) {
      return absl::OkStatus();  // gone already, or replaced by a newer object
    }
    if (answer.status != 200 && answer.status != 202) {
      return kubeApiError("delete Dataplane", answer);
    }
    dataplanes_.onEvent("DELETED", *existing);  // before the watch says so
    logging::logger("k8s")->info("Dataplane {}/{} deleted ({})", ns, name, cause);
    return absl::OkStatus();
  }

  /**
   * The cached MeshServices labelled k8s.kuma.io/service-name `service` in `ns` ("" every
   * namespace); `podOwned`: only those whose first owner is a Pod (a headless Service's).
   */
  std::vector<JsonConstSharedPtr> meshServicesOf(const std::string& ns, const std::string& service,
                                                 bool podOwned) const {
    std::vector<JsonConstSharedPtr> out;
    for (const JsonConstSharedPtr& ms : meshServices_.list(ns)) {
      const Json& meta = common::jsonMember(*ms, "metadata");
      const Json& owners = common::jsonMember(meta, "ownerReferences");
      if (common::jsonString(common::jsonMember(meta, "labels"), "k8s.kuma.io/service-name") ==
              service &&
          (!podOwned || (owners.is_array() && !owners.empty() &&
                         common::jsonString(owners[0], "kind") == "Pod"))) {
        out.push_back(ms);
      }
    }
    return out;
  }

  /** Deletes `meshServices` (meshServicesOf()). */
  absl::Status deleteMeshServices(const std::vector<JsonConstSharedPtr>& meshServices,
                                  const std::string& cause) {
    for (const JsonConstSharedPtr& ms : meshServices) {
      const Json& meta = common::jsonMember(*ms, "metadata");
      KUMA_RETURN_IF_ERROR(deleteMeshService(common::jsonString(meta, "namespace"),
                                             common::jsonString(meta, "name"), cause));
    }
    return absl::OkStatus();
  }

  static bool ownedByService(const Json& meshService, const std::string& name) {
    const Json& owners =
        common::jsonMember(common::jsonMember(meshService, "metadata"), "ownerReferences");
    for (const Json& owner : owners.is_array() ? owners : Json::array()) {
      if (common::jsonString(owner, "kind") == "Service" &&
          common::jsonString(owner, "name") == name) {
        return true;
      }
    }
    return false;
  }

  absl::Status deleteMeshService(const std::string& ns, const std::string& name,
                                 const std::string& cause) {
    KUMA_ASSIGN_OR_RETURN(KubeResponse answer,
                          options_.client->request(
                              "DELETE", absl::StrCat("/apis/", kDataplaneApiVersion, "/namespaces/",
                                                     ns, "/meshservices/", name)));
    if (answer.status != 200 && answer.status != 202 && answer.status != 404) {
      return kubeApiError("delete MeshService", answer);
    }
    logging::logger("k8s")->info("MeshService {}/{} deleted ({})", ns, name, cause);
    return absl::OkStatus();
  }

  PodConverterLookups lookups() const {
    PodConverterLookups out;
    std::shared_ptr<KubeClient> client = options_.client;
    out.getOwner = [client](const std::string& kind, const std::string& ns,
                            const std::string& name) -> absl::StatusOr<Json> {
      const std::string path =
          kind == "ReplicaSet"
              ? absl::StrCat("/apis/apps/v1/namespaces/", ns, "/replicasets/", name)
              : absl::StrCat("/apis/batch/v1/namespaces/", ns, "/jobs/", name);
      KUMA_ASSIGN_OR_RETURN(KubeResponse answer, client->request("GET", path));
      if (answer.status != 200) {
        return kubeApiError(absl::StrCat("get ", kind, " ", ns, "/", name), answer);
      }
      return common::parseJson(answer.body);
    };
    out.nodeLabels =
        [client](const std::string& node) -> absl::StatusOr<std::map<std::string, std::string>> {
      KUMA_ASSIGN_OR_RETURN(KubeResponse answer,
                            client->request("GET", absl::StrCat("/api/v1/nodes/", node)));
      if (answer.status != 200) {
        return kubeApiError("get Node", answer);
      }
      KUMA_ASSIGN_OR_RETURN(Json object, common::parseJson(answer.body));
      return stringMap(common::jsonMember(common::jsonMember(object, "metadata"), "labels"));
    };
    return out;
  }

  /** Kuma's CreateOrUpdate with its Events on the Pod (Created/Updated/FailedToGenerate). */
  absl::Status createOrUpdate(const Json& pod, const std::vector<Json>& services,
                              const std::string& meshName, MeshServicesMode mode) {
    const std::string key = keyOf(pod);
    const std::string name = common::jsonString(common::jsonMember(pod, "metadata"), "name");
    absl::StatusOr<Written> written = writeDataplane(pod, services, meshName, mode);
    if (!written.ok()) {
      // One Warning per distinct failure, not one per retry (Kuma's recorder folds repeats
      // into an event series).
      const std::string note =
          absl::StrCat("Failed to generate Kuma Dataplane: ", written.status().message());
      bool fresh = false;
      {
        absl::MutexLock lock(&mu_);
        std::string& last = lastFailure_[key];
        fresh = last != note;
        last = note;
      }
      if (fresh) {
        recordEvent(pod, "Warning", "FailedToGenerateKumaDataplane", "FailedToGenerate", note);
      }
      return written.status();
    }
    {
      absl::MutexLock lock(&mu_);
      lastFailure_.erase(key);
    }
    if (*written == Written::kCreated) {
      recordEvent(pod, "Normal", "CreatedKumaDataplane", "Create",
                  absl::StrCat("Created Kuma Dataplane: ", name));
    } else if (*written == Written::kUpdated) {
      recordEvent(pod, "Normal", "UpdatedKumaDataplane", "Update",
                  absl::StrCat("Updated Kuma Dataplane: ", name));
    }
    return absl::OkStatus();
  }

  /** An events.k8s.io/v1 Event regarding the Pod, as client-go's events recorder writes it. */
  void recordEvent(const Json& pod, const std::string& type, const std::string& reason,
                   const std::string& action, const std::string& note,
                   const std::string& kind = "Pod",
                   const char* reportingController = kReportingController) {
    const Json& meta = common::jsonMember(pod, "metadata");
    const std::string ns = common::jsonString(meta, "namespace");
    const std::string name = common::jsonString(meta, "name");
    const absl::Time now = absl::Now();
    Json event = {
        {"apiVersion", "events.k8s.io/v1"},
        {"kind", "Event"},
        {"metadata",
         {{"name", absl::StrCat(name, ".", absl::Hex(absl::ToUnixNanos(now)))}, {"namespace", ns}}},
        {"eventTime", absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", now, absl::UTCTimeZone())},
        {"reportingController", reportingController},
        {"reportingInstance", absl::StrCat(reportingController, "-", options_.hostname)},
        {"action", action},
        {"reason", reason},
        {"note", note.substr(0, 1024)},  // the API server's limit
        {"type", type},
        {"regarding",
         {{"apiVersion", "v1"},
          {"kind", kind},
          {"namespace", ns},
          {"name", name},
          {"uid", common::jsonString(meta, "uid")},
          {"resourceVersion", common::jsonString(meta, "resourceVersion")}}}};
    KubeClient& events = options_.eventsClient ? *options_.eventsClient : *options_.client;
    absl::StatusOr<KubeResponse> answer = events.request(
        "POST", absl::StrCat("/apis/events.k8s.io/v1/namespaces/", ns, "/events"), event.dump());
    if (!answer.ok() || answer->status != 201) {
      logging::logger("k8s")->debug("could not record the event {} on {} {}/{}: {}", reason, kind,
                                    ns, name,
                                    answer.ok() ? absl::StrCat("HTTP ", answer->status)
                                                : std::string(answer.status().message()));
    }
  }

  absl::StatusOr<Written> writeDataplane(const Json& pod, const std::vector<Json>& services,
                                         const std::string& meshName, MeshServicesMode mode) {
    const std::string ns = common::jsonString(common::jsonMember(pod, "metadata"), "namespace");
    const std::string name = common::jsonString(common::jsonMember(pod, "metadata"), "name");
    std::optional<Json> existing = cachedDataplane(ns, name);
    const bool conflicted = [&] {
      absl::MutexLock lock(&mu_);
      return createConflicts_.erase(absl::StrCat(ns, "/", name)) > 0;
    }();
    if (!existing.has_value() && conflicted) {
      // The last create found one the informer had not seen: read it from the API server.
      KUMA_ASSIGN_OR_RETURN(existing, getDataplane(ns, name));
    }
    PodConversionInput input{pod, services, meshName, mode, {}};
    mesh::Dataplane currentSpec;
    bool currentSpecParsed = false;
    if (existing.has_value()) {
      input.existingLabels =
          stringMap(common::jsonMember(common::jsonMember(*existing, "metadata"), "labels"));
      if (const Json& spec = common::jsonMember(*existing, "spec"); spec.is_object()) {
        google::protobuf::util::JsonParseOptions parse;
        parse.ignore_unknown_fields = true;
        currentSpecParsed =
            google::protobuf::util::JsonStringToMessage(spec.dump(), &currentSpec, parse).ok();
      }
    }
    absl::StatusOr<ConvertedDataplane> converted = convertPod(input, options_.converter, lookups());
    if (!converted.ok()) {
      return absl::Status(converted.status().code(),
                          absl::StrCat("unable to translate a Pod into a Dataplane: ",
                                       converted.status().message()));
    }
    if (existing.has_value() && currentSpecParsed &&
        google::protobuf::util::MessageDifferencer::Equals(currentSpec, converted->spec) &&
        common::jsonString(*existing, "mesh") == meshName &&
        input.existingLabels == converted->labels && controlledByPod(*existing, name)) {
      return Written::kUnchanged;
    }
    std::string specJson;
    google::protobuf::util::JsonPrintOptions print;
    if (!google::protobuf::util::MessageToJsonString(converted->spec, &specJson, print).ok()) {
      return absl::InternalError("cannot encode the Dataplane spec");
    }
    KUMA_ASSIGN_OR_RETURN(Json spec, common::parseJson(specJson));
    Json object = existing.has_value() ? *existing : Json::object();
    object["apiVersion"] = kDataplaneApiVersion;
    object["kind"] = "Dataplane";
    object["mesh"] = meshName;
    object["spec"] = std::move(spec);
    Json& meta = object["metadata"];
    if (!meta.is_object()) {
      meta = Json::object();
    }
    meta["name"] = name;
    meta["namespace"] = ns;
    meta["labels"] = converted->labels;
    // SetControllerReference: replaces another Pod reference of the same name, keeps the rest.
    Json owners = Json::array();
    if (const Json& current = common::jsonMember(meta, "ownerReferences"); current.is_array()) {
      for (const Json& owner : current) {
        if (!(common::jsonString(owner, "kind") == "Pod" &&
              common::jsonString(owner, "name") == name)) {
          owners.push_back(owner);
        }
      }
    }
    owners.push_back(controllerReference(pod));
    meta["ownerReferences"] = std::move(owners);
    absl::StatusOr<KubeResponse> answer =
        existing.has_value()
            ? options_.client->request("PUT", dataplanePath(ns, name), object.dump())
            : options_.client->request("POST", dataplanePath(ns, ""), object.dump());
    KUMA_RETURN_IF_ERROR(answer.status());
    if (answer->status == 409 && !existing.has_value()) {
      absl::MutexLock lock(&mu_);
      createConflicts_.insert(absl::StrCat(ns, "/", name));
    }
    if (answer->status != 200 && answer->status != 201) {
      return kubeApiError(existing.has_value() ? "update Dataplane" : "create Dataplane", *answer);
    }
    // Into the cache before the watch brings it: the next reconcile compares with what we wrote.
    if (absl::StatusOr<Json> written = common::parseJson(answer->body); written.ok()) {
      dataplanes_.onEvent(existing.has_value() ? "MODIFIED" : "ADDED", *written);
    }
    logging::logger("k8s")->debug("Dataplane {}/{} {}", ns, name,
                                  existing.has_value() ? "updated" : "created");
    return existing.has_value() ? Written::kUpdated : Written::kCreated;
  }

  const KubernetesControllersOptions options_;
  ObjectCache pods_;
  ObjectCache services_;
  ObjectCache namespaces_;
  ObjectCache meshServices_;
  ObjectCache endpointSlices_;
  ObjectCache dataplanes_;
  WorkQueue queue_;
  WorkQueue serviceQueue_;
  WorkQueue namespaceQueue_;
  WorkQueue statusQueue_;
  WorkQueue meshServiceQueue_;
  WorkQueue meshQueue_;  // not exported: no such controller in Kuma
  ListWatchStats stats_;
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  /** Each mesh's meshServices.mode as the Mesh events left it (nullopt: no such Mesh). */
  std::map<std::string, std::optional<MeshServicesMode>> meshModes_ ABSL_GUARDED_BY(mu_);
  /** The last FailedToGenerate note per Pod key (one Warning per distinct failure). */
  std::map<std::string, std::string> lastFailure_ ABSL_GUARDED_BY(mu_);
  /** Pods whose last Dataplane create found one already there (a stale informer). */
  std::set<std::string> createConflicts_ ABSL_GUARDED_BY(mu_);
};

KubernetesControllers::KubernetesControllers(KubernetesControllersOptions options)
    : options_(std::move(options)) {}

KubernetesControllers::~KubernetesControllers() {
  stop();
}

absl::Status KubernetesControllers::start() {
  // Fresh clients per run: stop() cancels a run's clients for good. They share the rate limits
  // of the configured ones.
  KubernetesControllersOptions options = options_;
  if (options.client) {
    options.client = options.client->sibling();
  }
  if (options.eventsClient) {
    options.eventsClient = options.eventsClient->sibling();
  }
  auto impl = std::make_shared<Impl>(std::move(options));
  {
    absl::MutexLock lock(&mu_);
    if (impl_ != nullptr) {
      return absl::FailedPreconditionError("kubernetes controllers: already started");
    }
    impl_ = impl;  // onMeshChanged() during the informers' sync queues already
  }
  absl::Status started = impl->start();
  if (!started.ok()) {
    stop();
  }
  return started;
}

void KubernetesControllers::stop() {
  std::shared_ptr<Impl> impl;
  {
    absl::MutexLock lock(&mu_);
    impl = std::move(impl_);
    impl_.reset();
  }
  if (impl != nullptr) {
    impl->stop();
  }
}

std::shared_ptr<KubernetesControllers::Impl> KubernetesControllers::current() const {
  absl::MutexLock lock(&mu_);
  return impl_;
}

void KubernetesControllers::onMeshChanged(const std::string& mesh) {
  if (auto impl = current()) {
    impl->onMeshChanged(mesh);
  }
}

void KubernetesControllers::collect(std::vector<prometheus::MetricFamily>& out) const {
  if (auto impl = current()) {
    impl->collect(out);
  }
}

bool KubernetesControllers::waitIdle(absl::Duration timeout) const {
  auto impl = current();
  return impl == nullptr || impl->waitIdle(timeout);
}

absl::Status KubernetesControllers::reconcile(const std::string& key) {
  auto impl = current();
  if (impl == nullptr) {
    return absl::FailedPreconditionError("kubernetes controllers: not running");
  }
  return impl->reconcile(key);
}

}  // namespace kuma::k8s::runtime
