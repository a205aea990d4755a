#pragma once

// File: meshmultizoneservice.h
// The meshmultizoneservice resource type (Kuma 2.14's
// pkg/core/resources/apis/meshmultizoneservice): schema in Kuma's field order, defaults, validation
// and deprecations with Kuma's messages.

#include "source/plugins/policies/core/policy.h"

namespace kuma::services::meshmultizoneservice {

policies::PolicyDefinition definition();

}  // namespace kuma::services::meshmultizoneservice
