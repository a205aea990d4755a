// Kubernetes mode, the admission webhooks (docs/kubernetes.md "Sidecar injection"): kuma-cp with
// `environment: kubernetes` serves them on its admission port with a certificate signed by the
// test cluster's CA; the test registers them in a real kube-apiserver as Kuma's Helm chart does,
// then creates Pods and Kuma resources through the API. Injected Pods come back with the sidecar
// and its `--concurrency` (from the annotation, else from the sidecar's configured CPU limit),
// and turn into Dataplanes once "running"; invalid resources are refused with Kuma's answers
// (testdata/kuma-2.14.3-validation-reviews.json, recorded from Kuma 2.14.3 on the same API
// server).
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "test/integration/kube_crds.h"
#include "test/integration/kuma_cp_start.h"
#include "test/test_common/golden.h"
#include "test/test_common/kube_apiserver.h"

namespace kuma::test {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

// The sidecar's CPU limit kuma-cp is configured with: Kuma's injector gives --concurrency=7.
constexpr char kSidecarCpuLimit[] = "7000m";

class KubernetesWebhooksTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    KubeApiServer::Options options;
    options.extraApiServerArgs = {"--disable-admission-plugins=ServiceAccount"};
    auto launched = KubeApiServer::launch(options);
    ASSERT_TRUE(launched.ok()) << launched.status();
    k8s_ = launched->release();
    applyKumaCrds(*k8s_);
    // The webhook's serving certificate: the API server's own (SAN 127.0.0.1, the test CA).
    const std::string certDir = k8s_->rootDir() + "/webhook-certs";
    std::filesystem::create_directories(certDir);
    std::filesystem::copy_file(k8s_->rootDir() + "/serving.crt", certDir + "/tls.crt");
    std::filesystem::copy_file(k8s_->rootDir() + "/serving.key", certDir + "/tls.key");
    admissionPort_ = freePort();
    KumaCp::Options cpOptions;
    cpOptions.env = {
        {"KUMA_ENVIRONMENT", "kubernetes"},
        {"KUMA_STORE_TYPE", "kubernetes"},
        {"KUBECONFIG", k8s_->kubeconfigFile()},
        {"KUMA_RUNTIME_KUBERNETES_ADMISSION_SERVER_ADDRESS", "127.0.0.1"},
        {"KUMA_RUNTIME_KUBERNETES_ADMISSION_SERVER_PORT", std::to_string(admissionPort_)},
        {"KUMA_RUNTIME_KUBERNETES_ADMISSION_SERVER_CERT_DIR", certDir},
        {"KUMA_INJECTOR_SIDECAR_CONTAINER_RESOURCES_LIMITS_CPU", kSidecarCpuLimit}};
    cpOptions.readyTimeout = std::chrono::seconds(90);
    auto cp = KumaCp::start(cpOptions);
    ASSERT_TRUE(cp.ok()) << cp.status();
    cp_ = cp->release();
    ASSERT_TRUE(eventually(
        [] { return kubeGetJson(*k8s_, "/apis/kuma.io/v1alpha1/meshes/default").is_object(); },
        std::chrono::seconds(30)))
        << cp_->output();
    registerWebhooks();
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

  /** Kuma's chart: the injector for labelled namespaces, the validator for kuma.io objects. */
  static void registerWebhooks() {
    const std::string caBundle = absl::Base64Escape(k8s_->caPem());
    const auto clientConfig = [&](const char* path) {
      return Json{{"url", absl::StrCat("https://127.0.0.1:", admissionPort_, path)},
                  {"caBundle", caBundle}};
    };
    const Json mutating = {
        {"apiVersion", "admissionregistration.k8s.io/v1"},
        {"kind", "MutatingWebhookConfiguration"},
        {"metadata", {{"name", "kuma-admission-mutating-webhook-configuration"}}},
        {"webhooks",
         Json::array({{{"name", "namespace-kuma-injector.kuma.io"},
                       {"admissionReviewVersions", {"v1"}},
                       {"failurePolicy", "Fail"},
                       {"sideEffects", "None"},
                       {"clientConfig", clientConfig("/inject-sidecar")},
                       {"namespaceSelector",
                        {{"matchExpressions", Json::array({{{"key", "kuma.io/sidecar-injection"},
                                                            {"operator", "In"},
                                                            {"values", {"enabled", "true"}}}})}}},
                       {"rules", Json::array({{{"apiGroups", {""}},
                                               {"apiVersions", {"v1"}},
                                               {"operations", {"CREATE"}},
                                               {"resources", {"pods"}}}})}}})}};
    const Json validating = {
        {"apiVersion", "admissionregistration.k8s.io/v1"},
        {"kind", "ValidatingWebhookConfiguration"},
        {"metadata", {{"name", "kuma-validating-webhook-configuration"}}},
        {"webhooks",
         Json::array({{{"name", "validator.kuma-admission.kuma.io"},
                       {"admissionReviewVersions", {"v1"}},
                       {"failurePolicy", "Fail"},
                       {"sideEffects", "None"},
                       {"clientConfig", clientConfig("/validate-kuma-io-v1alpha1")},
                       {"rules", Json::array({{{"apiGroups", {"kuma.io"}},
                                               {"apiVersions", {"v1alpha1"}},
                                               {"operations", {"CREATE", "UPDATE", "DELETE"}},
                                               {"resources", {"*"}}}})}}})}};
    for (const auto& [path, body] :
         {std::pair{"/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
                    mutating},
          std::pair{"/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
                    validating}}) {
      auto r = k8s_->request("POST", path, body.dump());
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_EQ(r->status, 201) << r->body;
    }
  }

  static void createNamespace(const std::string& name, const Json& labels) {
    auto r = k8s_->request("POST", "/api/v1/namespaces",
                           Json{{"apiVersion", "v1"},
                                {"kind", "Namespace"},
                                {"metadata", {{"name", name}, {"labels", labels}}}}
                               .dump());
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->status, 201) << r->body;
  }

  static Json pod(const std::string& ns, const std::string& name, const Json& annotations) {
    return {
        {"apiVersion", "v1"},
        {"kind", "Pod"},
        {"metadata",
         {{"name", name},
          {"namespace", ns},
          {"labels", {{"app", name}}},
          {"annotations", annotations}}},
        {"spec",
         {{"containers", Json::array({{{"name", "app"},
                                       {"image", "example/app:1.0"},
                                       {"ports", Json::array({{{"containerPort", 8080}}})},
                                       {"readinessProbe",
                                        {{"httpGet", {{"path", "/ready"}, {"port", 8080}}}}}}})}}}};
  }

  /** Creates a Pod; the API server's answer (the stored, possibly mutated Pod, or an error). */
  static std::pair<int, Json> createPod(const Json& object) {
    const std::string ns = object["metadata"]["namespace"];
    auto r = k8s_->request("POST", absl::StrCat("/api/v1/namespaces/", ns, "/pods"), object.dump());
    if (!r.ok()) {
      return {0, Json(std::string(r.status().message()))};
    }
    return {r->status, Json::parse(r->body, nullptr, false)};
  }

  static const Json* container(const Json& pod, const char* list, const std::string& name) {
    if (!pod["spec"].contains(list)) {
      return nullptr;
    }
    for (const Json& c : pod["spec"][list]) {
      if (c.value("name", "") == name) {
        return &c;
      }
    }
    return nullptr;
  }

  static std::vector<std::string> concurrencyArgs(const Json& sidecar) {
    std::vector<std::string> out;
    for (const Json& arg : sidecar.value("args", Json::array())) {
      if (arg.get<std::string>().rfind("--concurrency", 0) == 0) {
        out.push_back(arg);
      }
    }
    return out;
  }

  static std::string metrics() {
    httplib::Client diagnostics("127.0.0.1", cp_->diagnosticsPort());
    httplib::Result r = diagnostics.Get("/metrics");
    return r ? r->body : "";
  }

  static KubeApiServer* k8s_;
  static KumaCp* cp_;
  static uint16_t admissionPort_;
};

KubeApiServer* KubernetesWebhooksTest::k8s_ = nullptr;
KumaCp* KubernetesWebhooksTest::cp_ = nullptr;
uint16_t KubernetesWebhooksTest::admissionPort_ = 0;

TEST_F(KubernetesWebhooksTest, PodsComeBackWithTheSidecarAndItsConcurrency) {
  createNamespace("shop", {{"kuma.io/sidecar-injection", "enabled"}});
  createNamespace("plain", Json::object());

  // The annotation sets the concurrency as given; without it the configured CPU limit does.
  auto [status3, explicit3] =
      createPod(pod("shop", "explicit", {{"kuma.io/sidecar-proxy-concurrency", "3"}}));
  ASSERT_EQ(status3, 201) << explicit3.dump();
  auto [status7, fromLimit] = createPod(pod("shop", "from-limit", Json::object()));
  ASSERT_EQ(status7, 201) << fromLimit.dump();
  for (const auto& [object, expected] :
       {std::pair{explicit3, "--concurrency=3"}, std::pair{fromLimit, "--concurrency=7"}}) {
    SCOPED_TRACE(object["metadata"]["name"].get<std::string>());
    // A native sidecar (Kubernetes ≥ 1.29): after kuma-init, before the Pod's own containers.
    ASSERT_GE(object["spec"]["initContainers"].size(), 2u) << object.dump(1);
    EXPECT_EQ(object["spec"]["initContainers"][0]["name"], "kuma-init");
    EXPECT_EQ(object["spec"]["initContainers"][1]["name"], "kuma-sidecar");
    const Json* sidecar = container(object, "initContainers", "kuma-sidecar");
    ASSERT_NE(sidecar, nullptr);
    EXPECT_EQ(concurrencyArgs(*sidecar), std::vector<std::string>{expected});
    EXPECT_EQ((*sidecar)["restartPolicy"], "Always");
    EXPECT_EQ((*sidecar)["resources"]["limits"]["cpu"], "7");  // the API server's canonical form
    EXPECT_EQ(object["metadata"]["annotations"]["kuma.io/sidecar-injected"], "true");
    EXPECT_EQ(object["metadata"]["labels"]["kuma.io/mesh"], "default");
    // The application's probe goes through kuma-dp's probe proxy (9001), as Kuma does.
    const Json* app = container(object, "containers", "app");
    ASSERT_NE(app, nullptr);
    EXPECT_EQ((*app)["readinessProbe"]["httpGet"]["port"], 9001);
    EXPECT_EQ((*app)["readinessProbe"]["httpGet"]["path"], "/8080/ready");
  }

  // Not labelled for injection: the API server does not call the webhook.
  auto [plainStatus, plain] = createPod(pod("plain", "untouched", Json::object()));
  ASSERT_EQ(plainStatus, 201) << plain.dump();
  EXPECT_EQ(container(plain, "initContainers", "kuma-sidecar"), nullptr);
  // Labelled off on the Pod: the webhook lets it through unchanged.
  Json off = pod("shop", "opted-out", Json::object());
  off["metadata"]["labels"]["kuma.io/sidecar-injection"] = "disabled";
  auto [offStatus, offPod] = createPod(off);
  ASSERT_EQ(offStatus, 201) << offPod.dump();
  EXPECT_EQ(container(offPod, "initContainers", "kuma-sidecar"), nullptr);
  // A Mesh that does not exist: refused with Kuma's message.
  auto [missingStatus, missing] = createPod(pod("shop", "lost", {{"kuma.io/mesh", "nope"}}));
  EXPECT_EQ(missingStatus, 500) << missing.dump();
  EXPECT_THAT(missing.dump(), HasSubstr("Mesh.kuma.io \\\"nope\\\" not found"));
  // An annotation Kuma cannot parse: refused with Kuma's message.
  auto [badStatus, bad] =
      createPod(pod("shop", "bad", {{"kuma.io/sidecar-proxy-concurrency", "abc"}}));
  EXPECT_EQ(badStatus, 500) << bad.dump();
  EXPECT_THAT(bad.dump(), HasSubstr("failed to parse annotation"));

  // The injected Pod, once running, becomes a Dataplane (the pod controller).
  Json status = {{"status",
                  {{"phase", "Running"},
                   {"podIP", "10.244.0.7"},
                   {"conditions", Json::array({{{"type", "Ready"}, {"status", "True"}}})}}}};
  auto patched = k8s_->request("PATCH", "/api/v1/namespaces/shop/pods/from-limit/status",
                               status.dump(), "application/merge-patch+json");
  ASSERT_TRUE(patched.ok()) << patched.status();
  ASSERT_EQ(patched->status, 200) << patched->body;
  Json dataplane;
  EXPECT_TRUE(eventually(
      [&] {
        dataplane =
            kubeGetJson(*k8s_, "/apis/kuma.io/v1alpha1/namespaces/shop/dataplanes/from-limit");
        return dataplane.is_object();
      },
      std::chrono::seconds(20)))
      << cp_->output();
  if (dataplane.is_object()) {
    EXPECT_EQ(dataplane["spec"]["networking"]["address"], "10.244.0.7");
    EXPECT_EQ(dataplane["spec"]["networking"]["transparentProxying"]["redirectPortInbound"], 15006);
  }
  const std::string m = metrics();
  EXPECT_THAT(
      m, HasSubstr("sidecar_injection_total{reason=\"\",result=\"success\",zone=\"default\"} 2"));
  EXPECT_THAT(m, HasSubstr("sidecar_injection_total{reason=\"mesh_not_found\",result=\"failed\""));
}

TEST_F(KubernetesWebhooksTest, KumaResourcesAreValidatedAsKumaDoes) {
  std::ifstream in(sourcePath("test/integration/testdata/kuma-2.14.3-validation-reviews.json"));
  ASSERT_TRUE(in.good());
  const Json cases = Json::parse(in)["cases"];
  ASSERT_GE(cases.size(), 10u);
  httplib::SSLClient webhook("127.0.0.1", admissionPort_);
  webhook.set_ca_cert_path(k8s_->caFile().c_str());
  webhook.enable_server_certificate_verification(true);
  webhook.set_read_timeout(std::chrono::seconds(30));
  int compared = 0;
  for (const Json& c : cases) {
    const std::string name = c["case"];
    SCOPED_TRACE(name);
    // The review as the API server sent it to Kuma, answered by kuma-cpp directly.
    httplib::Result r =
        webhook.Post("/validate-kuma-io-v1alpha1", c["review"].dump(), "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    ASSERT_EQ(r->status, 200) << r->body;
    const Json ours = Json::parse(r->body)["response"];
    const Json& kuma = c["response"];
    EXPECT_EQ(ours["uid"], kuma["uid"]);
    EXPECT_EQ(ours["allowed"], kuma["allowed"]) << ours.dump();
    if (name == "v01-meshtimeout-negative-duration") {
      // Kuma's defaulting webhook (not served by kuma-cpp) refused this one first, 400 "time:
      // invalid duration \"abc\""; kuma-cpp's validator refuses it with the same text at its path.
      EXPECT_THAT(ours["status"]["message"].get<std::string>(),
                  HasSubstr("time: invalid duration \"abc\""));
    } else if (name == "v02-meshtimeout-missing-targetref-kind" ||
               name == "v04-mtp-wrong-targetref-kind" ||
               name == "v04b-mtp-unknown-targetref-kind") {
      // Objects the CRD schema refuses before the API server calls any webhook (the recording's
      // API-server answers). Sent directly, kuma-cpp answers with its schema's wording (as its
      // REST API), Kuma with its validator's; the code, reason and paths are the same.
      EXPECT_EQ(ours["status"]["code"], kuma["status"]["code"]);
      EXPECT_EQ(ours["status"]["reason"], kuma["status"]["reason"]);
      ASSERT_EQ(ours["status"]["details"]["causes"].size(),
                kuma["status"]["details"]["causes"].size());
      for (size_t i = 0; i < kuma["status"]["details"]["causes"].size(); ++i) {
        EXPECT_EQ(ours["status"]["details"]["causes"][i]["field"],
                  kuma["status"]["details"]["causes"][i]["field"]);
      }
    } else {
      EXPECT_EQ(ours["status"], kuma["status"])
          << "ours: " << ours["status"].dump(1) << "\nKuma: " << kuma["status"].dump(1);
    }
    ++compared;
  }
  EXPECT_GE(compared, 10);

  // Through the API server: the refusal reaches the client with Kuma's message.
  for (const Json& c : cases) {
    const std::string name = c["case"];
    if (name != "v01b-meshtimeout-negative-only" && name != "v02b-meshtimeout-empty-to-default" &&
        name != "v03-mesh-invalid-mtls" && name != "v06-meshtimeout-valid") {
      continue;
    }
    SCOPED_TRACE(name);
    Json object = c["objectPosted"];
    object["metadata"]["name"] = object["metadata"]["name"].get<std::string>() + "-api";
    const std::string path =
        c["namespace"].is_string()
            ? absl::StrCat("/apis/kuma.io/v1alpha1/namespaces/", c["namespace"].get<std::string>(),
                           "/", c["resource"].get<std::string>())
            : absl::StrCat("/apis/kuma.io/v1alpha1/", c["resource"].get<std::string>());
    auto answer = k8s_->request("POST", path, object.dump());
    ASSERT_TRUE(answer.ok()) << answer.status();
    EXPECT_EQ(answer->status, c["apiServerHttpCode"]) << answer->body;
    if (c["apiServerMessage"].is_string()) {
      EXPECT_EQ(Json::parse(answer->body, nullptr, false).value("message", ""),
                c["apiServerMessage"]);
    }
  }
}

}  // namespace
}  // namespace kuma::test
