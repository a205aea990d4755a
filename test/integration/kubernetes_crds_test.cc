// Kubernetes mode, first step (docs/kubernetes.md): a real etcd + kube-apiserver
// (test/test_common/kube_apiserver.h), the CRDs of `kuma-cp install crds` applied to it and
// Established, and Kuma resources created and read back through the Kubernetes API, with the
// API server enforcing the generated schemas (pruning, enums), also on every policy fixture of
// source/plugins/policies/*/testdata. And kuma-cp itself with `store.type: kubernetes` on it.
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "source/common/json_yaml.h"
#include "test/integration/kube_crds.h"
#include "test/test_common/kube_apiserver.h"
#include "test/test_common/process.h"

namespace kuma::test {
namespace {

using ::testing::HasSubstr;

KubeApiServer* k8s = nullptr;

class KubeEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    auto launched = KubeApiServer::launch();
    ASSERT_TRUE(launched.ok()) << launched.status();
    owned_ = std::move(*launched);
    k8s = owned_.get();
  }
  void TearDown() override {
    k8s = nullptr;
    owned_.reset();
  }

 private:
  std::unique_ptr<KubeApiServer> owned_;
};

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new KubeEnvironment());

nlohmann::json getJson(const std::string& path) {
  return kubeGetJson(*k8s, path);
}

/** Applies the generated CRDs once per process and waits until each is Established. */
void ensureCrds() {
  static bool done = false;
  if (done) {
    return;
  }
  applyKumaCrds(*k8s);
  done = !::testing::Test::HasFatalFailure();
}

TEST(KubernetesFixtureTest, ServesTheApiOverVerifiedTlsToTheAdmin) {
  nlohmann::json version = getJson("/version");
  ASSERT_TRUE(version.is_object());
  EXPECT_EQ(version["gitVersion"], "v1.37.2");
  EXPECT_TRUE(getJson("/api/v1/namespaces/default").is_object());

  // Without the token the request is anonymous and RBAC refuses it (403); a wrong token is not
  // authenticated at all (401). The certificate verifies against the fixture's CA in both.
  httplib::SSLClient other(k8s->host(), k8s->port());
  other.set_ca_cert_path(k8s->caFile().c_str());
  other.enable_server_certificate_verification(true);
  other.set_connection_timeout(std::chrono::seconds(2));
  auto anonymous = other.Get("/api/v1/namespaces");
  ASSERT_TRUE(anonymous) << httplib::to_string(anonymous.error());
  EXPECT_EQ(anonymous->status, 403);
  EXPECT_THAT(anonymous->body, HasSubstr("system:anonymous"));
  other.set_bearer_token_auth("not-the-token");
  auto wrong = other.Get("/api/v1/namespaces");
  ASSERT_TRUE(wrong) << httplib::to_string(wrong.error());
  EXPECT_EQ(wrong->status, 401);
}

TEST(KubernetesCrdsTest, EveryGeneratedCrdIsAcceptedAndEstablished) {
  ensureCrds();
  nlohmann::json list = getJson(kCrdsPath);
  ASSERT_TRUE(list.is_object());
  size_t kuma = 0;
  for (const auto& crd : list["items"]) {
    if (crd["spec"]["group"] == "kuma.io") {
      ++kuma;
    }
  }
  EXPECT_EQ(kuma, installCrds().size());
  // Discovery serves the group with Kuma's names.
  nlohmann::json group = getJson("/apis/kuma.io/v1alpha1");
  ASSERT_TRUE(group.is_object());
  std::map<std::string, nlohmann::json> byName;
  for (const auto& r : group["resources"]) {
    byName[r["name"].get<std::string>()] = r;
  }
  ASSERT_EQ(byName.count("meshtimeouts"), 1u);
  EXPECT_EQ(byName["meshtimeouts"]["namespaced"], true);
  EXPECT_EQ(byName["meshtimeouts"]["shortNames"], nlohmann::json::array({"mt"}));
  ASSERT_EQ(byName.count("meshes"), 1u);
  EXPECT_EQ(byName["meshes"]["namespaced"], false);
}

TEST(KubernetesCrdsTest, MeshIsCreatedAndReadBack) {
  ensureCrds();
  const nlohmann::json mesh = {
      {"apiVersion", "kuma.io/v1alpha1"},
      {"kind", "Mesh"},
      {"metadata", {{"name", "default"}}},
      {"spec",
       {{"mtls",
         {{"enabledBackend", "ca-1"},
          {"backends", nlohmann::json::array({{{"name", "ca-1"}, {"type", "builtin"}}})}}}}}};
  auto created = k8s->request("POST", "/apis/kuma.io/v1alpha1/meshes", mesh.dump());
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->status, 201) << created->body;
  nlohmann::json read = getJson("/apis/kuma.io/v1alpha1/meshes/default");
  ASSERT_TRUE(read.is_object());
  EXPECT_EQ(read["spec"], mesh["spec"]);  // kept whole (x-kubernetes-preserve-unknown-fields)
  EXPECT_FALSE(read["metadata"].contains("namespace"));
}

TEST(KubernetesCrdsTest, MeshTimeoutIsCreatedReadBackAndValidatedByItsSchema) {
  ensureCrds();
  const std::string path = "/apis/kuma.io/v1alpha1/namespaces/kuma-system/meshtimeouts";
  nlohmann::json timeout = {{"apiVersion", "kuma.io/v1alpha1"},
                            {"kind", "MeshTimeout"},
                            {"metadata",
                             {{"name", "timeout-1"},
                              {"namespace", "kuma-system"},
                              {"labels", {{"kuma.io/mesh", "default"}}}}},
                            {"spec",
                             {{"targetRef", {{"kind", "Mesh"}}},
                              {"to", nlohmann::json::array({{{"targetRef", {{"kind", "Mesh"}}},
                                                             {"default",
                                                              {{"idleTimeout", "20s"},
                                                               {"http", {{"requestTimeout", "2s"}}},
                                                               {"notAField", 1}}}}})}}}};
  auto created = k8s->request("POST", path, timeout.dump());
  ASSERT_TRUE(created.ok()) << created.status();
  ASSERT_EQ(created->status, 201) << created->body;
  nlohmann::json read = getJson(path + "/timeout-1");
  ASSERT_TRUE(read.is_object());
  EXPECT_EQ(read["metadata"]["namespace"], "kuma-system");
  EXPECT_EQ(read["metadata"]["labels"]["kuma.io/mesh"], "default");
  // The schema is structural: the unknown field is pruned, the rest is kept as sent.
  nlohmann::json expected = timeout["spec"];
  expected["to"][0]["default"].erase("notAField");
  EXPECT_EQ(read["spec"], expected);

  // The enum of targetRef.kind and the type of a duration come from the policy schema.
  nlohmann::json bad = timeout;
  bad["metadata"]["name"] = "timeout-2";
  bad["spec"]["targetRef"]["kind"] = "Frobnicator";
  bad["spec"]["to"][0]["default"]["idleTimeout"] = 20;
  auto rejected = k8s->request("POST", path, bad.dump());
  ASSERT_TRUE(rejected.ok()) << rejected.status();
  EXPECT_EQ(rejected->status, 422) << rejected->body;
  EXPECT_THAT(rejected->body, HasSubstr("spec.targetRef.kind"));
  EXPECT_THAT(rejected->body, HasSubstr("Unsupported value: \\\"Frobnicator\\\""));
  EXPECT_THAT(rejected->body, HasSubstr("spec.to[0].default.idleTimeout"));
}

/** A DNS-1123 name from a fixture's file name ("valid-Rules_1" -> "valid-rules-1"). */
std::string objectName(const std::string& stem) {
  std::string out;
  for (char c : stem) {
    out += std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '-';
  }
  return out;
}

// Every policy fixture the REST tests use (source/plugins/policies/<policy>/testdata): the
// schema-valid ones (`valid*.yaml`) are accepted by the API server with the generated CRDs, the
// schema-invalid ones (`invalid-schema*.yaml`) refused with 422, as crd_schema_test.py checks
// them against Kuma's own CRDs.
TEST(KubernetesCrdsTest, PolicyFixturesAreCheckedByTheGeneratedSchemas) {
  ensureCrds();
  std::map<std::string, std::string> plurals;
  for (const nlohmann::json& crd : installCrds()) {
    plurals[crd["spec"]["names"]["kind"]] = crd["spec"]["names"]["plural"];
  }
  const char* source = std::getenv("KUMA_SOURCE_DIR");
  ASSERT_NE(source, nullptr);
  std::vector<std::filesystem::path> fixtures;
  for (const auto& dir : std::filesystem::directory_iterator(std::filesystem::path(source) /
                                                             "source/plugins/policies")) {
    const auto testdata = dir.path() / "testdata";
    if (!std::filesystem::is_directory(testdata)) {
      continue;
    }
    for (const auto& f : std::filesystem::directory_iterator(testdata)) {
      const std::string name = f.path().filename().string();
      if (f.path().extension() == ".yaml" && name.find(".violations.") == std::string::npos &&
          (name.rfind("valid", 0) == 0 || name.rfind("invalid-schema", 0) == 0)) {
        fixtures.push_back(f.path());
      }
    }
  }
  size_t accepted = 0;
  size_t refused = 0;
  for (const auto& path : fixtures) {
    SCOPED_TRACE(path.string());
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    auto doc = common::parseYaml(text.str());
    ASSERT_TRUE(doc.ok()) << doc.status();
    const std::string kind = doc->value("type", "");
    ASSERT_EQ(plurals.count(kind), 1u) << "no CRD for " << kind;
    const std::string fixtureDir = path.parent_path().parent_path().filename().string();
    const nlohmann::json object = {
        {"apiVersion", "kuma.io/v1alpha1"},
        {"kind", kind},
        {"metadata",
         {{"name", objectName(fixtureDir + "-" + path.stem().string())},
          {"namespace", "kuma-system"},
          {"labels", {{"kuma.io/mesh", doc->value("mesh", "default")}}}}},
        {"spec", doc->value("spec", nlohmann::json::object())}};
    auto answer = k8s->request(
        "POST", absl::StrCat("/apis/kuma.io/v1alpha1/namespaces/kuma-system/", plurals[kind]),
        object.dump());
    ASSERT_TRUE(answer.ok()) << answer.status();
    if (path.filename().string().rfind("valid", 0) == 0) {
      ++accepted;
      EXPECT_EQ(answer->status, 201) << answer->body;
    } else {
      ++refused;
      EXPECT_EQ(answer->status, 422) << answer->body;
    }
  }
  EXPECT_GE(accepted, 15u);
  EXPECT_GE(refused, 10u);
}

// kuma-cp with `store.type: kubernetes` against the fixture: REST writes become Kuma-shaped
// objects of the Kubernetes API, and objects deleted there disappear from the REST API.
TEST(KubernetesStoreE2eTest, KumaCpKeepsItsResourcesInTheKubernetesApi) {
  ensureCrds();
  KumaCp::Options options;
  options.env = {{"KUMA_STORE_TYPE", "kubernetes"}, {"KUBECONFIG", k8s->kubeconfigFile()}};
  options.readyTimeout = std::chrono::seconds(90);
  auto cp = KumaCp::start(options);
  ASSERT_TRUE(cp.ok()) << cp.status();
  httplib::Client api("127.0.0.1", (*cp)->apiPort());
  api.set_read_timeout(std::chrono::seconds(30));
  auto call = [&](const std::string& method, const std::string& path,
                  const nlohmann::json& body = nullptr) {
    httplib::Result r = method == "PUT"      ? api.Put(path, body.dump(), "application/json")
                        : method == "DELETE" ? api.Delete(path)
                                             : api.Get(path);
    EXPECT_TRUE(r) << method << " " << path;
    return r ? std::make_pair(r->status, nlohmann::json::parse(r->body, nullptr, false))
             : std::make_pair(0, nlohmann::json());
  };

  // A Mesh: cluster-scoped, spec under `spec`.
  auto [meshPut, meshPutBody] = call(
      "PUT", "/meshes/e2e",
      {{"type", "Mesh"}, {"name", "e2e"}, {"routing", {{"localityAwareLoadBalancing", true}}}});
  ASSERT_EQ(meshPut, 201) << meshPutBody.dump() << (*cp)->output();
  nlohmann::json mesh = getJson("/apis/kuma.io/v1alpha1/meshes/e2e");
  ASSERT_TRUE(mesh.is_object());
  EXPECT_EQ(mesh["kind"], "Mesh");
  EXPECT_EQ(mesh["spec"]["routing"]["localityAwareLoadBalancing"], true);
  EXPECT_FALSE(mesh.contains("mesh"));

  // A MeshTimeout: namespaced in kuma-system, named name.namespace, mesh as the kuma.io/mesh label.
  const nlohmann::json timeout = {
      {"type", "MeshTimeout"},
      {"name", "mt-e2e.kuma-system"},
      {"mesh", "e2e"},
      {"spec",
       {{"targetRef", {{"kind", "Mesh"}}},
        {"to", {{{"targetRef", {{"kind", "Mesh"}}}, {"default", {{"idleTimeout", "20s"}}}}}}}}};
  auto [mtPut, mtPutBody] = call("PUT", "/meshes/e2e/meshtimeouts/mt-e2e.kuma-system", timeout);
  ASSERT_EQ(mtPut, 201) << mtPutBody.dump();
  nlohmann::json mt = getJson("/apis/kuma.io/v1alpha1/namespaces/kuma-system/meshtimeouts/mt-e2e");
  ASSERT_TRUE(mt.is_object());
  EXPECT_EQ(mt["metadata"]["labels"]["kuma.io/mesh"], "e2e");
  EXPECT_EQ(mt["spec"]["to"][0]["default"]["idleTimeout"], "20s");
  EXPECT_EQ(mt["spec"]["targetRef"]["kind"], "Mesh");
  // Owned by its Mesh, as Kuma sets it.
  ASSERT_TRUE(mt["metadata"]["ownerReferences"].is_array()) << mt.dump();
  EXPECT_EQ(mt["metadata"]["ownerReferences"][0]["kind"], "Mesh");
  EXPECT_EQ(mt["metadata"]["ownerReferences"][0]["uid"], mesh["metadata"]["uid"]);

  auto [mtGet, mtBody] = call("GET", "/meshes/e2e/meshtimeouts/mt-e2e.kuma-system");
  ASSERT_EQ(mtGet, 200) << mtBody.dump();
  EXPECT_EQ(mtBody["name"], "mt-e2e.kuma-system");
  EXPECT_EQ(mtBody["spec"]["to"][0]["default"]["idleTimeout"], "20s");
  auto [listStatus, list] = call("GET", "/meshes/e2e/meshtimeouts");
  ASSERT_EQ(listStatus, 200);
  std::vector<std::string> names;
  for (const auto& item : list["items"]) {
    names.push_back(item["name"]);
  }
  EXPECT_THAT(names, ::testing::Contains("mt-e2e.kuma-system"));

  // Deleting through REST removes the object from the Kubernetes API.
  auto [mtDel, mtDelBody] = call("DELETE", "/meshes/e2e/meshtimeouts/mt-e2e.kuma-system");
  EXPECT_EQ(mtDel, 200) << mtDelBody.dump();
  EXPECT_TRUE(
      getJson("/apis/kuma.io/v1alpha1/namespaces/kuma-system/meshtimeouts/mt-e2e").is_null());
  EXPECT_EQ(call("GET", "/meshes/e2e/meshtimeouts/mt-e2e.kuma-system").first, 404);

  // Deleting the Mesh deletes what it owns (the store cascades, there is no garbage collector).
  auto [again, againBody] = call("PUT", "/meshes/e2e/meshtimeouts/mt-e2e.kuma-system", timeout);
  ASSERT_EQ(again, 201) << againBody.dump();
  auto [meshDel, meshDelBody] = call("DELETE", "/meshes/e2e");
  EXPECT_EQ(meshDel, 200) << meshDelBody.dump();
  EXPECT_TRUE(getJson("/apis/kuma.io/v1alpha1/meshes/e2e").is_null());
  EXPECT_TRUE(
      getJson("/apis/kuma.io/v1alpha1/namespaces/kuma-system/meshtimeouts/mt-e2e").is_null());

  // The client's counters are exported (runtime.kubernetes.clientConfig.qps/burstQps: 100/100).
  httplib::Client diagnostics("127.0.0.1", (*cp)->diagnosticsPort());
  httplib::Result metrics = diagnostics.Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, HasSubstr("kube_client_requests_total"));
  EXPECT_THAT(metrics->body, HasSubstr("kube_client_throttled_requests_total"));
  EXPECT_THAT(metrics->body, HasSubstr("kube_client_throttled_seconds_total"));

  // The defaults kuma-cp wrote at start: the default Mesh and the Envoy admin CA as a Kuma Secret.
  EXPECT_TRUE(getJson("/apis/kuma.io/v1alpha1/meshes/default").is_object());
  nlohmann::json adminCa = getJson("/api/v1/namespaces/kuma-system/secrets/envoy-admin-ca");
  ASSERT_TRUE(adminCa.is_object());
  EXPECT_EQ(adminCa["type"], "system.kuma.io/global-secret");
  EXPECT_TRUE(adminCa["data"]["value"].is_string());
}

}  // namespace
}  // namespace kuma::test
