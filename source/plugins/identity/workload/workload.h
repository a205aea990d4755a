#pragma once

// File: workload.h
// The Workload resource type (Kuma 2.14's pkg/core/resources/apis/workload): an empty spec, a
// `status.dataplaneProxies` the status updater fills, the name-length check.

#include "source/plugins/policies/core/policy.h"

namespace kuma::identity::workload {

policies::PolicyDefinition definition();

}  // namespace kuma::identity::workload
