#pragma once

// File: kube_crds.h
// Kuma's CRDs on a test kube-apiserver (test/test_common/kube_apiserver.h): the documents of
// `kuma-cp install crds`, applied and Established, and the system namespace kuma-system.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "source/common/json_yaml.h"
#include "test/test_common/kube_apiserver.h"
#include "test/test_common/process.h"

namespace kuma::test {

inline constexpr char kCrdsPath[] = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/** The documents of `kuma-cp install crds`, as JSON. */
inline std::vector<nlohmann::json> installCrds() {
  ExitResult run = runToExit(binaryPath("kuma-cp"), {"install", "crds"}, {});
  EXPECT_EQ(run.exitCode, 0) << run.output;
  std::vector<nlohmann::json> docs;
  size_t start = 0;
  const std::string& text = run.output;
  while (start < text.size()) {
    size_t end = text.find("---\n", start);
    if (end == std::string::npos) {
      end = text.size();
    }
    if (end > start) {
      auto doc = common::parseYaml(std::string_view(text).substr(start, end - start));
      EXPECT_TRUE(doc.ok()) << doc.status();
      if (doc.ok() && !doc->is_null()) {
        docs.push_back(*doc);
      }
    }
    start = end + 4;
  }
  return docs;
}

/** GET `path` as JSON; null unless 200. */
inline nlohmann::json kubeGetJson(const KubeApiServer& k8s, const std::string& path) {
  auto answer = k8s.request("GET", path);
  if (!answer.ok() || answer->status != 200) {
    return nullptr;
  }
  return nlohmann::json::parse(answer->body, nullptr, false);
}

inline bool crdEstablished(const KubeApiServer& k8s, const std::string& name) {
  nlohmann::json crd = kubeGetJson(k8s, absl::StrCat(kCrdsPath, "/", name));
  if (!crd.is_object()) {
    return false;
  }
  for (const auto& c : crd["status"].value("conditions", nlohmann::json::array())) {
    if (c.value("type", "") == "Established" && c.value("status", "") == "True") {
      return true;
    }
  }
  return false;
}

/** Applies the generated CRDs, waits until each is Established, creates kuma-system. */
inline void applyKumaCrds(const KubeApiServer& k8s) {
  std::vector<nlohmann::json> crds = installCrds();
  ASSERT_FALSE(crds.empty());
  for (const nlohmann::json& crd : crds) {
    auto answer = k8s.request("POST", kCrdsPath, crd.dump());
    ASSERT_TRUE(answer.ok()) << answer.status();
    ASSERT_EQ(answer->status, 201) << crd["metadata"]["name"] << ": " << answer->body;
  }
  for (const nlohmann::json& crd : crds) {
    const std::string name = crd["metadata"]["name"];
    ASSERT_TRUE(eventually([&] { return crdEstablished(k8s, name); }, std::chrono::seconds(60)))
        << name
        << " not Established: " << kubeGetJson(k8s, absl::StrCat(kCrdsPath, "/", name)).dump();
  }
  auto ns =
      k8s.request("POST", "/api/v1/namespaces",
                  R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"kuma-system"}})");
  ASSERT_TRUE(ns.ok()) << ns.status();
  ASSERT_EQ(ns->status, 201) << ns->body;
}

}  // namespace kuma::test
