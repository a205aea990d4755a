#pragma once

// File: crds.h
// Kuma's Kubernetes CustomResourceDefinitions generated from kuma-cpp's own type registry and
// policy schemas (`kuma-cp install crds`, docs/kubernetes.md): group kuma.io, version v1alpha1,
// one CRD (apiextensions.k8s.io/v1) per registered type that Kuma 2.14 keeps as a custom
// resource, with Kuma's names, scope, short names, category and printer columns.
//
//   auto crds = kuma::k8s::generateCrds(kuma::server::allTypes());
//   std::cout << kuma::k8s::crdsYaml(crds);

#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "source/core/model/registry.h"

namespace kuma::k8s {

inline constexpr std::string_view kCrdGroup = "kuma.io";
inline constexpr std::string_view kCrdVersion = "v1alpha1";

/**
 * Whether Kuma 2.14 has a CRD for the type. Secret and GlobalSecret are Kubernetes Secrets and
 * the system Config a ConfigMap there, so they have none.
 */
bool hasCrd(const model::ResourceTypeDescriptor& type);

/** Kubernetes scope of the type's custom resources: "Namespaced" or "Cluster" (as Kuma). */
std::string_view crdScope(const model::ResourceTypeDescriptor& type);

/** Whether a protobuf-based type's custom resource holds its message as `status` (Kuma's
 * DataplaneInsight) instead of `spec`. */
bool crdMessageInStatus(const model::ResourceTypeDescriptor& type);

/** The plural resource name (Kuma: the REST path without dashes, "trafficpermissions"). */
std::string crdPlural(const model::ResourceTypeDescriptor& type);

/**
 * The CRD of one type. The `spec` schema is the policy schema (policies::policySpecSchema) when
 * the type has one, else the spec is kept whole (x-kubernetes-preserve-unknown-fields).
 */
nlohmann::ordered_json crdFor(const model::ResourceTypeDescriptor& type);

/** The CRDs of every type with hasCrd(), ordered by plural name (Kuma's file order). */
std::vector<nlohmann::ordered_json> generateCrds(const model::TypeRegistry& registry);

/** Multi-document YAML, each CRD introduced by `---`. */
std::string crdsYaml(const std::vector<nlohmann::ordered_json>& crds);

}  // namespace kuma::k8s
