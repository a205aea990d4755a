#include "source/plugins/identity/register.h"

#include <vector>

#include "source/plugins/identity/meshidentity/meshidentity.h"
#include "source/plugins/identity/meshtrust/meshtrust.h"
#include "source/plugins/identity/workload/workload.h"

namespace kuma::identity {
namespace {

const std::vector<policies::PolicyDefinition>& definitions() {
  static const auto* const all = new std::vector<policies::PolicyDefinition>{
      meshidentity::definition(), meshtrust::definition(), workload::definition()};
  return *all;
}

}  // namespace

void registerIdentityTypes(model::TypeRegistry& registry) {
  for (const policies::PolicyDefinition& def : definitions()) {
    registry.add(policies::makeDescriptor(def));
  }
}

const policies::PolicyDefinition* identityDefinition(std::string_view typeName) {
  for (const policies::PolicyDefinition& def : definitions()) {
    if (def.name == typeName) {
      return &def;
    }
  }
  return nullptr;
}

}  // namespace kuma::identity
