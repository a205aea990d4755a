#pragma once

// File: target_ref.h
// TargetRef / BackendRef (api/common/v1alpha1): their schemas, a typed view for xDS code and
// Kuma's ValidateTargetRef rules (which kinds a policy accepts where, and which fields go with
// which kind).

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "source/core/validators/validation_error.h"
#include "source/plugins/policies/core/schema.h"

namespace kuma::policies {

/** Every targetRef kind, in specificity order (spec §3.6). */
inline constexpr std::string_view kMesh = "Mesh";
inline constexpr std::string_view kDataplane = "Dataplane";
inline constexpr std::string_view kMeshSubset = "MeshSubset";
inline constexpr std::string_view kMeshGateway = "MeshGateway";
inline constexpr std::string_view kMeshService = "MeshService";
inline constexpr std::string_view kMeshExternalService = "MeshExternalService";
inline constexpr std::string_view kMeshMultiZoneService = "MeshMultiZoneService";
inline constexpr std::string_view kMeshServiceSubset = "MeshServiceSubset";
inline constexpr std::string_view kMeshHTTPRoute = "MeshHTTPRoute";

/** Specificity of a kind (Mesh 1 ... MeshHTTPRoute 9); 0 for an unknown kind. */
int targetRefKindOrder(std::string_view kind);

struct TargetRef {
  std::string kind;
  std::string name;
  std::map<std::string, std::string> tags;
  std::map<std::string, std::string> labels;
  std::vector<std::string> proxyTypes;
  std::string sectionName;
  std::string mesh;
  std::string ns;  // "namespace"
};

struct BackendRef {
  TargetRef targetRef;
  uint32_t weight = 1;
  std::optional<uint32_t> port;
};

/** Typed view of a normalized targetRef object; null/absent gives {kind: Mesh}. */
TargetRef parseTargetRef(const nlohmann::json& json);
/** Typed view of a normalized backendRef object (weight defaults to 1). */
BackendRef parseBackendRef(const nlohmann::json& json);

/** Schema of a TargetRef (`kind` required). */
SchemaPtr targetRefSchema();
/** Schema of a BackendRef (TargetRef + weight + port). */
SchemaPtr backendRefSchema();

struct TargetRefOpts {
  std::vector<std::string_view> supportedKinds;
  /** MeshGateway refs may carry listener tags (top-level refs of some policies). */
  bool gatewayListenerTagsAllowed = false;
  /** Dataplane `sectionName` is only meaningful for inbound policies. */
  bool isInboundPolicy = false;
  /** Names exempt from the name character check. */
  std::vector<std::string> allowedInvalidNames;
  /** Replaces "value '<kind>' is not supported" for an unsupported kind (Kuma's
   *  SupportedKindsError). */
  std::string supportedKindsError;
};

/**
 * Kuma's IncludesGateways: does a top-level targetRef reach gateways? MeshGateway and
 * MeshHTTPRoute do, and Mesh or MeshSubset without `proxyTypes` or listing Gateway.
 */
bool includesGateways(const TargetRef& ref);

/**
 * Kuma's ValidateTargetRef: violations with paths relative to the targetRef ("kind", "name",
 * "tags[\"k\"]"). `json` is the normalized targetRef object.
 */
validators::ValidationError validateTargetRef(const nlohmann::json& json,
                                              const TargetRefOpts& opts);

}  // namespace kuma::policies
