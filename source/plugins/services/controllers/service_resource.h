#pragma once

// File: service_resource.h
// What the service-discovery controllers (MeshService generator, VIP allocator, hostname
// generator, MeshService status updater) share: reading a service resource's spec and status,
// writing a new one through the type's own parser, and Kuma's small matching rules.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/mesh/v1alpha1/dataplane_insight.pb.h"
#include "google/protobuf/map.h"
#include "kuma/model/resource.h"
#include "nlohmann/json.hpp"
#include "source/core/manager/resource_manager.h"

namespace kuma::services {

/** Kuma's labels on what its controllers derive (mesh_proto constants; the computed labels'
 * names are in source/core/manager/resource_manager.h). */
inline constexpr std::string_view kManagedByLabel = "kuma.io/managed-by";
inline constexpr std::string_view kNamespaceLabel = "k8s.kuma.io/namespace";

/** The spec and status of a resource whose type has a status (a copy, keys sorted). */
struct SpecAndStatus {
  nlohmann::json spec = nlohmann::json::object();
  nlohmann::json status = nlohmann::json::object();
};

/** The spec and status of `resource`; empty objects when its spec is not schema-typed. */
SpecAndStatus specAndStatusOf(const model::Resource& resource);

/**
 * A copy of `resource` (meta, version and labels kept) whose spec and status are `spec` and
 * `status`, normalized by the type's parser (defaults and Kuma's field order).
 */
absl::StatusOr<model::Resource> withSpecAndStatus(const model::Resource& resource,
                                                  const nlohmann::json& spec,
                                                  const nlohmann::json& status);

/**
 * Writes `spec` and `status` over `resource` (its version: a concurrent change is a conflict)
 * through the manager's controller path, and logs the outcome as Kuma's controllers do: a
 * conflict at info level (the next interval tries again), other errors at error level.
 * `what` names the change in the log ("status", "allocated VIP"). @return the write's status.
 */
absl::Status writeSpecAndStatus(manager::ResourceManager& manager, const model::Resource& resource,
                                const nlohmann::json& spec, const nlohmann::json& status,
                                std::string_view component, std::string_view what);

/** `items` ordered by creation time, then name (Kuma's order of Dataplanes and services). */
std::vector<model::ResourceConstSharedPtr> byCreationTime(
    std::vector<model::ResourceConstSharedPtr> items);

/** Kuma's IsLocal...(): no `kuma.io/origin` label, or `zone` (not synced from elsewhere). */
bool isLocalResource(const model::Resource& resource);

/** Kuma's DataplaneInsight.IsOnline(): a subscription connected and not disconnected. */
bool dataplaneInsightOnline(const mesh::v1alpha1::DataplaneInsight& insight);

/** common_api.LabelSelector.Matches: every `matchLabels` entry present with that value. */
bool labelSelectorMatches(const nlohmann::json& selector,
                          const std::map<std::string, std::string>& labels);

/** Kuma's TagSelector.Matches: every selector tag present with that value (or `*`). */
bool tagSelectorMatches(const nlohmann::json& selector,
                        const google::protobuf::Map<std::string, std::string>& tags);

}  // namespace kuma::services
