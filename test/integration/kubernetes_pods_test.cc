// Kubernetes mode, the pod controller (docs/kubernetes.md): kuma-cp with `environment:
// kubernetes` on a real etcd + kube-apiserver turns Pods into Dataplanes as Kuma 2.14.3 does.
// The requests Kuma's own pod controller was recorded with
// (test/plugins/runtime/kubernetes/testdata/kuma-2.14.3-pod-dataplanes.json) are replayed, and
// every Dataplane object and REST answer must equal Kuma's. Then what the recording does not
// cover: a Service added later, a deleted Pod, the work-queue metrics, and a real Envoy (through
// our kuma-dp) getting its config for a Pod-derived Dataplane.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/integration/kube_crds.h"
#include "test/integration/kuma_cp_start.h"
#include "test/integration/kuma_dp_start.h"
#include "test/test_common/golden.h"
#include "test/test_common/kube_apiserver.h"

namespace kuma::test {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

class KubernetesPodsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    KubeApiServer::Options options;
    // As the recording: no ServiceAccount admission (the requests create the accounts).
    options.extraApiServerArgs = {"--disable-admission-plugins=ServiceAccount"};
    auto launched = KubeApiServer::launch(options);
    ASSERT_TRUE(launched.ok()) << launched.status();
    k8s_ = launched->release();
    applyKumaCrds(*k8s_);
    KumaCp::Options cpOptions;
    cpOptions.env = {{"KUMA_ENVIRONMENT", "kubernetes"},
                     {"KUMA_STORE_TYPE", "kubernetes"},
                     {"KUBECONFIG", k8s_->kubeconfigFile()}};
    cpOptions.readyTimeout = std::chrono::seconds(90);
    auto cp = KumaCp::start(cpOptions);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = cp->release();
    ASSERT_TRUE(eventually(
        [] { return kubeGetJson(*k8s_, "/apis/kuma.io/v1alpha1/meshes/default").is_object(); },
        std::chrono::seconds(30)))
        << cp_->output();
  }
  static void TearDownTestSuite() {
    delete cp_;
    cp_ = nullptr;
    delete k8s_;
    k8s_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(k8s_, nullptr);
    ASSERT_NE(cp_, nullptr);
  }

  static void send(const Json& request) {
    const std::string op = request["op"];
    auto answer = k8s_->request(op, request["path"], request["body"].dump(),
                                request.value("contentType", "application/json"));
    ASSERT_TRUE(answer.ok()) << answer.status();
    ASSERT_TRUE(answer->status == 200 || answer->status == 201)
        << op << " " << request["path"] << ": " << answer->status << " " << answer->body;
  }

  static Json dataplaneObject(const std::string& ns, const std::string& name) {
    return kubeGetJson(
        *k8s_, absl::StrCat("/apis/kuma.io/v1alpha1/namespaces/", ns, "/dataplanes/", name));
  }

  static std::pair<int, Json> rest(const std::string& path) {
    httplib::Client api("127.0.0.1", cp_->apiPort());
    api.set_read_timeout(std::chrono::seconds(30));
    httplib::Result r = api.Get(path);
    if (!r) {
      return {0, nullptr};
    }
    return {r->status, Json::parse(r->body, nullptr, false)};
  }

  static std::string metrics() {
    httplib::Client diagnostics("127.0.0.1", cp_->diagnosticsPort());
    httplib::Result r = diagnostics.Get("/metrics");
    return r ? r->body : "";
  }

  static KubeApiServer* k8s_;
  static KumaCp* cp_;
};

KubeApiServer* KubernetesPodsTest::k8s_ = nullptr;
KumaCp* KubernetesPodsTest::cp_ = nullptr;

/** The object's metadata fields Kuma's controller decides (labels, owner, no annotations). */
Json decided(const Json& object) {
  Json owners = Json::array();
  for (Json owner : object["metadata"].value("ownerReferences", Json::array())) {
    owner.erase("uid");
    owners.push_back(owner);
  }
  return {{"mesh", object.value("mesh", "")},
          {"labels", object["metadata"].value("labels", Json::object())},
          {"annotations", object["metadata"].value("annotations", Json::object())},
          {"ownerReferences", owners},
          {"spec", object.value("spec", Json::object())}};
}

TEST_F(KubernetesPodsTest, RecordedPodsBecomeTheDataplanesKumaMade) {
  std::ifstream in(
      sourcePath("test/plugins/runtime/kubernetes/testdata/kuma-2.14.3-pod-dataplanes.json"));
  ASSERT_TRUE(in.good());
  const Json cases = Json::parse(in);
  int dataplanes = 0;
  for (const Json& c : cases) {
    const std::string name = c["case"];
    SCOPED_TRACE(name);
    if (name == "09c-lifecycle-ip-added-then-removed") {
      // One request at a time: the Dataplane comes with the IP and goes without it.
      ASSERT_EQ(c["requests"].size(), 2u);
      send(c["requests"][0]);
      EXPECT_TRUE(eventually([] { return dataplaneObject("case-09", "noip-1").is_object(); },
                             std::chrono::seconds(20)));
      send(c["requests"][1]);
      EXPECT_TRUE(eventually([] { return dataplaneObject("case-09", "noip-1").is_null(); },
                             std::chrono::seconds(20)));
      continue;
    }
    for (const Json& request : c["requests"]) {
      send(request);
    }
    if (c.contains("dataplaneGetAfter")) {  // 09: the Pod succeeded
      EXPECT_TRUE(eventually([] { return dataplaneObject("case-01", "backend-1").is_null(); },
                             std::chrono::seconds(20)));
      continue;
    }
    if (!c.contains("pod")) {
      continue;
    }
    const std::string ns = c["pod"]["metadata"]["namespace"];
    const std::string pod = c["pod"]["metadata"]["name"];
    const Json podObject =
        kubeGetJson(*k8s_, absl::StrCat("/api/v1/namespaces/", ns, "/pods/", pod));
    // Kuma's service controller annotated the namespace's Services (ExternalName ones aside).
    for (const Json& service : c.value("services", Json::array())) {
      const std::string path = absl::StrCat("/api/v1/namespaces/", ns, "/services/",
                                            service["metadata"]["name"].get<std::string>());
      const Json expected = service["metadata"].value("annotations", Json::object());
      Json ours;
      EXPECT_TRUE(eventually(
          [&] {
            ours = kubeGetJson(*k8s_, path)["metadata"].value("annotations", Json::object());
            return ours == expected;
          },
          std::chrono::seconds(20)))
          << path << " ours: " << ours.dump() << " Kuma: " << expected.dump();
    }
    // The Events Kuma's recorder left on the Pod (type, reason, message, component).
    if (c.contains("events")) {
      Json ours;
      EXPECT_TRUE(eventually(
          [&] {
            ours = Json::array();
            Json list = kubeGetJson(*k8s_, absl::StrCat("/api/v1/namespaces/", ns, "/events"));
            for (const Json& e : list.value("items", Json::array())) {
              if (e["involvedObject"].value("name", "") == pod) {
                ours.push_back({{"type", e.value("type", "")},
                                {"reason", e.value("reason", "")},
                                {"message", e.value("message", "")},
                                {"reportingComponent", e.value("reportingComponent", "")}});
              }
            }
            for (const Json& expected : c["events"]) {
              if (std::find(ours.begin(), ours.end(), expected) == ours.end()) {
                return false;
              }
            }
            return true;
          },
          std::chrono::seconds(20)))
          << "ours: " << ours.dump(1) << "\nKuma: " << c["events"].dump(1);
    }
    if (!c.contains("dataplane") || c["dataplane"].is_null()) {
      // 08: Kuma refuses the Pod (raw probes with virtual probes on) and keeps retrying.
      EXPECT_TRUE(eventually(
          [] {
            return metrics().find("controller_runtime_reconcile_errors_total{") !=
                       std::string::npos &&
                   metrics().find(
                       "controller_runtime_reconcile_errors_total{controller=\"kuma-"
                       "pod-controller\",zone=\"default\"} 0") == std::string::npos;
          },
          std::chrono::seconds(20)))
          << metrics();
      EXPECT_TRUE(dataplaneObject(ns, pod).is_null());
      continue;
    }
    Json object;
    ASSERT_TRUE(eventually(
        [&] {
          object = dataplaneObject(ns, pod);
          return object.is_object() && decided(object) == decided(c["dataplane"]);
        },
        std::chrono::seconds(20)))
        << "ours:\n"
        << decided(object).dump(1) << "\nKuma:\n"
        << decided(c["dataplane"]).dump(1) << "\n"
        << cp_->output();
    // The controller reference is the Pod's.
    EXPECT_EQ(object["metadata"]["ownerReferences"][0]["uid"], podObject["metadata"]["uid"]);
    // The REST view, as Kuma's API server shows it.
    Json expected = c["rest"];
    const std::string path =
        absl::StrCat("/meshes/", expected["mesh"].get<std::string>(), "/dataplanes/", pod, ".", ns);
    std::pair<int, Json> answer;
    ASSERT_TRUE(eventually(
        [&] {
          answer = rest(path);
          if (answer.first != 200 || !answer.second.is_object()) {
            return false;
          }
          answer.second.erase("creationTime");
          answer.second.erase("modificationTime");
          return answer.second == expected;
        },
        std::chrono::seconds(20)))
        << "ours:\n"
        << answer.second.dump(1) << "\nKuma:\n"
        << expected.dump(1);
    dataplanes++;
  }
  EXPECT_EQ(dataplanes, 13);
}

TEST_F(KubernetesPodsTest, ServiceChangesAndPodDeletionReachTheDataplane) {
  const std::string ns = "later";
  send({{"op", "POST"},
        {"path", "/api/v1/namespaces"},
        {"body", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}}}});
  send({{"op", "POST"},
        {"path", "/api/v1/namespaces/later/pods"},
        {"body", Json::parse(R"({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "w-1", "labels": {"app": "w"},
                        "annotations": {"kuma.io/sidecar-injected": "true"}},
           "spec": {"containers": [{"name": "app", "image": "i",
                                    "ports": [{"containerPort": 8080, "name": "http"},
                                              {"containerPort": 9100}]},
                                   {"name": "kuma-sidecar", "image": "kuma-dp"}]}})")}});
  send({{"op", "PATCH"},
        {"contentType", "application/merge-patch+json"},
        {"path", "/api/v1/namespaces/later/pods/w-1/status"},
        {"body", {{"status", {{"phase", "Running"}, {"podIP", "10.1.0.7"}}}}}});
  // No Service selects it: the service-less inbound.
  Json object;
  ASSERT_TRUE(eventually(
      [&] {
        object = dataplaneObject(ns, "w-1");
        return object.is_object();
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(object["spec"]["networking"]["inbound"][0]["port"], 49151);
  EXPECT_EQ(object["spec"]["networking"]["inbound"][0]["tags"]["kuma.io/service"], "w-1_later_svc");

  // Deleted by someone else, the Dataplane comes back (Kuma's controller owns it).
  const std::string uid = object["metadata"]["uid"];
  auto dpDeleted =
      k8s_->request("DELETE", "/apis/kuma.io/v1alpha1/namespaces/later/dataplanes/w-1");
  ASSERT_TRUE(dpDeleted.ok()) << dpDeleted.status();
  ASSERT_EQ(dpDeleted->status, 200) << dpDeleted->body;
  ASSERT_TRUE(eventually(
      [&] {
        object = dataplaneObject(ns, "w-1");
        return object.is_object() && object["metadata"]["uid"] != uid;
      },
      std::chrono::seconds(20)))
      << cp_->output();

  // A Service that selects it queues the Pod: one inbound per Service port.
  send({{"op", "POST"},
        {"path", "/api/v1/namespaces/later/services"},
        {"body", Json::parse(R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "w"},
           "spec": {"selector": {"app": "w"},
                    "ports": [{"name": "web", "port": 80, "targetPort": "http", "appProtocol": "http"},
                              {"name": "metrics", "port": 9100}]}})")}});
  ASSERT_TRUE(eventually(
      [&] {
        object = dataplaneObject(ns, "w-1");
        return object.is_object() && object["spec"]["networking"]["inbound"].size() == 2;
      },
      std::chrono::seconds(20)))
      << object.dump(1);
  const Json& inbounds = object["spec"]["networking"]["inbound"];
  EXPECT_EQ(inbounds[0]["port"], 8080);
  EXPECT_EQ(inbounds[0]["tags"]["kuma.io/service"], "w_later_svc_80");
  EXPECT_EQ(inbounds[0]["protocol"], "http");
  EXPECT_EQ(inbounds[1]["port"], 9100);
  EXPECT_EQ(inbounds[1]["tags"]["kuma.io/service"], "w_later_svc_9100");

  // Through the REST API and into the mesh's service list.
  auto [status, body] = rest("/meshes/default/dataplanes/w-1.later");
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body["networking"]["address"], "10.1.0.7");

  // The Service goes away: back to the service-less inbound.
  auto removed = k8s_->request("DELETE", "/api/v1/namespaces/later/services/w");
  ASSERT_TRUE(removed.ok());
  ASSERT_TRUE(eventually(
      [&] {
        object = dataplaneObject(ns, "w-1");
        return object.is_object() && object["spec"]["networking"]["inbound"].size() == 1 &&
               object["spec"]["networking"]["inbound"][0]["port"] == 49151;
      },
      std::chrono::seconds(20)))
      << object.dump(1);

  // The Pod is deleted: so is its Dataplane (there is no garbage collector in the fixture).
  auto deleted = k8s_->request("DELETE", "/api/v1/namespaces/later/pods/w-1");
  ASSERT_TRUE(deleted.ok());
  EXPECT_TRUE(
      eventually([&] { return dataplaneObject(ns, "w-1").is_null(); }, std::chrono::seconds(20)));
  EXPECT_TRUE(eventually([&] { return rest("/meshes/default/dataplanes/w-1.later").first == 404; },
                         std::chrono::seconds(20)));

  // The queue's metrics, with controller-runtime's names.
  const std::string text = metrics();
  EXPECT_THAT(text, HasSubstr("workqueue_depth{controller=\"kuma-pod-controller\""));
  EXPECT_THAT(text, HasSubstr("workqueue_adds_total{controller=\"kuma-pod-controller\""));
  EXPECT_THAT(text, HasSubstr("workqueue_queue_duration_seconds_bucket{controller=\"kuma-pod-"));
  // No `zone` label: Kuma registers controller-runtime's metrics outside its zone wrapper.
  EXPECT_THAT(text, HasSubstr("controller_runtime_max_concurrent_reconciles{controller=\"kuma-pod-"
                              "controller\"} 10"));
  EXPECT_THAT(text, HasSubstr("controller_runtime_reconcile_total{controller=\"kuma-pod-"
                              "controller\",result=\"success\""));
}

// A Pod of a mesh that does not exist yet is retried with back-off; the Mesh's creation (a store
// event) queues it at once instead of at its next retry.
TEST_F(KubernetesPodsTest, APodWaitingForItsMeshGetsItsDataplaneWhenTheMeshIsCreated) {
  send({{"op", "POST"},
        {"path", "/api/v1/namespaces"},
        {"body",
         {{"apiVersion", "v1"},
          {"kind", "Namespace"},
          {"metadata", {{"name", "late"}, {"labels", {{"kuma.io/mesh", "late"}}}}}}}});
  send({{"op", "POST"},
        {"path", "/api/v1/namespaces/late/pods"},
        {"body", Json::parse(R"({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "l-1", "annotations": {"kuma.io/sidecar-injected": "true"}},
           "spec": {"containers": [{"name": "app", "image": "i"}]}})")}});
  send({{"op", "PATCH"},
        {"contentType", "application/merge-patch+json"},
        {"path", "/api/v1/namespaces/late/pods/l-1/status"},
        {"body", {{"status", {{"phase", "Running"}, {"podIP", "10.1.0.9"}}}}}});
  // Retries at about 0, 5, 15, 35 ... 2555, 5115 ms, then 10235 ms: none between 6 s and 9 s.
  absl::SleepFor(absl::Seconds(6));
  ASSERT_TRUE(dataplaneObject("late", "l-1").is_null());
  httplib::Client api("127.0.0.1", cp_->apiPort());
  httplib::Result created =
      api.Put("/meshes/late", R"({"type": "Mesh", "name": "late"})", "application/json");
  ASSERT_TRUE(created && created->status == 201) << (created ? created->body : "no answer");
  Json object;
  EXPECT_TRUE(eventually(
      [&] {
        object = dataplaneObject("late", "l-1");
        return object.is_object();
      },
      std::chrono::seconds(3)));
  EXPECT_EQ(object.value("mesh", ""), "late");
}

// Kuma's mesh controller: a Mesh created with kubectl (not through kuma-cp) gets its default
// policies and token signing key, once, and is marked k8s.kuma.io/mesh-defaults-generated.
TEST_F(KubernetesPodsTest, AMeshCreatedThroughTheApiServerGetsItsDefaults) {
  send({{"op", "POST"},
        {"path", "/apis/kuma.io/v1alpha1/meshes"},
        {"body",
         {{"apiVersion", "kuma.io/v1alpha1"},
          {"kind", "Mesh"},
          {"metadata", {{"name", "kubectl"}}}}}});
  Json mesh;
  EXPECT_TRUE(eventually(
      [&] {
        mesh = kubeGetJson(*k8s_, "/apis/kuma.io/v1alpha1/meshes/kubectl");
        return mesh.is_object() &&
               mesh["metadata"]
                       .value("annotations", Json::object())
                       .value("k8s.kuma.io/mesh-defaults-generated", "") == "true";
      },
      std::chrono::seconds(20)))
      << mesh.dump(1) << cp_->output();
  const std::string base = "/apis/kuma.io/v1alpha1/namespaces/kuma-system/";
  EXPECT_TRUE(kubeGetJson(*k8s_, base + "meshtimeouts/mesh-timeout-all-kubectl").is_object());
  EXPECT_TRUE(kubeGetJson(*k8s_, base + "meshretries/mesh-retry-all-kubectl").is_object());
  auto [status, body] = rest("/meshes/kubectl/meshtimeouts");
  EXPECT_EQ(status, 200);
  EXPECT_GE(body.value("total", 0), 1) << body.dump();
  // Deleted defaults stay deleted: the Mesh is marked.
  auto removed = k8s_->request("DELETE", base + "meshretries/mesh-retry-all-kubectl");
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(removed->status, 200) << removed->body;
  auto touched = k8s_->request("PATCH", "/apis/kuma.io/v1alpha1/meshes/kubectl",
                               R"({"metadata": {"labels": {"touched": "yes"}}})",
                               "application/merge-patch+json");
  ASSERT_TRUE(touched.ok()) << touched.status();
  absl::SleepFor(absl::Seconds(2));
  EXPECT_TRUE(kubeGetJson(*k8s_, base + "meshretries/mesh-retry-all-kubectl").is_null());
}

TEST_F(KubernetesPodsTest, EnvoyGetsTheConfigOfAPodDerivedDataplane) {
  const char* envoy = std::getenv("KUMA_ENVOY_BINARY");
  ASSERT_TRUE(envoy != nullptr && *envoy != '\0') << "KUMA_ENVOY_BINARY is not set";
  const uint16_t appPort = freePort();
  send(
      {{"op", "POST"},
       {"path", "/api/v1/namespaces"},
       {"body", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "envoy"}}}}}});
  for (const char* account : {"echo", "other"}) {
    send({{"op", "POST"},
          {"path", "/api/v1/namespaces/envoy/serviceaccounts"},
          {"body",
           {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", account}}}}}});
  }
  send({{"op", "POST"},
        {"path", "/api/v1/namespaces/envoy/services"},
        {"body", Json::parse(absl::StrCat(
                     R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo"},
                         "spec": {"selector": {"app": "echo"},
                                  "ports": [{"port": 80, "targetPort": )",
                     appPort, R"(, "appProtocol": "http"}]}})"))}});
  send({{"op", "POST"},
        {"path", "/api/v1/namespaces/envoy/pods"},
        {"body", Json::parse(absl::StrCat(
                     R"({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": "echo-1", "labels": {"app": "echo"},
                                      "annotations": {"kuma.io/sidecar-injected": "true"}},
                         "spec": {"serviceAccountName": "echo", "containers": [{"name": "app", "image": "i",
                                                  "ports": [{"containerPort": )",
                     appPort, R"(}]}, {"name": "kuma-sidecar", "image": "kuma-dp"}]}})"))}});
  send({{"op", "PATCH"},
        {"contentType", "application/merge-patch+json"},
        {"path", "/api/v1/namespaces/envoy/pods/echo-1/status"},
        {"body", {{"status", {{"phase", "Running"}, {"podIP", "127.0.0.1"}}}}}});
  ASSERT_TRUE(eventually([] { return dataplaneObject("envoy", "echo-1").is_object(); },
                         std::chrono::seconds(20)));
  ASSERT_TRUE(
      eventually([] { return rest("/meshes/default/dataplanes/echo-1.envoy").first == 200; },
                 std::chrono::seconds(20)));

  // Projected service-account tokens, as the kubelet mounts them (TokenRequest).
  const std::string dir = makeTempDir("kuma-k8s-dp");
  auto tokenFile = [&](const std::string& account) {
    auto answer = k8s_->request(
        "POST", absl::StrCat("/api/v1/namespaces/envoy/serviceaccounts/", account, "/token"),
        R"({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})");
    EXPECT_TRUE(answer.ok() && answer->status == 201) << (answer.ok() ? answer->body : "");
    const std::string path = absl::StrCat(dir, "/", account, ".token");
    std::ofstream(path) << Json::parse(answer.ok() ? answer->body : "{}")["status"].value("token",
                                                                                          "");
    return path;
  };
  // kuma-dp as on Kubernetes: the name and mesh only, no Dataplane definition, the token file.
  auto startDp = [&](const std::string& account) {
    return startKumaDp(*cp_, envoy, dir, "echo-1.envoy", "", {},
                       {"--mesh", "default", "--dataplane-token-file", tokenFile(account)});
  };
  {
    // Kuma's serviceAccountToken authentication: another account's token is refused.
    KumaDpProcess intruder = startDp("other");
    EXPECT_TRUE(eventually(
        [&] {
          return intruder.process->output().find("invalid service account token") !=
                 std::string::npos;
        },
        std::chrono::seconds(30)))
        << intruder.process->output();
  }
  KumaDpProcess dp = startDp("echo");
  expectKumaDpReady(dp, *cp_);
  // Envoy listens on the Pod's inbound, named as Kuma names it.
  std::optional<std::pair<int, std::string>> dump;
  ASSERT_TRUE(eventually(
      [&] {
        dump = unixHttpGet(dp.adminSocket(), "/config_dump?resource=dynamic_listeners");
        return dump.has_value() &&
               dump->second.find(absl::StrCat("inbound:127.0.0.1:", appPort)) != std::string::npos;
      },
      std::chrono::seconds(30)))
      << (dump ? dump->second.substr(0, 2000) : "no answer") << dp.process->output();
  // The DataplaneInsight shows the proxy online.
  EXPECT_TRUE(eventually(
      [] {
        auto [status, body] = rest("/meshes/default/dataplanes+insights/echo-1.envoy");
        return status == 200 && body.is_object() && body.contains("dataplaneInsight") &&
               !body["dataplaneInsight"].value("subscriptions", Json::array()).empty();
      },
      std::chrono::seconds(30)))
      << rest("/meshes/default/dataplanes+insights/echo-1.envoy").second.dump(1) << "\n"
      << kubeGetJson(*k8s_, "/apis/kuma.io/v1alpha1/dataplaneinsights").dump(1) << "\n"
      << cp_->output().substr(cp_->output().size() > 6000 ? cp_->output().size() - 6000 : 0);
  dp.process.reset();
  std::filesystem::remove_all(dir);
}

// Kuma's pod status controller: the Pod of a Job (restartPolicy Never) whose application
// container ended while its sidecar runs would never complete; kuma-cp tells the sidecar's Envoy
// to quit through its admin API (mTLS, the Pod's address), and kuma-dp ends with it.
TEST_F(KubernetesPodsTest, TheSidecarOfAFinishedJobIsToldToQuit) {
  const char* envoy = std::getenv("KUMA_ENVOY_BINARY");
  ASSERT_TRUE(envoy != nullptr && *envoy != '\0') << "KUMA_ENVOY_BINARY is not set";
  const uint16_t adminPort = freePort();
  send({{"op", "POST"},
        {"path", "/api/v1/namespaces"},
        {"body", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "jobs"}}}}}});
  send({{"op", "POST"},
        {"path", "/api/v1/namespaces/jobs/serviceaccounts"},
        {"body",
         {{"apiVersion", "v1"}, {"kind", "ServiceAccount"}, {"metadata", {{"name", "batch"}}}}}});
  // 127.0.0.2: not the admin's own 127.0.0.1, so that the admin listener is generated there.
  send({{"op", "POST"},
        {"path", "/api/v1/namespaces/jobs/pods"},
        {"body", Json::parse(absl::StrCat(
                     R"({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": "job-1", "labels": {"app": "job"},
                                      "annotations": {"kuma.io/sidecar-injected": "true",
                                                      "kuma.io/envoy-admin-port": ")",
                     adminPort, R"("}},
                         "spec": {"restartPolicy": "Never", "serviceAccountName": "batch",
                                  "containers": [{"name": "app", "image": "i"},
                                                 {"name": "kuma-sidecar", "image": "kuma-dp"}]}})"))}});
  auto status = [](const Json& app) {
    return Json{{"status",
                 {{"phase", "Running"},
                  {"podIP", "127.0.0.2"},
                  {"containerStatuses",
                   {{{"name", "app"}, {"state", app}},
                    {{"name", "kuma-sidecar"}, {"state", {{"running", Json::object()}}}}}}}}};
  };
  send({{"op", "PATCH"},
        {"contentType", "application/merge-patch+json"},
        {"path", "/api/v1/namespaces/jobs/pods/job-1/status"},
        {"body", status({{"running", Json::object()}})}});
  ASSERT_TRUE(eventually([] { return rest("/meshes/default/dataplanes/job-1.jobs").first == 200; },
                         std::chrono::seconds(20)));

  const std::string dir = makeTempDir("kuma-k8s-job");
  auto token = k8s_->request(
      "POST", "/api/v1/namespaces/jobs/serviceaccounts/batch/token",
      R"({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}})");
  ASSERT_TRUE(token.ok() && token->status == 201) << (token.ok() ? token->body : "");
  const std::string tokenFile = dir + "/batch.token";
  std::ofstream(tokenFile) << Json::parse(token->body)["status"].value("token", "");
  KumaDpProcess dp = startKumaDp(*cp_, envoy, dir, "job-1.jobs", "", {},
                                 {"--mesh", "default", "--dataplane-token-file", tokenFile});
  expectKumaDpReady(dp, *cp_);
  // While the application runs, nothing happens.
  absl::SleepFor(absl::Seconds(2));
  ASSERT_TRUE(dp.process->running()) << dp.process->output();

  // The application container ends (a Never Pod: whatever its exit code).
  send({{"op", "PATCH"},
        {"contentType", "application/merge-patch+json"},
        {"path", "/api/v1/namespaces/jobs/pods/job-1/status"},
        {"body", status({{"terminated", {{"exitCode", 1}, {"reason", "Error"}}}})}});
  EXPECT_TRUE(eventually([&] { return !dp.process->running(); }, std::chrono::seconds(30)))
      << cp_->output().substr(cp_->output().size() > 4000 ? cp_->output().size() - 4000 : 0);
  EXPECT_NE(cp_->output().find("pod jobs/job-1: sending request to terminate Envoy"),
            std::string::npos);
  EXPECT_NE(metrics().find("workqueue_adds_total{controller=\"kuma-pod-status-controller\""),
            std::string::npos);
  dp.process.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kuma::test
