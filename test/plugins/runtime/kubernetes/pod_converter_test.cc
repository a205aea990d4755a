// Kuma 2.14's Pod → Dataplane conversion (source/plugins/runtime/kubernetes/pod_converter.h)
// against what Kuma 2.14.3's own pod controller made of the same Pods, Services, Nodes and owners
// on a real kube-apiserver (testdata/kuma-2.14.3-pod-dataplanes.json: the requests, the Pod and
// Services as stored, and the Dataplane object Kuma wrote). Plus the annotation errors.
#include "source/plugins/runtime/kubernetes/pod_converter.h"

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "test/test_common/golden.h"

namespace kuma::k8s::runtime {
namespace {

std::vector<Json> recordings() {
  std::ifstream in(
      test::sourcePath("test/plugins/runtime/kubernetes/testdata/kuma-2.14.3-pod-dataplanes.json"));
  EXPECT_TRUE(in.good());
  return Json::parse(in, nullptr, false).get<std::vector<Json>>();
}

PodConverterOptions kumaDefaults() {
  PodConverterOptions options;
  options.zone = "default";
  options.nodeLabelsToCopy = {"topology.kubernetes.io/zone", "topology.kubernetes.io/region",
                              "kubernetes.io/hostname"};
  return options;
}

/** Objects the recorded requests created, by "kind/namespace/name". */
std::map<std::string, Json> createdObjects(const std::vector<Json>& cases) {
  std::map<std::string, Json> out;
  for (const Json& c : cases) {
    for (const Json& request : c["requests"]) {
      if (request["op"] != "POST" || !request["body"].is_object()) {
        continue;
      }
      const Json& body = request["body"];
      const Json& meta = body["metadata"];
      out[absl::StrCat(body.value("kind", ""), "/", meta.value("namespace", ""), "/",
                       meta.value("name", ""))] = body;
    }
  }
  return out;
}

PodConverterLookups lookupsFrom(const std::map<std::string, Json>& objects) {
  PodConverterLookups lookups;
  lookups.getOwner = [&objects](const std::string& kind, const std::string& ns,
                                const std::string& name) -> absl::StatusOr<Json> {
    auto it = objects.find(absl::StrCat(kind, "/", ns, "/", name));
    if (it == objects.end()) {
      return absl::NotFoundError(absl::StrCat(kind, " ", name, " not found"));
    }
    return it->second;
  };
  lookups.nodeLabels =
      [&objects](const std::string& node) -> absl::StatusOr<std::map<std::string, std::string>> {
    auto it = objects.find(absl::StrCat("Node//", node));
    if (it == objects.end()) {
      return absl::NotFoundError("node not found");
    }
    return stringMap(it->second["metadata"]["labels"]);
  };
  return lookups;
}

Json specJson(const mesh::v1alpha1::Dataplane& spec) {
  std::string text;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(spec, &text).ok());
  return Json::parse(text);
}

TEST(PodConverterTest, EveryRecordedPodBecomesKumasDataplane) {
  const std::vector<Json> cases = recordings();
  const std::map<std::string, Json> objects = createdObjects(cases);
  const PodConverterLookups lookups = lookupsFrom(objects);
  int compared = 0;
  for (const Json& c : cases) {
    if (!c.contains("pod") || !c.contains("dataplane")) {
      continue;
    }
    SCOPED_TRACE(c["case"].get<std::string>());
    const Json& pod = c["pod"];
    const std::string ns = pod["metadata"]["namespace"];
    auto nsObject = objects.find(absl::StrCat("Namespace//", ns));
    ASSERT_NE(nsObject, objects.end());
    ASSERT_TRUE(*sidecarInjected(pod));
    std::vector<Json> namespaceServices = c["services"].get<std::vector<Json>>();
    const std::vector<Json> services = selectingServices(pod, namespaceServices, {});
    const std::string mesh = meshOfPod(pod, nsObject->second);
    PodConversionInput input{pod, services, mesh, MeshServicesMode::kDisabled, {}};
    absl::StatusOr<ConvertedDataplane> converted = convertPod(input, kumaDefaults(), lookups);
    if (c["dataplane"].is_null()) {
      ASSERT_FALSE(converted.ok());
      ASSERT_TRUE(c.contains("error"));
      EXPECT_TRUE(absl::StrContains(c["error"].get<std::string>(),
                                    absl::StrCat("unable to translate a Pod into a Dataplane: ",
                                                 converted.status().message())))
          << converted.status() << "\nKuma: " << c["error"];
      compared++;
      continue;
    }
    ASSERT_TRUE(converted.ok()) << converted.status();
    const Json& expected = c["dataplane"];
    EXPECT_EQ(mesh, expected["mesh"]);
    EXPECT_EQ(specJson(converted->spec), expected["spec"])
        << "ours:\n"
        << specJson(converted->spec).dump(1) << "\nKuma:\n"
        << expected["spec"].dump(1);
    EXPECT_EQ(Json(converted->labels), expected["metadata"]["labels"]);
    compared++;
  }
  EXPECT_EQ(compared, 14);
}

TEST(PodConverterTest, AnnotationErrorsHaveKumasWording) {
  const Json base = Json::parse(R"({
    "metadata": {"name": "p", "namespace": "ns", "annotations": {}},
    "spec": {"containers": [{"name": "app"}]},
    "status": {"podIP": "10.0.0.1"}})");
  const std::vector<Json> none;
  auto convert = [&](const std::map<std::string, std::string>& annotations) {
    Json pod = base;
    for (const auto& [k, v] : annotations) {
      pod["metadata"]["annotations"][k] = v;
    }
    PodConversionInput input{pod, none, "default", MeshServicesMode::kDisabled, {}};
    return convertPod(input, kumaDefaults(), {});
  };
  EXPECT_EQ(convert({{"kuma.io/transparent-proxying", "maybe"}}).status().message(),
            "annotation \"kuma.io/transparent-proxying\" has wrong value \"maybe\"");
  EXPECT_EQ(convert({{"kuma.io/transparent-proxying", "enabled"}}).status().message(),
            "transparent proxying inbound port has to be set in transparent mode");
  EXPECT_EQ(convert({{"kuma.io/transparent-proxying", "enabled"},
                     {"kuma.io/transparent-proxying-inbound-port", "15006"}})
                .status()
                .message(),
            "transparent proxying outbound port has to be set in transparent mode");
  EXPECT_EQ(convert({{"kuma.io/envoy-admin-port", "x"}}).status().message(),
            "failed to parse annotation \"kuma.io/envoy-admin-port\": strconv.ParseUint: parsing "
            "\"x\": invalid syntax");
  EXPECT_EQ(convert({{"kuma.io/envoy-admin-port", "4294967296"}}).status().message(),
            "failed to parse annotation \"kuma.io/envoy-admin-port\": strconv.ParseUint: parsing "
            "\"4294967296\": value out of range");
  EXPECT_EQ(convert({{"kuma.io/transparent-proxying", "enabled"},
                     {"kuma.io/transparent-proxying-inbound-port", "15006"},
                     {"kuma.io/transparent-proxying-outbound-port", "15001"},
                     {"kuma.io/transparent-proxying-ip-family-mode", "ipv6"}})
                .status()
                .message(),
            "invalid ip family mode 'ipv6'");
  EXPECT_EQ(convert({{"kuma.io/transparent-proxying", "enabled"},
                     {"kuma.io/transparent-proxying-inbound-port", "15006"},
                     {"kuma.io/transparent-proxying-outbound-port", "15001"},
                     {"kuma.io/reachable-backends", "refs: [{port: -1}]"}})
                .status()
                .message(),
            "cannot parse, kuma.io/reachable-backends has invalid format");
  EXPECT_EQ(convert({{"kuma.io/virtual-probes", "enabled"}}).status().message(),
            "kuma.io/virtual-probes-port annotation doesn't exist");
  EXPECT_EQ(convert({{"prometheus.metrics.kuma.io/aggregate-app-path", "/m"}}).status().message(),
            "port needs to be specified for metrics scraping");
  EXPECT_EQ(convert({{"kuma.io/gateway", "enabled"}}).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST(PodConverterTest, MeshComesFromPodLabelThenAnnotationThenNamespace) {
  const Json ns = Json::parse(R"({"metadata": {"labels": {"kuma.io/mesh": "from-ns"}}})");
  EXPECT_EQ(meshOfPod(Json::parse(R"({"metadata": {"labels": {"kuma.io/mesh": "l"},
                                      "annotations": {"kuma.io/mesh": "a"}}})"),
                      ns),
            "l");
  EXPECT_EQ(meshOfPod(Json::parse(R"({"metadata": {"annotations": {"kuma.io/mesh": "a"}}})"), ns),
            "a");
  EXPECT_EQ(meshOfPod(Json::parse(R"({"metadata": {}})"), ns), "from-ns");
  EXPECT_EQ(meshOfPod(Json::parse(R"({"metadata": {}})"), Json::object()), "default");
}

TEST(PodConverterTest, InboundTagsDisabledLeavesTagsOutAndLabelsTheNode) {
  const std::vector<Json> cases = recordings();
  const std::map<std::string, Json> objects = createdObjects(cases);
  const PodConverterLookups lookups = lookupsFrom(objects);
  for (const Json& c : cases) {
    if (c["case"] != "01-basic") {
      continue;
    }
    const Json pod = c["pod"];
    const std::vector<Json> services = selectingServices(pod, c["services"], {});
    PodConverterOptions options = kumaDefaults();
    options.inboundTagsDisabled = true;
    PodConversionInput input{pod, services, "default", MeshServicesMode::kExclusive, {}};
    auto converted = convertPod(input, options, lookups);
    ASSERT_TRUE(converted.ok()) << converted.status();
    ASSERT_EQ(converted->spec.networking().inbound_size(), 1);
    EXPECT_TRUE(converted->spec.networking().inbound(0).tags().empty());
    EXPECT_EQ(converted->spec.networking().inbound(0).protocol(), "http");
    EXPECT_EQ(converted->labels.at("kubernetes.io/hostname"), "node-1");
    return;
  }
  FAIL() << "case 01-basic not recorded";
}

}  // namespace
}  // namespace kuma::k8s::runtime
