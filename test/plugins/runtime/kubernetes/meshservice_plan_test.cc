// The MeshService controller's decisions (source/plugins/runtime/kubernetes/meshservice_plan.h),
// as Kuma 2.14's MeshServiceReconciler takes them: which Services get a MeshService, which lose
// it, which are left alone, the object's shape, and the CreateOrUpdate merge into an existing
// MeshService (other fields kept, nothing written when nothing changed).

#include "source/plugins/runtime/kubernetes/meshservice_plan.h"

#include "gtest/gtest.h"

namespace kuma::k8s::runtime {
namespace {

using Action = MeshServicePlan::Action;

Json meshedNamespace() {
  return Json::parse(R"({"metadata": {"name": "app",
                          "labels": {"kuma.io/sidecar-injection": "enabled"}}})");
}

Json service(const std::string& clusterIp = "10.96.0.10") {
  return Json{{"metadata",
               {{"name", "web"}, {"namespace", "app"}, {"uid", "u-1"}, {"labels", {{"a", "b"}}}}},
              {"spec",
               {{"clusterIP", clusterIp},
                {"selector", {{"app", "web"}}},
                {"ports", Json::parse(R"([{"name": "http", "port": 80, "targetPort": 8080,
                                          "protocol": "TCP", "appProtocol": "http"},
                                         {"name": "q", "port": 53, "protocol": "UDP"}])")}}}};
}

MeshServicePlan plan(const Json& svc, const Json& ns,
                     std::optional<MeshServicesMode> mode = MeshServicesMode::kExclusive,
                     bool inboundTagsDisabled = false) {
  auto out = planMeshService({svc, ns, "default", mode, inboundTagsDisabled});
  EXPECT_TRUE(out.ok()) << out.status();
  return out.ok() ? *out : MeshServicePlan{};
}

TEST(MeshServicePlan, ClusterIpServiceOfTheMesh) {
  const MeshServicePlan p = plan(service(), meshedNamespace());
  ASSERT_EQ(p.action, Action::kUpsert);
  EXPECT_EQ(p.object, Json::parse(R"({
    "metadata": {"name": "web", "namespace": "app",
      "labels": {"a": "b", "kuma.io/mesh": "default", "k8s.kuma.io/service-name": "web",
                 "kuma.io/managed-by": "k8s-controller", "kuma.io/env": "kubernetes",
                 "k8s.kuma.io/is-headless-service": "false"},
      "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": "web", "uid": "u-1"}]},
    "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080, "appProtocol": "http"}],
             "selector": {"dataplaneTags": {"app": "web", "k8s.kuma.io/namespace": "app"}}},
    "status": {"vips": [{"ip": "10.96.0.10"}]}})"));
  EXPECT_EQ(p.unsupportedPorts, std::vector<std::string>{"q"});

  const MeshServicePlan labels = plan(service(), meshedNamespace(), MeshServicesMode::kEverywhere,
                                      /*inboundTagsDisabled=*/true);
  EXPECT_EQ(labels.object["spec"]["selector"], Json::parse(R"({"dataplaneLabels": {"matchLabels":
                             {"app": "web", "k8s.kuma.io/namespace": "app"}}})"));
}

TEST(MeshServicePlan, DeletedLeftAloneOrRefused) {
  const Json plainNamespace = Json::parse(R"({"metadata": {"name": "app"}})");
  EXPECT_EQ(plan(service(), plainNamespace).action, Action::kDelete);
  Json labelled = service();
  labelled["metadata"]["labels"]["kuma.io/mesh"] = "default";
  EXPECT_EQ(plan(labelled, plainNamespace).action, Action::kUpsert);  // the Service's own label
  EXPECT_EQ(plan(service(), meshedNamespace(), std::nullopt).action, Action::kDelete);
  EXPECT_EQ(plan(service(), meshedNamespace(), MeshServicesMode::kDisabled).action,
            Action::kDelete);
  Json ignored = service();
  ignored["metadata"]["annotations"] = {{"kuma.io/ignore", "true"}};
  EXPECT_EQ(plan(ignored, meshedNamespace()).action, Action::kDelete);
  Json gateway = service();
  gateway["metadata"]["annotations"] = {{"kuma.io/gateway", "enabled"}};
  EXPECT_EQ(plan(gateway, meshedNamespace()).action, Action::kNone);
  Json zoneProxy = service();
  zoneProxy["metadata"]["labels"]["k8s.kuma.io/zone-proxy-type"] = "ingress";
  EXPECT_EQ(plan(zoneProxy, meshedNamespace()).action, Action::kDelete);
  EXPECT_EQ(plan(service(""), meshedNamespace()).action, Action::kNone);
  Json gatewayPods = service();
  EXPECT_EQ(planMeshService({gatewayPods, meshedNamespace(), "default",
                             MeshServicesMode::kExclusive, false, /*backsGatewayPods=*/true})
                ->action,
            Action::kDelete);
  const MeshServicePlan disabledHeadless =
      plan(service("None"), meshedNamespace(), MeshServicesMode::kDisabled);
  EXPECT_EQ(disabledHeadless.action, Action::kDelete);
  EXPECT_TRUE(disabledHeadless.deletePerPod);

  Json badValue = service();
  badValue["metadata"]["annotations"] = {{"kuma.io/ignore", "maybe"}};
  EXPECT_TRUE(absl::IsInvalidArgument(
      planMeshService({badValue, meshedNamespace(), "default", MeshServicesMode::kExclusive})
          .status()));
}

TEST(MeshServicePlan, HeadlessServiceOneMeshServicePerPod) {
  const MeshServicePlan p = plan(service("None"), meshedNamespace());
  ASSERT_EQ(p.action, Action::kUpsertPerPod);
  const Json endpoint = Json::parse(R"({"addresses": ["10.0.0.7"],
      "targetRef": {"kind": "Pod", "name": "web-0", "uid": "pod-uid"}})");
  const Json pod = Json::parse(R"({"metadata": {"name": "web-0", "labels": {
      "statefulset.kubernetes.io/pod-name": "web-0", "apps.kubernetes.io/pod-index": "0",
      "other": "x"}}})");
  const Json ms = perPodMeshService(p, service("None"), endpoint, &pod);
  EXPECT_EQ(ms["metadata"]["name"], perPodMeshServiceName("web-0", "web", "app"));
  EXPECT_EQ(ms["metadata"]["namespace"], "app");
  EXPECT_EQ(ms["metadata"]["labels"]["k8s.kuma.io/is-headless-service"], "true");
  EXPECT_EQ(ms["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], "web-0");
  EXPECT_EQ(ms["metadata"]["labels"]["apps.kubernetes.io/pod-index"], "0");
  EXPECT_FALSE(ms["metadata"]["labels"].contains("other"));
  EXPECT_EQ(ms["metadata"]["ownerReferences"],
            Json::parse(R"([{"apiVersion": "v1", "kind": "Pod", "name": "web-0",
                             "uid": "pod-uid"}])"));
  EXPECT_EQ(ms["spec"]["selector"], Json::parse(R"({"dataplaneRef": {"name": "web-0.app"}})"));
  EXPECT_EQ(ms["spec"]["ports"], p.object["spec"]["ports"]);
  EXPECT_EQ(ms["status"]["vips"], Json::parse(R"([{"ip": "10.0.0.7"}])"));

  // Kuma 2.14.3's name for Pod headless-0 of Service app/headless (recorded).
  EXPECT_EQ(perPodMeshServiceName("headless-0", "headless", "app"), "headless-0-7cfbdf87b9");
  // <pod>-<10 characters of [bcdfghjklmnpqrstvwxz2456789]>, at most 63 in all.
  const std::string name = perPodMeshServiceName("web-0", "web", "app");
  ASSERT_EQ(name.size(), 5u + 1u + 10u);
  EXPECT_EQ(name.find_first_not_of("bcdfghjklmnpqrstvwxz2456789", 6), std::string::npos);
  const std::string longName = perPodMeshServiceName(std::string(70, 'p'), "web", "app");
  EXPECT_EQ(longName.size(), 63u);
  EXPECT_NE(longName, perPodMeshServiceName(std::string(71, 'p'), "web", "app"));
  EXPECT_NE(name, perPodMeshServiceName("web-0", "web", "other"));
}

TEST(MeshServicePlan, MergeKeepsTheRestAndWritesOnlyChanges) {
  const MeshServicePlan p = plan(service(), meshedNamespace());
  Json existing = *mergeMeshService(Json(), p.object);
  EXPECT_EQ(existing["kind"], "MeshService");
  existing["metadata"]["resourceVersion"] = "7";
  existing["metadata"]["ownerReferences"].push_back({{"kind", "Other"}, {"name", "x"}});
  existing["spec"]["state"] = "Available";
  existing["status"]["tls"] = {{"status", "Ready"}};
  EXPECT_FALSE(mergeMeshService(existing, p.object).has_value());

  Json changed = service("10.96.0.11");
  changed["metadata"]["uid"] = "u-2";  // the Service was re-created under the same name
  const std::optional<Json> merged =
      mergeMeshService(existing, plan(changed, meshedNamespace()).object);
  ASSERT_TRUE(merged.has_value());
  EXPECT_EQ((*merged)["metadata"]["resourceVersion"], "7");
  EXPECT_EQ((*merged)["spec"]["state"], "Available");
  EXPECT_EQ((*merged)["status"]["tls"]["status"], "Ready");
  EXPECT_EQ((*merged)["status"]["vips"][0]["ip"], "10.96.0.11");
  ASSERT_EQ((*merged)["metadata"]["ownerReferences"].size(), 2u);
  EXPECT_EQ((*merged)["metadata"]["ownerReferences"][0]["uid"], "u-2");
}

}  // namespace
}  // namespace kuma::k8s::runtime
