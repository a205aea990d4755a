#pragma once

// File: register.h
// The service-discovery resource types of Kuma 2.14 (MeshService, MeshExternalService,
// MeshMultiZoneService, HostnameGenerator, MeshZoneAddress): one folder each, registered here.

#include <string_view>

#include "source/core/model/registry.h"
#include "source/plugins/policies/core/policy.h"

namespace kuma::services {

void registerServiceTypes(model::TypeRegistry& registry);

/** The definition (schemas included) of a service type, or nullptr for other types. */
const policies::PolicyDefinition* serviceDefinition(std::string_view typeName);

}  // namespace kuma::services
