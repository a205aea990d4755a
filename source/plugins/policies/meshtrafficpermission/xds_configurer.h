#pragma once

// File: xds_configurer.h
// MeshTrafficPermission's xDS plugin (Kuma's meshtrafficpermission plugin, order 1100): the RBAC
// of every inbound's mTLS filter chain, from the mesh's MeshTrafficPermissions and legacy
// TrafficPermissions (xds/rbac.h). The parsed permissions are derived once per mesh context
// (MeshContext::memo) and shared by every proxy of it.

#include <memory>

#include "kuma/xds/policy_plugin.h"
#include "source/plugins/policies/meshtrafficpermission/xds/rbac.h"

namespace kuma::policies::meshtrafficpermission {

/**
 * The mesh's MeshTrafficPermissions and legacy TrafficPermissions, parsed and ordered once per
 * context (MeshContext::memo) and shared by every proxy of it.
 */
std::shared_ptr<const mtp::MeshPermissions> permissionsOf(const xds::MeshContext& context);

class XdsConfigurer : public xds::PolicyPlugin {
 public:
  // kuma::xds::PolicyPlugin
  std::string_view policyType() const override;
  int order() const override;
  absl::Status apply(const xds::ProxyContext& proxy,
                     const std::vector<const nlohmann::json*>& specs,
                     xds::ResourceSet& resources) const override;
  /** Kuma's MatchedPolicies of this legacy type (inspect API). */
  void attachments(const xds::ProxyContext& proxy,
                   std::vector<xds::PolicyAttachment>& out) const override;
};

}  // namespace kuma::policies::meshtrafficpermission
