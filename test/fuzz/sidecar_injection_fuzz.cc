// Fuzz target: the sidecar-injection webhook (source/plugins/runtime/kubernetes/webhooks,
// docs/kubernetes.md "Sidecar injection"). The AdmissionReview is built by the API server, but
// the Pod in it is a user's: its labels, annotations (concurrency, env vars, probes, ports,
// container patches), containers and probes are hostile input.
//
// Input: an AdmissionReview as JSON (anything else becomes the value of the Pod's
// `kuma.io/sidecar-env-vars` annotation in an injected namespace).
// Oracles: the answer is always an AdmissionReview with a response; an allowed answer's patch
// is base64 JSON that applies to the Pod as sent, and an injected Pod then has exactly one
// kuma-sidecar container and the kuma.io/sidecar-injected annotation; a refusal carries 400 or
// 500 and a message.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "source/common/json_yaml.h"
#include "source/plugins/runtime/kubernetes/webhooks/admission_server.h"
#include "test/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kuma;                 // NOLINT
  using namespace kuma::k8s::webhooks;  // NOLINT
  const std::string text(fuzz::asText(data, size));
  Json review;
  if (auto parsed = common::parseJson(text); parsed.ok() && parsed->is_object()) {
    review = *parsed;
  } else {
    review = {
        {"request",
         {{"uid", "u"},
          {"namespace", "ns"},
          {"object",
           {{"metadata", {{"name", "p"}, {"annotations", {{"kuma.io/sidecar-env-vars", text}}}}},
            {"spec",
             {{"containers",
               Json::array(
                   {{{"name", "app"},
                     {"livenessProbe", {{"httpGet", {{"path", text}, {"port", 8080}}}}}}})}}}}}}}};
  }
  AdmissionServerOptions options;
  options.getNamespace = [](const std::string& name) -> absl::StatusOr<Json> {
    return Json{
        {"metadata", {{"name", name}, {"labels", {{"kuma.io/sidecar-injection", "enabled"}}}}}};
  };
  options.injectorLookups.meshExists = [](const std::string& mesh) -> absl::StatusOr<bool> {
    return mesh == "default";
  };
  options.injectorLookups.servicesOf = [](const std::string&) -> absl::StatusOr<std::vector<Json>> {
    return std::vector<Json>();
  };
  options.injectorLookups.containerPatch =
      [](const std::string& name) -> absl::StatusOr<std::optional<Json>> {
    if (name != "p1") {
      return std::optional<Json>();
    }
    return std::optional<Json>(
        Json{{"sidecarPatch", Json::array({{{"op", "add"}, {"path", "/x"}, {"value", "1"}}})}});
  };
  Json answer;
  try {
    answer = injectionReview(review, options);
  } catch (const std::exception&) {
    return 0;  // the server answers these 400 (a member of an unexpected JSON type)
  }
  FUZZ_CHECK(answer.is_object() && answer.contains("response"), "no response");
  const Json& response = answer["response"];
  FUZZ_CHECK(response.contains("allowed") && response["allowed"].is_boolean(), "no decision");
  if (!response["allowed"].get<bool>()) {
    const int code = response["status"]["code"].get<int>();
    FUZZ_CHECK(code == 400 || code == 500, "unexpected code");
    FUZZ_CHECK(!response["status"]["message"].get<std::string>().empty(), "no message");
    return 0;
  }
  if (!response.contains("patch")) {
    return 0;
  }
  std::string decoded;
  FUZZ_CHECK(absl::Base64Unescape(response["patch"].get<std::string>(), &decoded), "bad base64");
  const Json ops = Json::parse(decoded);
  Json pod;
  try {
    pod = review["request"]["object"].patch(ops);
  } catch (const std::exception&) {
    FUZZ_CHECK(false, "the patch does not apply");
  }
  int sidecars = 0;
  for (const char* list : {"containers", "initContainers"}) {
    for (const Json& c : common::jsonMember(common::jsonMember(pod, "spec"), list)) {
      sidecars += common::jsonString(c, "name") == "kuma-sidecar" ? 1 : 0;
    }
  }
  FUZZ_CHECK(sidecars == 1, "not exactly one sidecar");
  FUZZ_CHECK(
      common::jsonString(common::jsonMember(common::jsonMember(pod, "metadata"), "annotations"),
                         "kuma.io/sidecar-injected") == "true",
      "not marked injected");
  return 0;
}
