#pragma once

// File: hostname_generator.h
// Kuma's hostname generator (pkg/core/resources/apis/hostnamegenerator/hostname): every
// allocation interval, each HostnameGenerator's template is rendered for the
// MeshExternalServices, MeshServices and MeshMultiZoneServices its selector matches. The
// hostnames go to each service's `status.addresses` (origin HostnameGenerator) and the outcome
// per generator to `status.hostnameGenerators` (condition `Generated`: True, or False with
// TemplateError or a Collision with an earlier service of the mesh). Generators are taken zone
// origin first, then by creation time and name; services by creation time and name.
//
//   HostnameGenerator generator(manager, registry, "zone-1");
//   generator.generate();   // one pass

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "source/core/manager/resource_manager.h"
#include "source/core/model/registry.h"

namespace kuma::services {

/** The `selector` key of a HostnameGenerator for a service type ("meshService", ...). */
std::string generatorSelectorKey(std::string_view serviceType);

/**
 * Kuma's EvaluateTemplate: renders the generator `templateText` for `service` (fields Name,
 * DisplayName, Namespace, Mesh, Zone; `label`). With `validateDns` the result must be a DNS-1123
 * subdomain. Errors carry Kuma's message.
 */
absl::StatusOr<std::string> evaluateHostnameTemplate(const std::string& localZone,
                                                     const std::string& templateText,
                                                     const model::Resource& service,
                                                     bool validateDns);

/**
 * The hostname `generator` gives `service`: empty when the generator has no selector for the
 * service's type or it does not match; an error when the template fails.
 */
absl::StatusOr<std::string> generatedHostname(const std::string& localZone,
                                              const model::Resource& generator,
                                              const model::Resource& service, bool validateDns);

/**
 * Kuma's inspect view of a service's hostnames (`_hostnames`): what every HostnameGenerator gives
 * it, without the DNS check, in no particular order.
 */
absl::StatusOr<std::vector<std::string>> inspectHostnames(manager::ResourceManager& manager,
                                                          const model::TypeRegistry& registry,
                                                          const std::string& localZone,
                                                          const model::Resource& service);

class HostnameGenerator {
 public:
  HostnameGenerator(manager::ResourceManager& manager, const model::TypeRegistry& registry,
                    std::string zone);

  /** One pass over every service type. */
  void generate();

 private:
  void generateFor(const model::ResourceTypeDescriptor& type,
                   const std::vector<model::ResourceConstSharedPtr>& generators);

  manager::ResourceManager& manager_;
  const model::TypeRegistry& registry_;
  const std::string zone_;
};

}  // namespace kuma::services
