// Kubernetes mode, Kuma's namespace controller (docs/kubernetes.md): with
// runtime.kubernetes.injector.cniEnabled and Multus's NetworkAttachmentDefinition CRD installed,
// a namespace labelled kuma.io/sidecar-injection gets the NetworkAttachmentDefinition `kuma-cni`
// that Kuma's CNI is attached through, and loses it when the label goes.
#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/integration/kube_crds.h"
#include "test/test_common/kube_apiserver.h"

namespace kuma::test {
namespace {

using Json = nlohmann::json;

constexpr char kNadCrd[] = "network-attachment-definitions.k8s.cni.cncf.io";

/** Multus's CRD, as far as Kuma's controller uses it. */
Json nadCrd() {
  return Json::parse(R"({
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "network-attachment-definitions.k8s.cni.cncf.io"},
    "spec": {"group": "k8s.cni.cncf.io", "scope": "Namespaced",
             "names": {"plural": "network-attachment-definitions",
                       "singular": "network-attachment-definition",
                       "kind": "NetworkAttachmentDefinition", "shortNames": ["net-attach-def"]},
             "versions": [{"name": "v1", "served": true, "storage": true,
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                             "spec": {"type": "object",
                                      "properties": {"config": {"type": "string"}}}}}}}]}})");
}

Json nad(const KubeApiServer& k8s, const std::string& ns) {
  return kubeGetJson(k8s, absl::StrCat("/apis/k8s.cni.cncf.io/v1/namespaces/", ns,
                                       "/network-attachment-definitions/kuma-cni"));
}

void createNamespace(const KubeApiServer& k8s, const std::string& name, const Json& labels) {
  auto answer = k8s.request("POST", "/api/v1/namespaces",
                            Json{{"apiVersion", "v1"},
                                 {"kind", "Namespace"},
                                 {"metadata", {{"name", name}, {"labels", labels}}}}
                                .dump());
  ASSERT_TRUE(answer.ok()) << answer.status();
  ASSERT_EQ(answer->status, 201) << answer->body;
}

TEST(KubernetesNamespaceTest, LabelledNamespacesGetTheCniAttachment) {
  auto launched = KubeApiServer::launch();
  ASSERT_TRUE(launched.ok()) << launched.status();
  std::unique_ptr<KubeApiServer> k8s = std::move(*launched);
  applyKumaCrds(*k8s);
  auto crd = k8s->request("POST", kCrdsPath, nadCrd().dump());
  ASSERT_TRUE(crd.ok()) << crd.status();
  ASSERT_EQ(crd->status, 201) << crd->body;
  ASSERT_TRUE(eventually([&] { return crdEstablished(*k8s, kNadCrd); }, std::chrono::seconds(60)));

  KumaCp::Options options;
  options.env = {{"KUMA_ENVIRONMENT", "kubernetes"},
                 {"KUMA_STORE_TYPE", "kubernetes"},
                 {"KUBECONFIG", k8s->kubeconfigFile()},
                 {"KUMA_RUNTIME_KUBERNETES_INJECTOR_CNI_ENABLED", "true"}};
  options.readyTimeout = std::chrono::seconds(90);
  auto started = KumaCp::start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  std::unique_ptr<KumaCp> cp = std::move(*started);

  createNamespace(*k8s, "plain", Json::object());
  createNamespace(*k8s, "meshed", {{"kuma.io/sidecar-injection", "enabled"}});
  // Kuma checks that the label is there, whatever it says.
  createNamespace(*k8s, "opted-out", {{"kuma.io/sidecar-injection", "disabled"}});
  Json attachment;
  ASSERT_TRUE(eventually(
      [&] {
        attachment = nad(*k8s, "meshed");
        return attachment.is_object();
      },
      std::chrono::seconds(30)))
      << cp->output();
  EXPECT_EQ(attachment["spec"], (Json{{"config", ""}}));
  EXPECT_TRUE(
      eventually([&] { return nad(*k8s, "opted-out").is_object(); }, std::chrono::seconds(30)));
  EXPECT_TRUE(nad(*k8s, "plain").is_null());

  // The label goes: so does the attachment.
  auto unlabelled = k8s->request("PATCH", "/api/v1/namespaces/meshed",
                                 R"({"metadata": {"labels": {"kuma.io/sidecar-injection": null}}})",
                                 "application/merge-patch+json");
  ASSERT_TRUE(unlabelled.ok()) << unlabelled.status();
  ASSERT_EQ(unlabelled->status, 200) << unlabelled->body;
  EXPECT_TRUE(eventually([&] { return nad(*k8s, "meshed").is_null(); }, std::chrono::seconds(30)))
      << cp->output();

  // controller-runtime's queue metrics for the controller.
  httplib::Client diagnostics("127.0.0.1", cp->diagnosticsPort());
  httplib::Result metrics = diagnostics.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("workqueue_adds_total{controller=\"kuma-namespace-controller\""),
            std::string::npos);
}

}  // namespace
}  // namespace kuma::test
