// Kubernetes mode, Kuma's MeshService controller (docs/kubernetes.md): a ClusterIP Service of a
// namespace labelled kuma.io/sidecar-injection, in a mesh whose meshServices.mode is not
// Disabled, gets a MeshService of its name as Kuma 2.14 makes it (labels, TCP ports, selector by
// Dataplane tags, the cluster IP as VIP, an owner reference, Events on the Service), which
// follows the Service's changes, goes when the mode turns Disabled, comes back, and goes with the
// Service. A headless Service gets one per endpoint Pod. Services of other namespaces get none,
// and the Universal MeshService generator does not run with the Kubernetes store.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/integration/kube_crds.h"
#include "test/test_common/kube_apiserver.h"

namespace kuma::test {
namespace {

using Json = nlohmann::json;
using std::chrono::seconds;

void write(const KubeApiServer& k8s, const std::string& method, const std::string& path,
           const Json& body, int expected) {
  auto answer = k8s.request(method, path, body.dump());
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_EQ(answer->status, expected) << method << " " << path << ": " << answer->body;
}

Json mesh(const std::string& mode) {
  return {{"apiVersion", "kuma.io/v1alpha1"},
          {"kind", "Mesh"},
          {"metadata", {{"name", "ms"}}},
          {"spec", {{"meshServices", {{"mode", mode}}}}}};
}

Json meshService(const KubeApiServer& k8s, const std::string& ns, const std::string& name) {
  return kubeGetJson(
      k8s, absl::StrCat("/apis/kuma.io/v1alpha1/namespaces/", ns, "/meshservices/", name));
}

void setMeshMode(const KubeApiServer& k8s, const std::string& mode) {
  Json current = kubeGetJson(k8s, "/apis/kuma.io/v1alpha1/meshes/ms");
  ASSERT_TRUE(current.is_object());
  current["spec"]["meshServices"]["mode"] = mode;
  write(k8s, "PUT", "/apis/kuma.io/v1alpha1/meshes/ms", current, 200);
}

TEST(KubernetesMeshServicesTest, ClusterIpServicesBecomeMeshServices) {
  auto launched = KubeApiServer::launch();
  ASSERT_TRUE(launched.ok()) << launched.status();
  std::unique_ptr<KubeApiServer> k8s = std::move(*launched);
  applyKumaCrds(*k8s);

  KumaCp::Options options;
  options.env = {{"KUMA_ENVIRONMENT", "kubernetes"},
                 {"KUMA_STORE_TYPE", "kubernetes"},
                 {"KUBECONFIG", k8s->kubeconfigFile()},
                 {"KUMA_MESH_SERVICE_GENERATION_INTERVAL", "1s"}};
  options.readyTimeout = std::chrono::seconds(90);
  auto started = KumaCp::start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<KumaCp> cp = std::move(*started);

  write(*k8s, "POST", "/apis/kuma.io/v1alpha1/meshes", mesh("Exclusive"), 201);
  for (const auto& [ns, labels] :
       {std::pair{"app", Json{{"kuma.io/sidecar-injection", "enabled"}, {"kuma.io/mesh", "ms"}}},
        std::pair{"plain", Json::object()}}) {
    write(*k8s, "POST", "/api/v1/namespaces",
          {{"apiVersion", "v1"},
           {"kind", "Namespace"},
           {"metadata", {{"name", ns}, {"labels", labels}}}},
          201);
  }
  const Json service = {
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", {{"name", "backend"}, {"labels", {{"team", "core"}}}}},
      {"spec",
       {{"selector", {{"app", "backend"}}},
        {"ports",
         {{{"name", "http"}, {"port", 80}, {"targetPort", 8080}, {"appProtocol", "http"}},
          {{"name", "postgres"}, {"port", 5432}, {"targetPort", "db"}},
          {{"name", "dns"}, {"port", 53}, {"protocol", "UDP"}}}}}}};
  write(*k8s, "POST", "/api/v1/namespaces/app/services", service, 201);
  write(*k8s, "POST", "/api/v1/namespaces/plain/services", service, 201);
  const Json created = kubeGetJson(*k8s, "/api/v1/namespaces/app/services/backend");
  const std::string clusterIp = created["spec"]["clusterIP"].get<std::string>();

  Json ms;
  ASSERT_TRUE(eventually(
      [&] {
        ms = meshService(*k8s, "app", "backend");
        return ms.is_object();
      },
      seconds(30)))
      << cp->output();
  EXPECT_EQ(ms["metadata"]["labels"], (Json{{"team", "core"},
                                            {"kuma.io/mesh", "ms"},
                                            {"k8s.kuma.io/service-name", "backend"},
                                            {"kuma.io/managed-by", "k8s-controller"},
                                            {"kuma.io/env", "kubernetes"},
                                            {"k8s.kuma.io/is-headless-service", "false"}}));
  EXPECT_EQ(ms["spec"]["ports"], Json::parse(R"([
      {"name": "http", "port": 80, "targetPort": 8080, "appProtocol": "http"},
      {"name": "postgres", "port": 5432, "targetPort": "db", "appProtocol": "tcp"}])"));
  EXPECT_EQ(ms["spec"]["selector"],
            (Json{{"dataplaneTags", {{"app", "backend"}, {"k8s.kuma.io/namespace", "app"}}}}));
  EXPECT_EQ(ms["status"]["vips"], (Json::array({{{"ip", clusterIp}}})));
  ASSERT_EQ(ms["metadata"]["ownerReferences"].size(), 1u);
  EXPECT_EQ(ms["metadata"]["ownerReferences"][0]["kind"], "Service");
  EXPECT_EQ(ms["metadata"]["ownerReferences"][0]["uid"], created["metadata"]["uid"]);
  EXPECT_TRUE(meshService(*k8s, "plain", "backend").is_null());

  // kuma-cp's store and REST API see it (`<name>.<namespace>` on Kubernetes).
  httplib::Client api("127.0.0.1", cp->apiPort());
  ASSERT_TRUE(eventually(
      [&] {
        auto res = api.Get("/meshes/ms/meshservices/backend.app");
        return res && res->status == 200;
      },
      seconds(30)));

  // Kuma's Events on the Service.
  ASSERT_TRUE(eventually(
      [&] {
        const Json events = kubeGetJson(*k8s, "/apis/events.k8s.io/v1/namespaces/app/events");
        bool createdEvent = false;
        bool ignoredEvent = false;
        for (const Json& e : events.value("items", Json::array())) {
          createdEvent =
              createdEvent || (e.value("reason", "") == "CreatedMeshService" &&
                               e.value("note", "") == "Created Kuma MeshService: backend");
          ignoredEvent = ignoredEvent || (e.value("reason", "") == "IgnoredUnsupportedPort" &&
                                          e.value("note", "") == "Ignored unsupported ports: dns");
        }
        return createdEvent && ignoredEvent;
      },
      seconds(30)));

  // The Service changes: so does the MeshService (an unnamed port is named by its number).
  // (Read again: Kuma's service controller has annotated it meanwhile.)
  Json updated = kubeGetJson(*k8s, "/api/v1/namespaces/app/services/backend");
  updated["spec"]["ports"] = Json::parse(R"([{"port": 81, "targetPort": 8080}])");
  write(*k8s, "PUT", "/api/v1/namespaces/app/services/backend", updated, 200);
  EXPECT_TRUE(eventually(
      [&] {
        ms = meshService(*k8s, "app", "backend");
        return ms.is_object() && ms["spec"]["ports"] == Json::parse(R"([{"name": "81", "port": 81,
                                                       "targetPort": 8080, "appProtocol": "tcp"}])");
      },
      seconds(30)))
      << ms.dump();

  // MeshServices disabled on the mesh: gone; enabled again: back.
  setMeshMode(*k8s, "Disabled");
  EXPECT_TRUE(
      eventually([&] { return meshService(*k8s, "app", "backend").is_null(); }, seconds(30)))
      << cp->output();
  setMeshMode(*k8s, "Everywhere");
  EXPECT_TRUE(
      eventually([&] { return meshService(*k8s, "app", "backend").is_object(); }, seconds(30)))
      << cp->output();

  // A headless Service: one MeshService per endpoint Pod of its EndpointSlices (written here:
  // there is no endpoint controller in this cluster), gone when the Pod leaves the slice.
  write(*k8s, "POST", "/api/v1/namespaces/app/serviceaccounts",
        Json::parse(R"({"apiVersion": "v1", "kind": "ServiceAccount",
                        "metadata": {"name": "default"}})"),
        201);
  write(*k8s, "POST", "/api/v1/namespaces/app/pods",
        Json::parse(R"({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0",
          "labels": {"app": "db", "statefulset.kubernetes.io/pod-name": "db-0"}},
          "spec": {"containers": [{"name": "db", "image": "db"}]}})"),
        201);
  const Json pod = kubeGetJson(*k8s, "/api/v1/namespaces/app/pods/db-0");
  write(*k8s, "POST", "/api/v1/namespaces/app/services",
        Json::parse(R"({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
          "spec": {"clusterIP": "None", "selector": {"app": "db"},
                   "ports": [{"name": "pg", "port": 5432}]}})"),
        201);
  Json slice = Json::parse(R"({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
      "metadata": {"name": "db-1a2b3", "labels": {"kubernetes.io/service-name": "db"}},
      "addressType": "IPv4",
      "endpoints": [{"addresses": ["10.0.0.9"],
                     "targetRef": {"kind": "Pod", "namespace": "app", "name": "db-0"}}],
      "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}]})");
  slice["endpoints"][0]["targetRef"]["uid"] = pod["metadata"]["uid"];
  write(*k8s, "POST", "/apis/discovery.k8s.io/v1/namespaces/app/endpointslices", slice, 201);
  Json perPod;
  ASSERT_TRUE(eventually(
      [&] {
        const Json list = kubeGetJson(*k8s, "/apis/kuma.io/v1alpha1/namespaces/app/meshservices");
        for (const Json& item : list.value("items", Json::array())) {
          if (item["metadata"]["labels"].value("k8s.kuma.io/service-name", "") == "db") {
            perPod = item;
            return true;
          }
        }
        return false;
      },
      seconds(30)))
      << cp->output();
  EXPECT_EQ(perPod["metadata"]["name"].get<std::string>().rfind("db-0-", 0), 0u) << perPod.dump();
  EXPECT_EQ(perPod["metadata"]["labels"]["k8s.kuma.io/is-headless-service"], "true");
  EXPECT_EQ(perPod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"], "db-0");
  EXPECT_EQ(perPod["spec"]["selector"], Json::parse(R"({"dataplaneRef": {"name": "db-0.app"}})"));
  EXPECT_EQ(perPod["status"]["vips"], Json::parse(R"([{"ip": "10.0.0.9"}])"));
  EXPECT_EQ(perPod["metadata"]["ownerReferences"][0]["kind"], "Pod");
  const std::string perPodName = perPod["metadata"]["name"];
  auto emptied =
      k8s->request("DELETE", "/apis/discovery.k8s.io/v1/namespaces/app/endpointslices/db-1a2b3");
  ASSERT_TRUE(emptied.ok());
  EXPECT_TRUE(
      eventually([&] { return meshService(*k8s, "app", perPodName).is_null(); }, seconds(30)))
      << cp->output();
  auto headlessGone = k8s->request("DELETE", "/api/v1/namespaces/app/services/db");
  ASSERT_TRUE(headlessGone.ok());

  // The Service goes: so does its MeshService (there is no garbage collector in this cluster).
  auto removed = k8s->request("DELETE", "/api/v1/namespaces/app/services/backend");
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(
      eventually([&] { return meshService(*k8s, "app", "backend").is_null(); }, seconds(30)))
      << cp->output();

  // The Universal generator does not run on Kubernetes: no MeshService of any other origin.
  const Json all = kubeGetJson(*k8s, "/apis/kuma.io/v1alpha1/meshservices");
  EXPECT_TRUE(all["items"].empty()) << all.dump();

  // Kuma's zone defaults on Kubernetes: the MeshExternalService hostnames only (the
  // `local-universal-mesh-service` one is Universal's).
  const Json generators =
      kubeGetJson(*k8s, "/apis/kuma.io/v1alpha1/namespaces/kuma-system/hostnamegenerators");
  std::vector<std::string> generatorNames;
  for (const Json& g : generators.value("items", Json::array())) {
    generatorNames.push_back(g["metadata"]["name"]);
  }
  EXPECT_EQ(generatorNames, std::vector<std::string>{"local-mesh-external-service"});

  httplib::Client diagnostics("127.0.0.1", cp->diagnosticsPort());
  httplib::Result metrics = diagnostics.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("workqueue_adds_total{controller=\"kuma-mesh-service-controller\""),
            std::string::npos);
}

}  // namespace
}  // namespace kuma::test
