#include "source/plugins/runtime/kubernetes/meshservice_plan.h"

#include "absl/strings/str_cat.h"
#include "source/common/json_yaml.h"
#include "source/common/status_macros.h"

namespace kuma::k8s::runtime {
namespace {

constexpr char kServiceNameLabel[] = "k8s.kuma.io/service-name";
constexpr char kHeadlessLabel[] = "k8s.kuma.io/is-headless-service";
constexpr char kZoneProxyTypeLabel[] = "k8s.kuma.io/zone-proxy-type";

}  // namespace

absl::StatusOr<MeshServicePlan> planMeshService(const MeshServicePlanInput& input) {
  MeshServicePlan plan;
  const Json& meta = common::jsonMember(input.service, "metadata");
  const auto labels = stringMap(common::jsonMember(meta, "labels"));
  const auto annotations = stringMap(common::jsonMember(meta, "annotations"));
  const Json& spec = common::jsonMember(input.service, "spec");
  KUMA_ASSIGN_OR_RETURN(bool injected,
                        annotationEnabled(stringMap(common::jsonMember(
                                              common::jsonMember(input.ns, "metadata"), "labels")),
                                          "kuma.io/sidecar-injection"));
  const auto decide = [&plan](MeshServicePlan::Action action, std::string reason) {
    plan.action = action;
    plan.reason = std::move(reason);
    return plan;
  };
  if (!labels.contains("kuma.io/mesh") && !injected) {
    return decide(MeshServicePlan::Action::kDelete, "not a service of a mesh");
  }
  if (!input.mode.has_value()) {
    return decide(MeshServicePlan::Action::kDelete, "mesh not found");
  }
  const std::string clusterIp = common::jsonString(spec, "clusterIP");
  if (*input.mode == MeshServicesMode::kDisabled) {
    plan.deletePerPod = clusterIp == "None";
    return decide(MeshServicePlan::Action::kDelete, "MeshServices not enabled on the mesh");
  }
  if (!annotations.empty()) {
    KUMA_ASSIGN_OR_RETURN(bool ignored, annotationEnabled(annotations, "kuma.io/ignore"));
    if (ignored) {
      return decide(MeshServicePlan::Action::kDelete, "kuma.io/ignore");
    }
    if (annotations.contains("kuma.io/gateway")) {
      return decide(MeshServicePlan::Action::kNone, "service is for a gateway");
    }
  }
  if (labels.contains(kZoneProxyTypeLabel)) {
    return decide(MeshServicePlan::Action::kDelete, "service is for a zone proxy listener");
  }
  if (input.backsGatewayPods) {
    return decide(MeshServicePlan::Action::kDelete, "service backs gateway pods");
  }
  if (clusterIp.empty()) {
    return decide(MeshServicePlan::Action::kNone, "service has no cluster IP");
  }
  const bool headless = clusterIp == "None";

  Json outLabels = Json::object();
  for (const auto& [k, v] : labels) {
    outLabels[k] = v;
  }
  outLabels["kuma.io/mesh"] = input.mesh;
  outLabels[kServiceNameLabel] = common::jsonString(meta, "name");
  outLabels["kuma.io/managed-by"] = "k8s-controller";
  outLabels["kuma.io/env"] = "kubernetes";
  outLabels[kHeadlessLabel] = headless ? "true" : "false";

  Json ports = Json::array();
  const Json& servicePorts = common::jsonMember(spec, "ports");
  for (const Json& port : servicePorts.is_array() ? servicePorts : Json::array()) {
    const Json& number = common::jsonMember(port, "port");
    const int64_t portNumber = number.is_number_integer() ? number.get<int64_t>() : 0;
    std::string name = common::jsonString(port, "name");
    if (name.empty()) {
      name = std::to_string(portNumber);
    }
    const std::string protocol = common::jsonString(port, "protocol");
    if (!protocol.empty() && protocol != "TCP") {  // the API server defaults it to TCP
      plan.unsupportedPorts.push_back(name);
      continue;
    }
    Json out = {{"name", name}, {"port", portNumber}};
    if (const Json& target = common::jsonMember(port, "targetPort"); !target.is_null()) {
      out["targetPort"] = target;
    }
    const std::string appProtocol = common::jsonString(port, "appProtocol");
    out["appProtocol"] = appProtocol.empty() ? "tcp" : appProtocol;
    ports.push_back(std::move(out));
  }

  Json selector = Json::object();
  for (const auto& [k, v] : stringMap(common::jsonMember(spec, "selector"))) {
    selector[k] = v;
  }
  selector["k8s.kuma.io/namespace"] = common::jsonString(meta, "namespace");
  Json meshServiceSelector = input.inboundTagsDisabled
                                 ? Json{{"dataplaneLabels", {{"matchLabels", selector}}}}
                                 : Json{{"dataplaneTags", selector}};

  if (headless) {
    // Per Pod (perPodMeshService): the shared part only.
    plan.object = {{"metadata", {{"labels", std::move(outLabels)}}},
                   {"spec", {{"ports", std::move(ports)}}}};
    return decide(MeshServicePlan::Action::kUpsertPerPod, "headless service");
  }
  plan.object = {
      {"metadata",
       {{"name", common::jsonString(meta, "name")},
        {"namespace", common::jsonString(meta, "namespace")},
        {"labels", std::move(outLabels)},
        {"ownerReferences", Json::array({{{"apiVersion", "v1"},
                                          {"kind", "Service"},
                                          {"name", common::jsonString(meta, "name")},
                                          {"uid", common::jsonString(meta, "uid")}}})}}},
      {"spec", {{"ports", std::move(ports)}, {"selector", std::move(meshServiceSelector)}}},
      {"status", {{"vips", Json::array({{{"ip", clusterIp}}})}}}};
  return decide(MeshServicePlan::Action::kUpsert, "cluster IP service");
}

std::optional<Json> mergeMeshService(const Json& existing, const Json& desired) {
  Json out = existing.is_object() ? existing : Json::object();
  out["apiVersion"] = "kuma.io/v1alpha1";
  out["kind"] = "MeshService";
  Json& meta = out["metadata"];
  if (!meta.is_object()) {
    meta = Json::object();
  }
  const Json& want = common::jsonMember(desired, "metadata");
  meta["name"] = common::jsonMember(want, "name");
  meta["namespace"] = common::jsonMember(want, "namespace");
  meta["labels"] = common::jsonMember(want, "labels");
  // SetOwnerReference: the Service's reference replaces one to the same object, the rest stay.
  const Json& wantedOwners = common::jsonMember(want, "ownerReferences");
  const Json owner =
      wantedOwners.is_array() && !wantedOwners.empty() ? wantedOwners[0] : Json::object();
  Json owners = Json::array();
  bool replaced = false;
  if (const Json& current = common::jsonMember(meta, "ownerReferences"); current.is_array()) {
    for (const Json& o : current) {
      if (common::jsonString(o, "kind") == common::jsonString(owner, "kind") &&
          common::jsonString(o, "apiVersion") == common::jsonString(owner, "apiVersion") &&
          common::jsonString(o, "name") == common::jsonString(owner, "name")) {
        Json updated = o;
        updated["uid"] = common::jsonMember(owner, "uid");
        owners.push_back(std::move(updated));
        replaced = true;
      } else {
        owners.push_back(o);
      }
    }
  }
  if (!replaced) {
    owners.push_back(owner);
  }
  meta["ownerReferences"] = std::move(owners);
  Json& spec = out["spec"];
  if (!spec.is_object()) {
    spec = Json::object();
  }
  const Json& wantedSpec = common::jsonMember(desired, "spec");
  spec["ports"] = common::jsonMember(wantedSpec, "ports");
  spec["selector"] = common::jsonMember(wantedSpec, "selector");
  Json& status = out["status"];
  if (!status.is_object()) {
    status = Json::object();
  }
  status["vips"] = common::jsonMember(common::jsonMember(desired, "status"), "vips");
  if (out == existing) {
    return std::nullopt;
  }
  return out;
}

std::string perPodMeshServiceName(const std::string& pod, const std::string& service,
                                  const std::string& ns) {
  // Kuma: fnv-32a of the Service's name and namespace (and the Pod's name when it is cut),
  // written as apimachinery's rand.SafeEncodeString of its decimal value.
  constexpr size_t kMaxHash = 10;
  uint32_t hash = 2166136261u;
  const auto write = [&hash](const std::string& bytes) {
    for (unsigned char c : bytes) {
      hash ^= c;
      hash *= 16777619u;
    }
  };
  write(service);
  write(ns);
  std::string prefix = pod;
  if (pod.size() + kMaxHash + 1 > 63) {
    write(pod);
    prefix = pod.substr(0, 63 - kMaxHash - 1);
  }
  static constexpr char kAlphanums[] = "bcdfghjklmnpqrstvwxz2456789";
  std::string encoded = std::to_string(hash);
  for (char& c : encoded) {
    c = kAlphanums[static_cast<unsigned char>(c) % (sizeof(kAlphanums) - 1)];
  }
  return absl::StrCat(prefix, "-", encoded);
}

Json perPodMeshService(const MeshServicePlan& plan, const Json& service, const Json& endpoint,
                       const Json* pod) {
  const Json& meta = common::jsonMember(service, "metadata");
  const Json& target = common::jsonMember(endpoint, "targetRef");
  const std::string podName = common::jsonString(target, "name");
  std::string podNamespace = common::jsonString(target, "namespace");
  if (podNamespace.empty()) {
    podNamespace = common::jsonString(meta, "namespace");
  }
  Json labels = common::jsonMember(common::jsonMember(plan.object, "metadata"), "labels");
  if (pod != nullptr) {
    const auto podLabels =
        stringMap(common::jsonMember(common::jsonMember(*pod, "metadata"), "labels"));
    for (const char* key : {"statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index"}) {
      if (auto it = podLabels.find(key); it != podLabels.end()) {
        labels[key] = it->second;
      }
    }
  }
  Json vips = Json::array();
  const Json& addresses = common::jsonMember(endpoint, "addresses");
  for (const Json& address : addresses.is_array() ? addresses : Json::array()) {
    if (address.is_string()) {
      vips.push_back({{"ip", address}});
    }
  }
  return {
      {"metadata",
       {{"name", perPodMeshServiceName(podName, common::jsonString(meta, "name"),
                                       common::jsonString(meta, "namespace"))},
        {"namespace", podNamespace},
        {"labels", std::move(labels)},
        {"ownerReferences", Json::array({{{"apiVersion", "v1"},
                                          {"kind", "Pod"},
                                          {"name", podName},
                                          {"uid", common::jsonString(target, "uid")}}})}}},
      {"spec",
       {{"ports", common::jsonMember(common::jsonMember(plan.object, "spec"), "ports")},
        {"selector", {{"dataplaneRef", {{"name", absl::StrCat(podName, ".", podNamespace)}}}}}}},
      {"status", {{"vips", std::move(vips)}}}};
}

}  // namespace kuma::k8s::runtime
