#pragma once

// File: register.h
// The service-discovery resource types of Kuma 2.14 (MeshService, MeshExternalService,
// MeshMultiZoneService, HostnameGenerator, MeshZoneAddress): one folder each, registered here.

#include "source/core/model/registry.h"

namespace kuma::services {

void registerServiceTypes(model::TypeRegistry& registry);

}  // namespace kuma::services
