#pragma once

// File: kube_test_env.h
// One real etcd + kube-apiserver (test/test_common/kube_apiserver.h) per test binary, with the
// CRDs of the conformance suite's TestMesh/TestItem and of the given real types installed, and a
// KubeClient for its admin user.

#include <memory>
#include <vector>

#include "kuma/model/resource.h"
#include "source/plugins/resources/kubernetes/kube_client.h"
#include "source/plugins/resources/kubernetes/kubernetes_store.h"
#include "test/test_common/kube_apiserver.h"

namespace kuma::k8s::testing {

/** The shared API server (launched on first use; the test fails when it cannot start). */
test::KubeApiServer* apiServer();

/** A client for the shared API server, `qps` <= 0: unthrottled. */
std::shared_ptr<KubeClient> newClient(double qps = 0, int burst = 1);

/** A client for another API server (e.g. one started with other flags). */
std::shared_ptr<KubeClient> newClientFor(const test::KubeApiServer& server, double qps = 0,
                                         int burst = 1);

/** installCrds() through `client`. */
absl::Status installCrdsWith(KubeClient& client,
                             const std::vector<const model::ResourceTypeDescriptor*>& types);

/** Installs the CRD of each type (idempotent) and waits until each is Established. */
absl::Status installCrds(const std::vector<const model::ResourceTypeDescriptor*>& types);

/** Deletes every object of the types (collection DELETE). */
absl::Status wipe(KubeClient& client,
                  const std::vector<const model::ResourceTypeDescriptor*>& types);

/** A synced store over fresh, empty TestMesh/TestItem collections (the conformance factory). */
std::unique_ptr<KubernetesStore> makeCleanConformanceStore();

}  // namespace kuma::k8s::testing
