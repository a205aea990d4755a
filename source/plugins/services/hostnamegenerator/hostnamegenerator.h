#pragma once

// File: hostnamegenerator.h
// The hostnamegenerator resource type (Kuma 2.14's pkg/core/resources/apis/hostnamegenerator):
// schema in Kuma's field order, defaults, validation and deprecations with Kuma's messages.

#include "source/plugins/policies/core/policy.h"

namespace kuma::services::hostnamegenerator {

policies::PolicyDefinition definition();

}  // namespace kuma::services::hostnamegenerator
