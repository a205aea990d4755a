// Fuzz target: the Pod → Dataplane conversion of the Kubernetes pod controller
// (source/plugins/runtime/kubernetes/pod_converter.h, docs/kubernetes.md), and the Service →
// MeshService plan of the MeshService controller (meshservice_plan.h). Pods are written by
// users: their labels, annotations (transparent proxying, reachable-backends YAML, metrics,
// probes), containers and status are hostile input.
//
// Input: a JSON document {"pod": {...}, "services": [...], "namespace": {...}} (anything else is
// taken as the pod's annotation `kuma.io/reachable-backends`, on a transparent-proxy Pod).
// Oracles: errors are InvalidArgument, NotFound or Unimplemented; a converted Dataplane has one
// inbound at least, serializes to JSON and parses back equal; the labels carry the mesh and the
// proxy type; the services selected do select the Pod; a planned MeshService has a port per TCP
// port and written once equals itself (mergeMeshService is idempotent).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "source/common/json_yaml.h"
#include "source/plugins/runtime/kubernetes/meshservice_plan.h"
#include "source/plugins/runtime/kubernetes/pod_converter.h"
#include "test/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;                // NOLINT
  using namespace kuma::k8s::runtime;  // NOLINT
  const std::string text(fuzz::asText(data, size));
  Json input = Json::object();
  if (auto parsed = common::parseJson(text); parsed.ok() && parsed->is_object()) {
    input = *parsed;
  } else {
    input["pod"] = {{"metadata",
                     {{"name", "p"},
                      {"namespace", "ns"},
                      {"annotations",
                       {{"kuma.io/sidecar-injected", "true"},
                        {"kuma.io/transparent-proxying", "enabled"},
                        {"kuma.io/transparent-proxying-inbound-port", "15006"},
                        {"kuma.io/transparent-proxying-outbound-port", "15001"},
                        {"kuma.io/reachable-backends", text}}}}},
                    {"status", {{"podIP", "10.0.0.1"}}}};
  }
  const Json& pod = common::jsonMember(input, "pod");
  std::vector<Json> namespaceServices;
  if (const Json& services = common::jsonMember(input, "services"); services.is_array()) {
    for (const Json& s : services) {
      namespaceServices.push_back(s);
    }
  }
  const Json& ns = common::jsonMember(input, "namespace");
  const std::vector<Json> services = selectingServices(pod, namespaceServices, {"ignored"});
  for (const Json& service : services) {
    FUZZ_CHECK(serviceSelectsPod(service, pod, {"ignored"}), "a selected Service does not select");
  }
  for (const Json& service : namespaceServices) {
    for (std::optional<MeshServicesMode> mode :
         {std::optional<MeshServicesMode>(), std::optional(MeshServicesMode::kExclusive)}) {
      auto plan = planMeshService({service, ns, "m", mode, mode.has_value()});
      if (!plan.ok()) {
        FUZZ_CHECK(absl::IsInvalidArgument(plan.status()), plan.status().ToString());
        continue;
      }
      if (plan->action != MeshServicePlan::Action::kUpsert) {
        continue;
      }
      const Json& ports = plan->object["spec"]["ports"];
      const Json& servicePorts = common::jsonMember(common::jsonMember(service, "spec"), "ports");
      FUZZ_CHECK(ports.size() + plan->unsupportedPorts.size() ==
                     (servicePorts.is_array() ? servicePorts.size() : 0),
                 "ports lost");
      std::optional<Json> written = mergeMeshService(Json(), plan->object);
      FUZZ_CHECK(written.has_value(), "nothing to write for a new MeshService");
      FUZZ_CHECK(!mergeMeshService(*written, plan->object).has_value(), "not idempotent");
    }
  }
  (void)sidecarInjected(pod);
  const std::string mesh = meshOfPod(pod, ns);
  FUZZ_CHECK(!mesh.empty(), "no mesh");
  PodConverterOptions options;
  options.zone = "zone-1";
  options.nodeLabelsToCopy = {"topology.kubernetes.io/zone"};
  PodConverterLookups lookups;
  lookups.getOwner = [](const std::string&, const std::string&,
                        const std::string& name) -> absl::StatusOr<Json> {
    if (name.size() % 2 == 0) {
      return absl::NotFoundError("owner not found");
    }
    return Json{{"metadata",
                 {{"name", name}, {"ownerReferences", {{{"kind", "Deployment"}, {"name", "d"}}}}}}};
  };
  lookups.nodeLabels =
      [](const std::string&) -> absl::StatusOr<std::map<std::string, std::string>> {
    return std::map<std::string, std::string>{{"topology.kubernetes.io/zone", "z"}};
  };
  for (MeshServicesMode mode : {MeshServicesMode::kDisabled, MeshServicesMode::kExclusive}) {
    PodConversionInput in{pod, services, mesh, mode, {}};
    auto converted = convertPod(in, options, lookups);
    if (!converted.ok()) {
      FUZZ_CHECK(absl::IsInvalidArgument(converted.status()) ||
                     absl::IsNotFound(converted.status()) ||
                     absl::IsUnimplemented(converted.status()),
                 converted.status().ToString());
      continue;
    }
    FUZZ_CHECK(converted->spec.networking().inbound_size() > 0, "no inbound");
    FUZZ_CHECK(converted->labels.count("kuma.io/mesh") == 1, "no mesh label");
    FUZZ_CHECK(converted->labels.at("kuma.io/proxy-type") == "sidecar", "no proxy type");
    std::string json;
    FUZZ_CHECK(google::protobuf::util::MessageToJsonString(converted->spec, &json).ok(),
               "does not serialize");
    mesh::v1alpha1::Dataplane back;
    FUZZ_CHECK(google::protobuf::util::JsonStringToMessage(json, &back).ok(),
               "does not parse back");
    FUZZ_CHECK(google::protobuf::util::MessageDifferencer::Equals(back, converted->spec),
               "does not round-trip");
  }
  return 0;
}
