#include "test/plugins/resources/kubernetes/kube_test_env.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "source/plugins/k8s/crds.h"
#include "test/store_conformance/test_types.h"

namespace kuma::k8s::testing {

test::KubeApiServer* apiServer() {
  // Stopped by its destructor at exit (static destruction), after the last test.
  static std::unique_ptr<test::KubeApiServer> server =
      []() -> std::unique_ptr<test::KubeApiServer> {
    auto launched = test::KubeApiServer::launch();
    if (!launched.ok()) {
      ADD_FAILURE() << "kube-apiserver: " << launched.status();
      return nullptr;
    }
    return std::move(*launched);
  }();
  return server.get();
}

std::shared_ptr<KubeClient> newClient(double qps, int burst) {
  test::KubeApiServer* server = apiServer();
  return server == nullptr ? nullptr : newClientFor(*server, qps, burst);
}

std::shared_ptr<KubeClient> newClientFor(const test::KubeApiServer& server, double qps, int burst) {
  KubeConnection connection;
  connection.host = server.host();
  connection.port = server.port();
  connection.caPem = server.caPem();
  connection.bearerToken = server.adminToken();
  KubeClientOptions options;
  options.qps = qps;
  options.burst = burst;
  auto client = KubeClient::create(connection, options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? std::shared_ptr<KubeClient>(std::move(*client)) : nullptr;
}

absl::Status installCrds(const std::vector<const model::ResourceTypeDescriptor*>& types) {
  auto client = newClient();
  if (!client) {
    return absl::UnavailableError("no API server");
  }
  return installCrdsWith(*client, types);
}

absl::Status installCrdsWith(KubeClient& kube,
                             const std::vector<const model::ResourceTypeDescriptor*>& types) {
  KubeClient* client = &kube;
  for (const model::ResourceTypeDescriptor* type : types) {
    nlohmann::ordered_json crd = crdFor(*type);
    auto answer = client->request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                                  crd.dump());
    if (!answer.ok()) {
      return answer.status();
    }
    if (answer->status != 201 && answer->status != 409) {
      return absl::InternalError(
          absl::StrCat("CRD ", type->name, ": HTTP ", answer->status, " ", answer->body));
    }
    const std::string path =
        absl::StrCat("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/",
                     crd["metadata"]["name"].get<std::string>());
    bool established = false;
    for (int i = 0; i < 200 && !established; i++) {
      auto got = client->request("GET", path);
      if (got.ok() && got->status == 200) {
        nlohmann::json object = nlohmann::json::parse(got->body, nullptr, false);
        for (const auto& condition : object["status"]["conditions"]) {
          established =
              established || (condition["type"] == "Established" && condition["status"] == "True");
        }
      }
      if (!established) {
        absl::SleepFor(absl::Milliseconds(50));
      }
    }
    if (!established) {
      return absl::DeadlineExceededError(absl::StrCat("CRD of ", type->name, " not Established"));
    }
    // Discovery may lag behind the condition: wait until the collection answers.
    bool served = false;
    for (int i = 0; i < 200 && !served; i++) {
      auto list = client->request("GET", absl::StrCat("/apis/kuma.io/v1alpha1/", crdPlural(*type)));
      served = list.ok() && list->status == 200;
      if (!served) {
        absl::SleepFor(absl::Milliseconds(50));
      }
    }
    if (!served) {
      return absl::DeadlineExceededError(absl::StrCat("CRD of ", type->name, " not served"));
    }
  }
  return absl::OkStatus();
}

absl::Status wipe(KubeClient& client,
                  const std::vector<const model::ResourceTypeDescriptor*>& types) {
  for (const model::ResourceTypeDescriptor* type : types) {
    auto answer =
        client.request("DELETE", absl::StrCat("/apis/kuma.io/v1alpha1/", crdPlural(*type)));
    if (!answer.ok()) {
      return answer.status();
    }
    if (answer->status != 200 && answer->status != 404) {
      return absl::InternalError(absl::StrCat("wipe ", type->name, ": HTTP ", answer->status));
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<KubernetesStore> makeCleanConformanceStore() {
  using store::conformance::testItemType;
  using store::conformance::testMeshType;
  const std::vector<const model::ResourceTypeDescriptor*> types = {&testMeshType(),
                                                                   &testItemType()};
  static const absl::Status installed = installCrds(types);
  if (!installed.ok()) {
    ADD_FAILURE() << installed;
    return nullptr;
  }
  auto client = newClient();
  if (!client) {
    return nullptr;
  }
  if (absl::Status s = wipe(*client, types); !s.ok()) {
    ADD_FAILURE() << s;
    return nullptr;
  }
  KubernetesStoreOptions options;
  options.client = client;
  options.types = types;
  auto store = newKubernetesStore(options);
  if (!store.ok()) {
    ADD_FAILURE() << store.status();
    return nullptr;
  }
  if (absl::Status s = (*store)->waitForSync(absl::Seconds(30)); !s.ok()) {
    ADD_FAILURE() << s;
    return nullptr;
  }
  return std::move(*store);
}

}  // namespace kuma::k8s::testing
