#include "source/plugins/policies/register.h"

#include <map>
#include <string>
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

const Schema* policySpecSchema(std::string_view typeName) {
  static const auto* const schemas = [] {
    auto* byName = new std::map<std::string, SchemaPtr, std::less<>>();
    for (const PolicyDefinition& def : allPolicyDefinitions()) {
      (*byName)[def.name] = def.schema;
    }
    return byName;
  }();
  auto it = schemas->find(typeName);
  return it == schemas->end() ? nullptr : it->second.get();
}

}  // namespace kuma::policies
