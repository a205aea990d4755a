#pragma once

// File: service_account_authenticator.h
// Kuma's `serviceAccountToken` authentication of data plane proxies on Kubernetes
// (pkg/xds/auth/k8s/authenticator.go): the proxy presents its Pod's projected service-account
// token; the API server's TokenReview must accept it, and its user must be
// system:serviceaccount:<the Pod's namespace>:<the Pod's service account> (`default` when the Pod
// names none). The Dataplane `<pod>.<namespace>` names the Pod.

#include <string>

#include "absl/status/status.h"
#include "source/plugins/resources/kubernetes/kube_client.h"

namespace kuma::k8s::runtime {

/** OK, or an error whose message is Kuma's reason (the caller adds "authentication failed"). */
absl::Status authenticateServiceAccountToken(KubeClient& client, const std::string& token,
                                             const std::string& dataplaneName);

}  // namespace kuma::k8s::runtime
