#pragma once

// File: meshzoneaddress.h
// The meshzoneaddress resource type (Kuma 2.14's pkg/core/resources/apis/meshzoneaddress): schema
// in Kuma's field order, defaults, validation and deprecations with Kuma's messages.

#include "source/plugins/policies/core/policy.h"

namespace kuma::services::meshzoneaddress {

policies::PolicyDefinition definition();

}  // namespace kuma::services::meshzoneaddress
