#pragma once

// File: meshservice.h
// The meshservice resource type (Kuma 2.14's pkg/core/resources/apis/meshservice): schema in Kuma's
// field order, defaults, validation and deprecations with Kuma's messages.

#include "source/plugins/policies/core/policy.h"

namespace kuma::services::meshservice {

policies::PolicyDefinition definition();

}  // namespace kuma::services::meshservice
