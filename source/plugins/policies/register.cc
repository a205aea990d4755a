#include "source/plugins/policies/register.h"

#include <vector>

#include "source/plugins/policies/core/policy.h"
// allPolicyDefinitions(), generated from the policy list of this folder's CMakeLists.txt.
#include "policy_definitions.inc"

namespace kuma::policies {

void registerPolicies(model::TypeRegistry& registry) {
  for (const PolicyDefinition& def : allPolicyDefinitions()) {
    registry.add(makeDescriptor(def));
  }
}

}  // namespace kuma::policies
