// Kuma 2.14's sidecar injection (source/plugins/runtime/kubernetes/webhooks) against what Kuma
// 2.14.3's own /inject-sidecar webhook answered to the same AdmissionReviews, sent by a real
// kube-apiserver (testdata/kuma-2.14.3-injections.json: the review, the Namespace, the Meshes
// and ContainerPatches that existed, the kuma-cp configuration of the case, and the Pod with
// Kuma's patch applied, or Kuma's refusal). Our answer's patch is applied to the same object and
// must give the same Pod. Plus the concurrency rule and the quantity parser on their own.
#include "source/plugins/runtime/kubernetes/webhooks/sidecar_injector.h"

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "source/plugins/runtime/kubernetes/webhooks/admission_server.h"
#include "test/test_common/golden.h"

namespace kuma::k8s::webhooks {
namespace {

std::vector<Json> recordings() {
  std::ifstream in(
      test::sourcePath("test/plugins/runtime/kubernetes/testdata/kuma-2.14.3-injections.json"));
  EXPECT_TRUE(in.good());
  Json all = Json::parse(in, nullptr, false);
  return all["cases"].get<std::vector<Json>>();
}

/** kuma-cp's configuration of a recorded case (its defaults plus the case's environment). */
AdmissionServerOptions optionsFor(const Json& c) {
  AdmissionServerOptions o;
  // The recording's kuma-cp served its DP server on 27678.
  o.injector.controlPlaneUrl = "https://kuma-control-plane.kuma-system:27678";
  for (const auto& [key, value] : c["profileEnv"].items()) {
    const std::string v = value.get<std::string>();
    if (key == "KUMA_INJECTOR_SIDECAR_CONTAINER_RESOURCES_LIMITS_CPU") {
      o.injector.injector.sidecarContainer.resources.limits.cpu = v;
    } else if (key == "KUMA_EXPERIMENTAL_SIDECAR_CONTAINERS") {
      o.injector.sidecarContainersEnabled = v == "true";
    } else if (key == "KUMA_RUNTIME_KUBERNETES_INJECTOR_CNI_ENABLED") {
      o.injector.injector.cniEnabled = v == "true";
    } else {
      ADD_FAILURE() << c["case"] << ": unmapped setting " << key;
    }
  }
  const Json ns = c["namespace"];
  o.getNamespace = [ns](const std::string&) -> absl::StatusOr<Json> { return ns; };
  const std::vector<std::string> meshes = c["meshes"].get<std::vector<std::string>>();
  o.injectorLookups.meshExists = [meshes](const std::string& mesh) -> absl::StatusOr<bool> {
    return std::find(meshes.begin(), meshes.end(), mesh) != meshes.end();
  };
  o.injectorLookups.servicesOf = [](const std::string&) -> absl::StatusOr<std::vector<Json>> {
    return std::vector<Json>();
  };
  const Json patches = c["containerPatches"];
  o.injectorLookups.containerPatch =
      [patches](const std::string& name) -> absl::StatusOr<std::optional<Json>> {
    for (const Json& p : patches) {
      if (p["metadata"]["name"] == name) {
        return std::optional<Json>(p["spec"]);
      }
    }
    return std::optional<Json>();
  };
  return o;
}

TEST(SidecarInjectorTest, AnswersAsKuma2143) {
  const std::vector<Json> cases = recordings();
  ASSERT_GE(cases.size(), 35u);
  for (const Json& c : cases) {
    SCOPED_TRACE(c["case"].get<std::string>() + ": " + c["notes"].get<std::string>());
    const AdmissionServerOptions options = optionsFor(c);
    const Json answer = injectionReview(c["review"], options);
    const Json& response = answer["response"];
    EXPECT_EQ(answer["kind"], "AdmissionReview");
    EXPECT_EQ(response["uid"], c["review"]["request"]["uid"]);
    ASSERT_EQ(response["allowed"], c["allowed"]) << response.dump();
    if (!c["allowed"].get<bool>()) {
      EXPECT_EQ(response["status"]["code"], c["status"]["code"]);
      EXPECT_EQ(response["status"]["message"], c["status"]["message"]);
      continue;
    }
    const Json& object = c["review"]["request"]["object"];
    if (!c.contains("mutated")) {
      EXPECT_FALSE(response.contains("patch")) << response.dump();
      continue;
    }
    ASSERT_EQ(response["patchType"], "JSONPatch");
    std::string decoded;
    ASSERT_TRUE(absl::Base64Unescape(response["patch"].get<std::string>(), &decoded));
    const Json ops = Json::parse(decoded);
    Json mutated;
    try {
      mutated = object.patch(ops);
    } catch (const std::exception& e) {
      FAIL() << "our patch does not apply: " << e.what() << "\n" << ops.dump(1);
    }
    EXPECT_TRUE(mutated == c["mutated"]) << "diff (ours → Kuma's):\n"
                                         << Json::diff(mutated, c["mutated"]).dump(1);
  }
}

TEST(SidecarInjectorTest, ConcurrencyFollowsKuma) {
  const Json none = Json::object();
  const auto concurrency = [](const Json& annotations, const std::string& limit) {
    absl::StatusOr<std::optional<int64_t>> c = sidecarConcurrency(annotations, limit);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() && c->has_value() ? **c : -1;
  };
  EXPECT_EQ(concurrency(none, "0"), -1);  // Kuma's default: no flag, kuma-dp decides
  EXPECT_EQ(concurrency(none, "500m"), 2);
  EXPECT_EQ(concurrency(none, "1"), 2);
  EXPECT_EQ(concurrency(none, "2500m"), 2);
  EXPECT_EQ(concurrency(none, "7000m"), 7);  // the seed's example
  EXPECT_EQ(concurrency(none, "16"), 16);    // Kuma 2.14 has no upper clamp
  EXPECT_EQ(concurrency(Json{{kSidecarConcurrencyAnnotation, "3"}}, "4"), 3);
  EXPECT_EQ(concurrency(Json{{kSidecarConcurrencyAnnotation, "64"}}, "0"), 64);
  EXPECT_EQ(concurrency(Json{{kSidecarConcurrencyAnnotation, "0"}}, "4"), 0);
  absl::StatusOr<std::optional<int64_t>> bad =
      sidecarConcurrency(Json{{kSidecarConcurrencyAnnotation, "-1"}}, "0");
  EXPECT_FALSE(bad.ok());
}

TEST(SidecarInjectorTest, Quantities) {
  EXPECT_EQ(*quantityMilliValue("0"), 0);
  EXPECT_EQ(*quantityMilliValue("500m"), 500);
  EXPECT_EQ(*quantityMilliValue("1.5"), 1500);
  EXPECT_EQ(*quantityMilliValue("2"), 2000);
  EXPECT_EQ(*quantityMilliValue("1k"), 1000000);
  EXPECT_EQ(*quantityMilliValue("64Mi"), 64LL * 1024 * 1024 * 1000);
  EXPECT_EQ(*quantityMilliValue("1e3"), 1000000);
  EXPECT_EQ(*quantityMilliValue("100u"), 1);  // rounded up, as MilliValue
  for (const char* bad : {"", "m", "1x", "abc", "1.2.3", "--1", "1e400", "1e"}) {
    EXPECT_FALSE(quantityMilliValue(bad).ok()) << bad;
  }
}

TEST(SidecarInjectorTest, HostileReviewsAreAnsweredNotCrashedOn) {
  AdmissionServerOptions o;
  o.getNamespace = [](const std::string& name) -> absl::StatusOr<Json> {
    return Json{
        {"metadata", Json{{"name", name}, {"labels", Json{{kSidecarInjectionLabel, "enabled"}}}}}};
  };
  o.injectorLookups.meshExists = [](const std::string&) -> absl::StatusOr<bool> { return true; };
  for (const Json& review :
       {Json::object(), Json{{"request", 1}}, Json{{"request", Json{{"object", "x"}}}},
        Json{{"request", Json{{"uid", "u"}, {"object", Json{{"spec", 1}}}}}},
        Json{{"request",
              Json{{"uid", "u"},
                   {"object", Json{{"metadata", Json{{"annotations", Json{{"a", 1}}}}},
                                   {"spec", Json{{"containers", Json::array({1, "x"})}}}}}}}},
        Json{{"request",
              Json{{"object",
                    Json{{"metadata",
                          Json{{"annotations", Json{{"kuma.io/sidecar-env-vars", "a"}}}}}}}}}}}) {
    const Json answer = injectionReview(review, o);
    EXPECT_TRUE(answer["response"].is_object()) << review.dump();
  }
}

}  // namespace
}  // namespace kuma::k8s::webhooks
