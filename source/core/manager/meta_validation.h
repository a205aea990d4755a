#pragma once

// File: meta_validation.h
// Kuma's rules for resource meta: names, mesh names, label keys and values. Messages match
// Kuma 2.14 (and the Kubernetes apimachinery messages Kuma reuses for labels), because kumactl
// and the GUI show them verbatim.
//
//   validators::ValidationError errors;
//   validateName(resource.meta.name, NameRule::Strict, errors);   // field "name"
//   validateLabels(resource.meta.labels, errors);                  // fields labels["key"]

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "source/core/validators/validation_error.h"

namespace kuma::manager {

enum class NameRule {
  /** New resources: lowercase RFC 1123 subdomain. */
  Strict,
  /** Existing resources created before Kuma 2.5 may also contain '_'. */
  BackwardCompatible,
};

/** Violations of the `name` field: empty, longer than 253, bad characters. */
void validateName(std::string_view name, NameRule rule, validators::ValidationError& errors);

/** Violations of the `mesh` field of a mesh-scoped resource (empty, bad characters). */
void validateMeshField(std::string_view mesh, validators::ValidationError& errors);

/** Kubernetes IsDNS1123Label messages (empty when valid). */
std::vector<std::string> dns1123LabelErrors(std::string_view value);
/** Kubernetes IsDNS1035Label messages (empty when valid). */
std::vector<std::string> dns1035LabelErrors(std::string_view value);
/** Kubernetes IsDNS1123Subdomain messages (empty when valid). */
std::vector<std::string> dns1123SubdomainErrors(std::string_view value);
/** Kubernetes IsQualifiedName messages for a label key (empty when valid). */
std::vector<std::string> qualifiedNameErrors(std::string_view key);
/** Kubernetes IsValidLabelValue messages (empty when valid). */
std::vector<std::string> labelValueErrors(std::string_view value);

/** Label key/value format violations, at `labels["<key>"]`, in key order. */
void validateLabels(const std::map<std::string, std::string>& labels,
                    validators::ValidationError& errors);

}  // namespace kuma::manager
