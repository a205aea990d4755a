#pragma once

// File: meshexternalservice.h
// The meshexternalservice resource type (Kuma 2.14's pkg/core/resources/apis/meshexternalservice):
// schema in Kuma's field order, defaults, validation and deprecations with Kuma's messages.

#include "source/plugins/policies/core/policy.h"

namespace kuma::services::meshexternalservice {

policies::PolicyDefinition definition();

}  // namespace kuma::services::meshexternalservice
