#pragma once

// File: common.h
// Schema pieces the service types share (Kuma's hostnamegenerator and common_api types):
// label selectors, ports, the status blocks a hostname generator and VIP allocator fill, and
// the SNI checks Kuma's `sni.ValidateKRI` makes on MeshService-like destinations.

#include <string>
#include <string_view>
#include <vector>

#include "kuma/model/resource.h"
#include "source/core/validators/validation_error.h"
#include "source/plugins/policies/core/schema.h"

namespace kuma::services {

using policies::SchemaPtr;

/** common_api.LabelSelector: `{matchLabels: {k: v}}`. */
SchemaPtr labelSelectorSchema();
/** hostnamegenerator_api.Address: `{hostname, origin, hostnameGeneratorRef: {coreName}}`. */
SchemaPtr addressSchema();
/** hostnamegenerator_api.HostnameGeneratorStatus: `{hostnameGeneratorRef, conditions}`. */
SchemaPtr hostnameGeneratorStatusSchema();
/** common_api.Condition: `{type, status, reason, message}`. */
SchemaPtr conditionSchema();
/** `{ip}` (meshservice_api.VIP). */
SchemaPtr vipSchema();
/** An extension block: `{type, config}` with `type` required. */
SchemaPtr extensionSchema();

/**
 * Kuma's deprecation warnings for a destination resource's name and SNIs: a name that is not a
 * DNS-1035 label, and for each port (`sectionNames`, Kuma's Port.GetName()) an SNI that
 * `sni.ValidateKRI` refuses (mesh, name, zone and the section must be RFC 1123 labels and the
 * SNI at most 253 characters).
 */
std::vector<std::string> destinationDeprecations(const model::Resource& resource,
                                                 std::string_view typeName,
                                                 std::string_view shortName,
                                                 const std::vector<std::string>& sectionNames);

/** Kuma's ValidateLength on a destination's name: at most 63 characters (a DNS label). */
void validateNameLength(const model::Resource& resource, validators::ValidationError& errors);

/** Kuma's Port.GetName() of each `spec.ports` item: its name, or its port number. */
std::vector<std::string> portSectionNames(const model::Resource& resource);

}  // namespace kuma::services
