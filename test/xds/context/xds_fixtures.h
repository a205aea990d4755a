#pragma once

// File: xds_fixtures.h
// Test helpers for xDS generation: resources parsed from REST YAML through the real type
// registry (so tests exercise the same specs the store holds) and the default policies of a mesh.

#include <algorithm>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "source/common/json_yaml.h"
#include "source/core/defaults/defaults.h"
#include "source/core/model/registry.h"
#include "source/core/model/rest_codec.h"
#include "source/core/resources/mesh_types.h"
#include "source/plugins/policies/register.h"
#include "source/plugins/policies/xds_plugins.h"
#include "source/xds/context/mesh_context.h"

namespace kuma::xds::testing {

/** The registered policy plugin table (what the control plane runs); link kuma::policies_xds. */
inline PolicyPluginListConstSharedPtr policyPlugins() {
  static const PolicyPluginListConstSharedPtr plugins = policies::makeXdsPolicyPlugins();
  return plugins;
}

/** `options` with the registered policy plugins (ProxyOptions::plugins). */
template <class Options>
Options withPlugins(Options options) {
  options.plugins = policyPlugins();
  return options;
}

inline const model::TypeRegistry& registry() {
  static const model::TypeRegistry* r = [] {
    auto* reg = new model::TypeRegistry();
    resources::registerMeshTypes(*reg);
    policies::registerPolicies(*reg);
    return reg;
  }();
  return *r;
}

/** Parses one REST YAML object (its `type` picks the descriptor); fails the test on error. */
inline model::ResourceConstSharedPtr parse(const std::string& yaml) {
  auto json = common::parseYaml(yaml);
  EXPECT_TRUE(json.ok()) << json.status();
  if (!json.ok()) {
    return nullptr;
  }
  const model::ResourceTypeDescriptor* d = registry().byName((*json).value("type", std::string()));
  EXPECT_NE(d, nullptr) << yaml;
  if (d == nullptr) {
    return nullptr;
  }
  auto body = model::fromRestJson(*d, *json);
  EXPECT_TRUE(body.ok()) << body.status() << "\n" << yaml;
  if (!body.ok()) {
    return nullptr;
  }
  return std::make_shared<const model::Resource>(body->resource);
}

inline std::string meshYaml(const std::string& name = "default") {
  return "type: Mesh\nname: " + name + "\n";
}

/** The product's default policies of a new mesh (defaults::defaultPolicies), as YAML (JSON). */
inline std::vector<std::string> defaultPolicyYamls(const std::string& mesh = "default") {
  std::vector<std::string> out;
  for (const nlohmann::json& policy : defaults::defaultPolicies(mesh)) {
    out.push_back(policy.dump());
  }
  return out;
}

/**
 * MeshResources of `mesh` from YAML objects (Mesh, Dataplane, ExternalService, VirtualOutbound,
 * Secret,
 * TrafficPermission, TrafficRoute, Timeout, Mesh* policy).
 */
inline MeshResources meshResources(const std::vector<std::string>& yamls,
                                   const std::string& mesh = "default") {
  MeshResources out;
  out.mesh = parse(meshYaml(mesh));
  for (const auto& yaml : yamls) {
    auto r = parse(yaml);
    if (r == nullptr) {
      continue;
    }
    const std::string& type = r->descriptor->name;
    if (type == resources::kDataplaneType) {
      out.dataplanes.push_back(r);
    } else if (type == resources::kExternalServiceType) {
      out.externalServices.push_back(r);
    } else if (type == resources::kVirtualOutboundType) {
      out.virtualOutbounds.push_back(r);
    } else if (type == resources::kSecretType) {
      out.secrets.push_back(r);
    } else if (type == resources::kTrafficPermissionType) {
      out.trafficPermissions.push_back(r);
    } else if (type == resources::kTrafficRouteType) {
      out.trafficRoutes.push_back(r);
    } else if (type == resources::kTimeoutType) {
      out.timeouts.push_back(r);
    } else if (std::find(std::begin(kLegacyPolicyTypes), std::end(kLegacyPolicyTypes), type) !=
               std::end(kLegacyPolicyTypes)) {
      out.legacy[type].push_back(r);
    } else if (type == resources::kMeshType) {
      out.mesh = r;
    } else {
      out.policies[type].push_back(r);
    }
  }
  return out;
}

/** A Dataplane YAML with one inbound per (address, port, tags-yaml) and extra networking YAML. */
inline std::string dataplaneYaml(const std::string& name, const std::string& address,
                                 const std::string& networkingExtra,
                                 const std::string& mesh = "default") {
  return "type: Dataplane\nmesh: " + mesh + "\nname: " + name +
         "\nnetworking:\n  address: " + address + "\n" + networkingExtra;
}

}  // namespace kuma::xds::testing
