#include "source/plugins/runtime/kubernetes/service_account_authenticator.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "source/common/json_yaml.h"
#include "source/common/logging.h"

namespace kuma::k8s::runtime {
namespace {

using Json = nlohmann::json;

}  // namespace

absl::Status authenticateServiceAccountToken(KubeClient& client, const std::string& token,
                                             const std::string& dataplaneName) {
  auto log = logging::logger("kube-token-validator");
  // Kuma's util_k8s.CoreNameToK8sName: <name>.<namespace>, split at the last dot.
  const size_t dot = dataplaneName.rfind('.');
  if (dot == std::string::npos || dot == 0 || dot + 1 == dataplaneName.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name ", dataplaneName, " must include namespace after the dot, ex. name.namespace"));
  }
  const std::string pod = dataplaneName.substr(0, dot);
  const std::string ns = dataplaneName.substr(dot + 1);

  // The Pod's service account.
  absl::StatusOr<KubeResponse> podAnswer =
      client.request("GET", absl::StrCat("/api/v1/namespaces/", ns, "/pods/", pod));
  absl::StatusOr<Json> podObject = podAnswer.ok() && podAnswer->status == 200
                                       ? common::parseJson(podAnswer->body)
                                       : absl::StatusOr<Json>(absl::NotFoundError("no pod"));
  if (!podObject.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(
        "could not retrieve Pod ", ns, "/", pod, " to verify identity of a dataplane proxy: ",
        podAnswer.ok() ? absl::StrCat("HTTP ", podAnswer->status)
                       : std::string(podAnswer.status().message())));
  }
  std::string serviceAccount =
      common::jsonString(common::jsonMember(*podObject, "spec"), "serviceAccountName");
  if (serviceAccount.empty()) {
    serviceAccount = "default";
  }

  // The API server's TokenReview.
  const Json review = {{"apiVersion", "authentication.k8s.io/v1"},
                       {"kind", "TokenReview"},
                       {"spec", {{"token", token}}}};
  absl::StatusOr<KubeResponse> answer =
      client.request("POST", "/apis/authentication.k8s.io/v1/tokenreviews", review.dump());
  absl::StatusOr<Json> reviewed = answer.ok() && answer->status == 201
                                      ? common::parseJson(answer->body)
                                      : absl::StatusOr<Json>(absl::UnavailableError("no review"));
  if (!reviewed.ok()) {
    log->error("could not call Kubernetes API Server to verify dataplane token (proxy {}): {}",
               dataplaneName,
               answer.ok() ? absl::StrCat("HTTP ", answer->status, " ", answer->body.substr(0, 200))
                           : std::string(answer.status().message()));
    return absl::UnavailableError("could not call Kubernetes API Server to verify dataplane token");
  }
  const Json& status = common::jsonMember(*reviewed, "status");
  if (!(common::jsonMember(status, "authenticated").is_boolean() &&
        status["authenticated"].get<bool>())) {
    log->info("[WARNING] fail to verify dataplane token: {}", common::jsonString(status, "error"));
    return absl::UnauthenticatedError("dataplane token verification failed with an error");
  }
  const std::string username = common::jsonString(common::jsonMember(status, "user"), "username");
  const std::vector<std::string> user = absl::StrSplit(username, ':');
  const absl::Status invalid = absl::UnauthenticatedError("invalid service account token");
  if (user.size() != 4 || user[0] != "system" || user[1] != "serviceaccount") {
    log->info(
        "[WARNING] invalid service account token: user {} is not a service account (proxy {})",
        username, dataplaneName);
    return invalid;
  }
  if (user[2] != ns) {
    log->info(
        "[WARNING] invalid service account token: token namespace {} does not match proxy "
        "namespace {} (proxy {})",
        user[2], ns, dataplaneName);
    return invalid;
  }
  if (user[3] != serviceAccount) {
    log->info(
        "[WARNING] invalid service account token: service account {} in token does not match the "
        "pod's {} (proxy {})",
        user[3], serviceAccount, dataplaneName);
    return invalid;
  }
  return absl::OkStatus();
}

}  // namespace kuma::k8s::runtime
