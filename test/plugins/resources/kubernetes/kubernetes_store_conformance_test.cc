#include "test/plugins/resources/kubernetes/kube_test_env.h"
#include "test/store_conformance/store_conformance.h"

INSTANTIATE_STORE_CONFORMANCE_BACKEND(
    Kubernetes,
    StoreBackend{"Kubernetes", [] { return kuma::k8s::testing::makeCleanConformanceStore(); },
                 /*namesUniquePerType=*/true, /*displayNameLabel=*/true})
